package diag

import (
	"fmt"
	"net/netip"
	"strings"
)

// Sides of a connection, in Socket.Side.
const (
	// SideServer is a connection whose own port is one a socket here
	// listens on: a listener accepted it.
	SideServer = "server"
	// SideClient is a connection whose other end's port is one a socket
	// here listens on: it connected to that listener. In Who(port), it is
	// also a connection to port from a port nothing here listens on.
	SideClient = "client"
)

// listenIndex holds where the listening sockets are, by transport ("tcp"
// or "udp", either family) and port.
type listenIndex map[transportPort][]netip.Addr

type transportPort struct {
	transport string
	port      uint16
}

// transport is "tcp" or "udp" for a socket's table: tcp6 connections and
// tcp listeners meet on the same ports.
func transport(proto string) string { return strings.TrimSuffix(proto, "6") }

func (x listenIndex) add(s Socket) {
	k := transportPort{transport(s.Proto), s.Local.Port()}
	x[k] = append(x[k], s.Local.Addr())
}

// answers reports whether a listener of proto's transport takes traffic
// for ap.
func (x listenIndex) answers(proto string, ap netip.AddrPort) bool {
	for _, a := range x[transportPort{transport(proto), ap.Port()}] {
		if covers(a, ap.Addr()) {
			return true
		}
	}
	return false
}

// markSides tells, for each connection in socks, which end of it this
// socket is, by which end's port is a listening one here: server when its
// own, client when the other end's, nothing when neither or both (the
// listener has gone, or two servers talk from their own ports). A
// connection to the port a Who asked about (whoPort), from a port nothing
// here listens on, is that port's client even when the server is on
// another machine. Listeners and bound UDP sockets get no side.
func markSides(socks []Socket, listeners listenIndex, whoPort uint16) {
	for i := range socks {
		s := &socks[i]
		if s.Listening() || !s.Remote.IsValid() || s.Remote.Port() == 0 {
			continue
		}
		local, remote := listeners.answers(s.Proto, s.Local), listeners.answers(s.Proto, s.Remote)
		switch {
		case local && !remote:
			s.Side = SideServer
		case remote && !local:
			s.Side = SideClient
		case !local && whoPort != 0 && s.Remote.Port() == whoPort && s.Local.Port() != whoPort:
			s.Side, s.clientOfAsked = SideClient, true
		}
	}
}

// timeWaitNote says which side holds a TIME_WAIT socket and how that was
// told: no process is left to name. Explain says what TIME_WAIT is for.
func timeWaitNote(s Socket) string {
	const what = "this end closed first, so the kernel keeps the connection for 60 s; no process holds it"
	switch {
	case s.Side == SideServer:
		return fmt.Sprintf("TIME_WAIT, server side (its port %d listens here): %s", s.Local.Port(), what)
	case s.Side == SideClient && s.clientOfAsked:
		return fmt.Sprintf("TIME_WAIT, client side (connected to port %d, the port asked about, "+
			"from one nothing here listens on): %s", s.Remote.Port(), what)
	case s.Side == SideClient:
		return fmt.Sprintf("TIME_WAIT, client side (the other end's port %d listens here): %s",
			s.Remote.Port(), what)
	}
	return "TIME_WAIT, side unknown (neither port listens here now): " + what
}
