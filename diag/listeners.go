package diag

import (
	"cmp"
	"errors"
	"fmt"
	"io/fs"
	"net/netip"
	"runtime"
	"slices"
	"strings"
)

// Socket is one row of `loopback who` and `loopback ports`: a socket from
// the kernel's tables and, when visible, the process that holds it. Its
// MarshalJSON writes the JSON rows of those commands.
type Socket struct {
	// Proto is "tcp", "tcp6", "udp" or "udp6": the kernel table the socket
	// is in (in JSON, proto "tcp" or "udp" and family "ipv4" or "ipv6"). A
	// tcp6 socket may carry IPv4-mapped addresses (::ffff:a.b.c.d) when a
	// dual-stack listener accepted an IPv4 client.
	Proto  string
	Local  netip.AddrPort
	Remote netip.AddrPort
	// State is "listening", "established", "time-wait" and so on for TCP,
	// "bound" or "connected" for UDP.
	State string
	// Side is SideServer or SideClient for a connection whose side can be
	// told (see markSides), "" for listeners and when it can't.
	Side string
	// UID owns the socket (its creator); User is its name, "" if unknown.
	// Inode is 0 for a socket no file holds (TIME_WAIT).
	UID   uint32
	User  string
	Inode uint64
	// PID is the lowest process id holding the socket, 0 when unknown;
	// OtherPIDs are the rest, such as children that inherited it.
	PID       int
	OtherPIDs []int
	// Process is the PID's name (/proc/PID/comm) and Cmdline its arguments.
	Process string
	Cmdline []string
	// Note says why something is missing, such as "pid not visible: owned
	// by uid 1000 (alice); run as that user or root".
	Note string

	state uint8 // the kernel's state number behind State
	// clientOfAsked: Side is client because the socket is connected to
	// the port a Who asked about, not because that port listens here.
	clientOfAsked bool
}

// Listening reports whether s accepts traffic on its own: a listening TCP
// socket or a bound, unconnected UDP one. It reads State, so it also works
// on a Socket decoded from JSON.
func (s Socket) Listening() bool {
	return s.State == "listening" || s.State == "bound" && s.Local.Port() != 0
}

// TimeWait reports whether s is a TCP connection in TIME_WAIT.
func (s Socket) TimeWait() bool { return s.State == "time-wait" }

// Who returns every socket whose local port is port, TCP and UDP, IPv4 and
// IPv6, in any state, and then every connection whose remote port it is:
// the clients of a server on port, and the other end of a connection from
// it. Each connection's Side says which end it is. It returns no sockets
// and no error when nothing uses the port; sockets it can't attribute to a
// process still appear, with a Note, rather than failing the lookup.
func Who(port uint16, sys System) ([]Socket, error) {
	if port == 0 {
		return nil, errors.New("port 0 is never bound: it asks the kernel to pick a port")
	}
	socks, err := sockets(sys, query{port: port, keep: func(s Socket) bool {
		return s.Local.Port() == port || s.Remote.Port() == port
	}})
	if errors.Is(err, errors.ErrUnsupported) {
		return nil, unsupported(fmt.Sprintf("lsof -nP -iTCP:%d -sTCP:LISTEN", port),
			fmt.Sprintf("netstat -ano | findstr :%d", port))
	}
	if err != nil {
		return nil, err
	}
	return socks, nil
}

// Ports returns the listening TCP sockets and bound UDP sockets that answer
// on loopback, sorted by port. Sockets bound to the unspecified address
// (0.0.0.0 or ::) answer on loopback too, so they are included, and their
// address shows they are not only local. With all, it returns the
// listeners on every address and the TCP connections in TIME_WAIT, each
// with its Side.
func Ports(all bool, sys System) ([]Socket, error) {
	socks, err := sockets(sys, query{timeWait: all, keep: func(s Socket) bool {
		a := s.Local.Addr().Unmap()
		return s.Listening() && (all || a.IsLoopback() || a.IsUnspecified()) ||
			all && s.TimeWait()
	}})
	if errors.Is(err, errors.ErrUnsupported) {
		return nil, unsupported("lsof -nP -iTCP -sTCP:LISTEN", "netstat -ano | findstr LISTENING")
	}
	if err != nil {
		return nil, err
	}
	return socks, nil
}

// sockets reads the kernel's tables for what q asks, tells the sides of
// the connections found, attaches the processes holding them (looked for
// meanwhile), and sorts them.
func sockets(sys System, q query) ([]Socket, error) {
	fill := startOwnerScan(sys)
	socks, listeners, err := readTables(sys, q)
	if err != nil {
		fill(nil)
		return nil, err
	}
	markSides(socks, listeners, q.port)
	fill(socks)
	sortSockets(socks, q.port)
	return socks, nil
}

// query is what a lookup wants from the kernel's tables. keep has the last
// word, row by row (given a copy: a pointer would move every row to the
// heap); port and timeWait say the same in a form the kernel
// can filter by before it sends anything.
type query struct {
	// port, when not 0, asks for the sockets whose local or remote port it
	// is (Who); otherwise only listeners are wanted (Ports), and with
	// timeWait the TCP sockets in TIME_WAIT too.
	port     uint16
	timeWait bool
	keep     func(Socket) bool
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// Holder describes who holds port for network ("tcp", "tcp4", "udp6", ...)
// in one line for serve's EADDRINUSE error, such as "held by pid 1234
// (socat) as tcp 127.0.0.1:7007". It returns "" when it can't tell.
func Holder(network string, port uint16, sys System) string {
	socks, err := Who(port, sys)
	if err != nil {
		return ""
	}
	family := strings.TrimRight(network, "46")
	var held []string
	for _, listeners := range []bool{true, false} {
		for _, s := range socks {
			// Prefer listeners; other sockets on the port (a client bound
			// to it, say) explain the error only when there is none.
			if strings.HasPrefix(s.Proto, family) && s.Listening() == listeners && s.Inode != 0 &&
				s.Local.Port() == port {
				held = append(held, holderPhrase(s))
			}
		}
		if len(held) > 0 {
			break
		}
	}
	if len(held) == 0 {
		return ""
	}
	if len(held) > 3 {
		held = append(held[:3], fmt.Sprintf("%d more", len(held)-3))
	}
	return "held by " + strings.Join(held, " and ")
}

// holderPhrase is "pid 1234 (socat) as tcp 127.0.0.1:7007".
func holderPhrase(s Socket) string {
	as := fmt.Sprintf("as %s %s", s.Proto, s.Local)
	if s.PID == 0 {
		return fmt.Sprintf("%s %s (pid not visible)", uidText(s), as)
	}
	return fmt.Sprintf("pid %d (%s) %s", s.PID, s.Process, as)
}

// uidText is "uid 1000 (alice)", or "uid 1000" without a name.
func uidText(s Socket) string {
	if s.User == "" {
		return fmt.Sprintf("uid %d", s.UID)
	}
	return fmt.Sprintf("uid %d (%s)", s.UID, s.User)
}

// BindHint turns a failed listen on port into advice for the user, or ""
// when it has none. network is what was passed to Listen ("tcp", "udp4",
// ...). Two failures get hints:
//
//   - EADDRINUSE: who holds the port, from Holder, such as "port 7007 is
//     already in use, held by pid 1234 (socat) as tcp 127.0.0.1:7007; stop
//     it or pick another port (0 lets the kernel choose)".
//   - EACCES below net.ipv4.ip_unprivileged_port_start: why, and which
//     ports work instead.
//
// The hint complements err, which already names the address: print both.
func BindHint(err error, network string, port uint16, sys System) string {
	switch {
	case err == nil:
		return ""
	case isAddrInUse(err):
		return inUseHint(network, port, sys)
	case errors.Is(err, fs.ErrPermission):
		return permissionHint(port, sys)
	}
	return ""
}

func inUseHint(network string, port uint16, sys System) string {
	if h := Holder(network, port, sys); h != "" {
		return fmt.Sprintf("port %d is already in use, %s; stop it or pick another port "+
			"(0 lets the kernel choose)", port, h)
	}
	if _, err := Who(port, sys); err != nil {
		if u, ok := errors.AsType[*unsupportedError](err); ok {
			return fmt.Sprintf("port %d is already in use; run `%s` to see by whom", port, u.native)
		}
	}
	// The holder may have exited since the bind failed.
	return fmt.Sprintf("port %d is already in use, but nothing holds it now; "+
		"try again, or pick another port (0 lets the kernel choose)", port)
}

func permissionHint(port uint16, sys System) string {
	start, known := unprivilegedStart(sys)
	switch {
	case !known && port < 1024:
		return fmt.Sprintf("ports below 1024 usually need root; pick a port >= 1024, "+
			"or 0 to let the kernel choose (port %d was refused)", port)
	case !known:
		return ""
	case int(port) < start:
		return fmt.Sprintf("ports below %d need root or CAP_NET_BIND_SERVICE on this machine "+
			"(net.ipv4.ip_unprivileged_port_start=%d); pick a port >= %d, or 0 to let "+
			"the kernel choose", start, start, start)
	}
	// Above the limit the kernel itself doesn't refuse; something else did.
	return fmt.Sprintf("port %d is not privileged here (net.ipv4.ip_unprivileged_port_start=%d), "+
		"so a security policy (SELinux, AppArmor, seccomp or a container runtime) refused it", port, start)
}

// sortSockets orders by port, then protocol, address, state and inode, so
// output is stable from run to run; for Who(whoPort), the port's own
// sockets come first, then those that reach it from another port.
//
// It sorts indexes and moves each Socket once: a Socket is some 240 bytes,
// and sorting 10,000 of them in place moved 30 MB.
func sortSockets(socks []Socket, whoPort uint16) {
	idx := make([]int32, len(socks))
	for i := range idx {
		idx[i] = int32(i)
	}
	slices.SortFunc(idx, func(i, j int32) int { return compareSockets(&socks[i], &socks[j], whoPort) })
	sorted := make([]Socket, len(socks))
	for k, i := range idx {
		sorted[k] = socks[i]
	}
	copy(socks, sorted)
}

func compareSockets(a, b *Socket, whoPort uint16) int {
	if whoPort != 0 {
		if c := cmp.Compare(b2i(a.Local.Port() != whoPort), b2i(b.Local.Port() != whoPort)); c != 0 {
			return c
		}
	}
	if c := cmp.Compare(a.Local.Port(), b.Local.Port()); c != 0 {
		return c
	}
	if c := cmp.Compare(a.Proto, b.Proto); c != 0 {
		return c
	}
	if c := a.Local.Addr().Compare(b.Local.Addr()); c != 0 {
		return c
	}
	if c := a.Remote.Compare(b.Remote); c != 0 {
		return c
	}
	return cmp.Or(cmp.Compare(a.state, b.state), cmp.Compare(a.Inode, b.Inode))
}

// unsupportedError says the lookup doesn't work here and what to run
// instead; it matches errors.ErrUnsupported.
type unsupportedError struct {
	goos, native string
}

func (e *unsupportedError) Error() string {
	return fmt.Sprintf("not supported on %s: run `%s` instead", e.goos, e.native)
}

func (e *unsupportedError) Unwrap() error { return errors.ErrUnsupported }

// unsupported picks the native command for this system.
func unsupported(unix, windows string) error {
	native := unix
	if runtime.GOOS == "windows" {
		native = windows
	}
	return &unsupportedError{goos: runtime.GOOS, native: native}
}
