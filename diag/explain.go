package diag

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"
)

// Explanation is what Explain found about an address, port or host name.
// It is plain data; its MarshalJSON writes `loopback explain --json`.
type Explanation struct {
	// Input is the argument as given.
	Input string
	// Host is the host name when the input named one rather than an
	// address; Addrs then holds what it resolved to.
	Host  string
	Addrs []AddrInfo
	// Port is nil when the input had no port.
	Port *PortInfo
	// Now is what holds the port on this machine right now; nil when the
	// input had no port, or port 0.
	Now *Activity
}

// AddrInfo explains one address.
type AddrInfo struct {
	Addr netip.Addr
	// Class is one of the Class constants, and Summary the sentence that
	// explains it (JSON "note").
	Class   string
	Summary string
	// IPv4 explains the embedded address of an IPv4-mapped one.
	IPv4 *AddrInfo
	// Reachable reports whether a socket listening on the port accepts
	// traffic sent to this address; nil when that wasn't checked.
	Reachable *bool
	// RouteLocalnet reports, for an address in 127.0.0.0/8, whether
	// net.ipv4.conf.*.route_localnet lets the network reach it, and
	// RouteLocalnetOn on which interfaces (see RouteLocalnet); nil for
	// other addresses, or when the setting couldn't be read.
	RouteLocalnet   *bool
	RouteLocalnetOn []string
	// RouteLocalnetNote is what this machine changes about the address,
	// as a sentence: that route_localnet exposes it, or why that couldn't
	// be checked.
	RouteLocalnetNote string
}

// Activity is what uses a port on this machine right now.
type Activity struct {
	// Listening holds the TCP listeners and bound UDP sockets on the port,
	// on any address.
	Listening []Socket
	// Connections holds the other sockets whose local port it is, such as
	// accepted or outgoing connections.
	Connections []Socket
	// Clients holds the connections whose remote port it is: the clients
	// of a server on the port, or the server end of a connection from it.
	Clients []Socket
	// TimeWait reports whether any of those connections is in TIME_WAIT,
	// and Note then says what that is.
	TimeWait bool
	Note     string
	// Error says why this couldn't be checked (for example on macOS); the
	// rest of the explanation stands without it.
	Error       string
	unsupported bool // Error is errors.ErrUnsupported's
}

// Explain says what input means on this machine. input is "ADDR",
// "ADDR:PORT", "[V6]:PORT", ":PORT", "PORT", "HOST" or "HOST:PORT"; a port
// may also be a name from /etc/services. Host names are resolved with
// sys.LookupIP and each address is explained. Parsing and classification are
// pure; the port facts, service names, listeners and route_localnet (for
// 127.0.0.0/8) come from sys.
func Explain(ctx context.Context, input string, sys System) (Explanation, error) {
	t, err := parseTarget(input)
	if err != nil {
		return Explanation{}, err
	}
	e := Explanation{Input: input, Host: t.host}
	addrs, err := resolve(ctx, t, sys)
	if err != nil {
		return Explanation{}, err
	}
	for _, a := range addrs {
		e.Addrs = append(e.Addrs, classifyAddr(a))
	}
	markRouteLocalnet(e.Addrs, sys)
	if !t.hasPort {
		return e, nil
	}
	svcData, found, err := readServices(sys)
	if err != nil {
		return Explanation{}, fmt.Errorf("read /%s: %w", pathServices, err)
	}
	port, err := t.portNumber(svcData)
	if err != nil {
		return Explanation{}, err
	}
	p := classifyPort(port, machinePortFacts(sys))
	// An empty list rather than null keeps --json simple for scripts.
	p.Services, p.ServicesFile = append([]Service{}, servicesFor(svcData, port)...), found
	e.Port = &p
	if port != 0 {
		e.Now = activity(port, sys)
		markReachable(e.Addrs, e.Now)
	}
	return e, nil
}

// resolve returns the address the input named, or what its host name
// resolves to, deduplicated in resolver order.
func resolve(ctx context.Context, t target, sys System) ([]netip.Addr, error) {
	if t.addr.IsValid() {
		return []netip.Addr{t.addr}, nil
	}
	if t.host == "" {
		return nil, nil
	}
	addrs, err := sys.lookupIP(ctx, t.host)
	if err != nil {
		return nil, fmt.Errorf("resolve %s: %w", t.host, err)
	}
	var out []netip.Addr
	for _, a := range addrs {
		if a.IsValid() && !slices.Contains(out, a) {
			out = append(out, a)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("resolve %s: no addresses", t.host)
	}
	return out, nil
}

// activity looks the port up with Who and splits listeners from the
// connections that merely use it as their local port.
func activity(port uint16, sys System) *Activity {
	socks, err := Who(port, sys)
	if err != nil {
		return &Activity{Error: err.Error(), unsupported: errors.Is(err, errors.ErrUnsupported)}
	}
	a := &Activity{Listening: []Socket{}}
	for _, s := range socks {
		switch {
		case s.Listening():
			a.Listening = append(a.Listening, s)
		case s.Local.Port() == port:
			a.Connections = append(a.Connections, s)
		default:
			a.Clients = append(a.Clients, s)
		}
		a.TimeWait = a.TimeWait || s.TimeWait()
	}
	if a.TimeWait {
		a.Note = timeWaitText(socks)
	}
	return a
}

// timeWaitText explains the TIME_WAIT connections among socks, which use
// the port although no process holds them.
func timeWaitText(socks []Socket) string {
	n, sides := 0, map[string]int{}
	for _, s := range socks {
		if s.TimeWait() {
			n++
			sides[s.Side]++
		}
	}
	var by []string
	for _, side := range []string{SideClient, SideServer, ""} {
		switch c := sides[side]; {
		case c == 0:
		case side == "":
			by = append(by, fmt.Sprintf("%d whose side can't be told", c))
		default:
			by = append(by, fmt.Sprintf("%d %s side", c, side))
		}
	}
	held, them := fmt.Sprintf("%d connections using this port are", n), "them"
	if n == 1 {
		held, them = "a connection using this port is", "it"
	}
	return fmt.Sprintf("%s in TIME_WAIT (%s). The end that closes a TCP connection first keeps it "+
		"in TIME_WAIT for 60 s, holding its pair of addresses and ports so that late packets of the "+
		"old connection can't be taken for a new one's. No process owns %s; a server restarting on "+
		"the port can still bind it if it and the old one set SO_REUSEADDR, as Go and most servers do",
		held, strings.Join(by, ", "), them)
}

// markReachable records, for each unicast address, whether one of the
// listeners accepts traffic sent to it.
func markReachable(addrs []AddrInfo, now *Activity) {
	if now.Error != "" {
		return
	}
	for i := range addrs {
		a := addrs[i].Addr.Unmap()
		if a.IsUnspecified() || a.IsMulticast() {
			continue
		}
		ok := slices.ContainsFunc(now.Listening, func(s Socket) bool {
			return covers(s.Local.Addr(), a)
		})
		addrs[i].Reachable = &ok
	}
}
