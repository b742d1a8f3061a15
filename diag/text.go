package diag

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode"
)

// WriteText writes e as a few labelled lines for people; scripts should
// marshal e as JSON instead.
func (e Explanation) WriteText(w io.Writer) error {
	var b strings.Builder
	b.WriteString(e.Input + "\n")
	if e.Host != "" {
		addrs := make([]string, len(e.Addrs))
		for i, a := range e.Addrs {
			addrs[i] = a.Addr.String()
		}
		line(&b, "name", fmt.Sprintf("%s resolves to %s", e.Host, strings.Join(addrs, ", ")))
	}
	for _, a := range e.Addrs {
		line(&b, "address", a.Summary)
		if a.IPv4 != nil {
			line(&b, "", a.IPv4.Summary)
		}
		if a.RouteLocalnetNote != "" {
			line(&b, noteLabel(a), a.RouteLocalnetNote)
		}
	}
	if p := e.Port; p != nil {
		line(&b, "port", p.Summary)
		line(&b, "ephemeral", p.EphemeralNote)
		if p.Port != 0 {
			line(&b, "service", servicesText(p))
		}
	}
	if e.Now != nil && e.Port != nil {
		nowText(&b, e.Now, e.Addrs, e.Port.Port)
		if e.Now.TimeWait {
			line(&b, "time-wait", e.Now.Note)
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// noteLabel is "warning" for an address the network can reach against
// its class, "note" for anything else said of it.
func noteLabel(a AddrInfo) string {
	if a.RouteLocalnet != nil && *a.RouteLocalnet {
		return "warning"
	}
	return "note"
}

// line writes one "  label    text" line; an empty label continues the
// previous one.
func line(b *strings.Builder, label, text string) {
	fmt.Fprintf(b, "  %-10s %s\n", label, text)
}

// servicesText is "http/tcp, http/udp (www)" or says there is none.
func servicesText(p *PortInfo) string {
	if !p.ServicesFile {
		return "no /" + pathServices + " on this machine to look it up in"
	}
	if len(p.Services) == 0 {
		return "none registered in /" + pathServices
	}
	names := make([]string, len(p.Services))
	for i, s := range p.Services {
		names[i] = s.Name + "/" + s.Proto
		if len(s.Aliases) > 0 {
			names[i] += " (" + strings.Join(s.Aliases, " ") + ")"
		}
	}
	return strings.Join(names, ", ")
}

// nowText writes what holds the port, then which of the explained
// addresses nothing answers on: the "localhost works with curl but not
// with my client" puzzle is usually a server on 127.0.0.1 and a client
// trying ::1.
func nowText(b *strings.Builder, now *Activity, addrs []AddrInfo, port uint16) {
	label := "now"
	switch {
	case now.Error != "":
		line(b, label, "can't tell who uses it: "+now.Error)
		return
	case len(now.Listening) == 0:
		line(b, label, fmt.Sprintf("nothing is listening on port %d", port))
		label = ""
	}
	for _, s := range now.Listening {
		line(b, label, describe(s))
		label = ""
	}
	switch n := len(now.Connections); {
	case n == 1:
		line(b, label, "also the local end of a connection: "+describe(now.Connections[0]))
	case n > 1:
		line(b, label, fmt.Sprintf("also the local end of %d connections, such as %s",
			n, describe(example(now.Connections))))
	}
	switch n := len(now.Clients); {
	case n == 1:
		line(b, label, "and the remote end of a connection: "+describe(now.Clients[0]))
	case n > 1:
		line(b, label, fmt.Sprintf("and the remote end of %d connections, such as %s",
			n, describe(example(now.Clients))))
	}
	if len(now.Listening) == 0 {
		return
	}
	for _, a := range addrs {
		if a.Reachable != nil && !*a.Reachable {
			line(b, label, fmt.Sprintf("nothing listens on %s, so traffic to it on port %d is refused",
				a.Addr, port))
		}
	}
}

// example picks the connection to show for many: a live one rather than
// one in TIME_WAIT, which has no process to name.
func example(socks []Socket) Socket {
	for _, s := range socks {
		if !s.TimeWait() {
			return s
		}
	}
	return socks[0]
}

// describe is one line about a socket: "tcp 127.0.0.1:7007 listening: pid
// 1234 (socat), user root".
func describe(s Socket) string {
	where := fmt.Sprintf("%s %s", s.Proto, s.Local)
	if s.Remote.Port() != 0 {
		where += " -> " + s.Remote.String()
	}
	who := s.Note
	if s.PID != 0 {
		who = fmt.Sprintf("pid %d (%s), user %s", s.PID, printable(s.Process), userText(s))
		if s.Note != "" {
			who += "; " + s.Note
		}
	}
	state := s.State
	if s.Side != "" {
		state += ", " + s.Side + " side"
	}
	return fmt.Sprintf("%s %s: %s", where, state, who)
}

func userText(s Socket) string {
	if s.User != "" {
		return s.User
	}
	return strconv.FormatUint(uint64(s.UID), 10)
}

// printable replaces control characters, which would break the table's
// alignment or the terminal, with spaces: arguments may hold anything.
func printable(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, s)
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
