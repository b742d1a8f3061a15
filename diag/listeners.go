package diag

import (
	"cmp"
	"errors"
	"fmt"
	"io/fs"
	"net/netip"
	"runtime"
	"slices"
)

// Socket is one row of `loopback who` and `loopback ports`: a socket from
// the kernel's tables and, when visible, the process that holds it. Its
// MarshalJSON writes the JSON rows of those commands.
type Socket struct {
	// Proto is "tcp", "tcp6", "udp" or "udp6": the kernel table the socket
	// is in (in JSON, proto "tcp" or "udp" and family "ipv4" or "ipv6"). A
	// tcp6 socket may carry IPv4-mapped addresses (::ffff:a.b.c.d) when a
	// dual-stack listener accepted an IPv4 client.
	// For a Unix socket it is "unix" (a listening stream socket) or
	// "unixgram" (a bound datagram socket), and Path replaces Local.
	Proto string
	Local netip.AddrPort
	// Path is a Unix socket's name: a file, or "@name" for an abstract one.
	Path   string
	Remote netip.AddrPort
	// State is "listening", "established", "time-wait" and so on for TCP,
	// "bound" or "connected" for UDP.
	State string
	// Side is SideServer or SideClient for a connection whose side can be
	// told (see markSides), "" for listeners and when it can't.
	Side string
	// UID owns the socket (its creator); User is its name, "" if unknown.
	// A Unix socket's UID is its holder's, unknown (0) when PID is 0.
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
// on loopback, sorted by port, and after them the listening Unix stream
// sockets and bound Unix datagram sockets, sorted by path. Sockets bound to the unspecified address
// (0.0.0.0 or ::) answer on loopback too, so they are included, and their
// address shows they are not only local. With all, it returns the
// listeners on every address and the TCP connections in TIME_WAIT, each
// with its Side.
func Ports(all bool, sys System) ([]Socket, error) {
	socks, err := sockets(sys, query{timeWait: all, keep: func(s Socket) bool {
		a := s.Local.Addr().Unmap()
		return s.Listening() && (all || a.IsLoopback() || a.IsUnspecified()) ||
			all && s.TimeWait()
	}, unix: func(Socket) bool { return true }})
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
	var socks []Socket
	if !q.noIP {
		var listeners listenIndex
		var err error
		socks, listeners, err = readTables(sys, q)
		if err != nil {
			fill(nil)
			return nil, err
		}
		markSides(socks, listeners, q.port)
	}
	if q.unix != nil {
		us, err := readUnix(sys, q.unix)
		// Ports without /proc/net/unix (a kernel built without Unix
		// sockets) still has its TCP and UDP rows to show.
		if err != nil && (q.noIP || !errors.Is(err, fs.ErrNotExist)) {
			fill(nil)
			return nil, err
		}
		socks = append(socks, us...)
	}
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
	// unix, when set, also reads /proc/net/unix and keeps the Unix sockets
	// it accepts: one more file, read only by the lookups that want it.
	// noIP skips the TCP and UDP tables (who PATH).
	unix func(Socket) bool
	noIP bool
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
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
	// Unix sockets, which have no port, come after TCP and UDP.
	if c := cmp.Compare(b2i(a.Unix()), b2i(b.Unix())); c != 0 || a.Unix() {
		return cmp.Or(c, compareUnix(a, b))
	}
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
