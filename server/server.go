// Package server is the echo server of `loopback serve` (RFC 862): TCP and
// UDP on one port number, loopback only unless the caller opts out.
//
// Binding and serving are separate steps, as with net/http's Serve: Listen
// returns bound sockets, so the caller knows the port (and sees a bind error)
// before any traffic, and the Serve methods take a context that stops them.
//
// # One contract, two engines
//
// A server promises the same things whichever engine runs it: every byte
// echoed in order, a half-close answered once everything read has been
// written back, MaxConns, the idle timeout, the drain on stop, CloseAll,
// the counters and the open/close log events. Two engines keep it: the
// event loops (EngineLoops: epoll and raw non-blocking system calls, with
// recvmmsg/sendmmsg batches for UDP; Linux only) and a goroutine per
// connection on Go's poller (EngineGoroutines; every system). Linux runs
// the loops by default, and either engine can be chosen there, so one table
// of contract tests (contract_test.go) runs against both. What is policy
// rather than waiting on sockets lives in tcp.go and is shared: admitting
// and counting a connection (admit, closed), the drain (drain), the close
// reasons and the accept back-off.
//
// # Time and byte budgets per connection
//
// What comes next for a connection (an echo held back for a delay, a
// write paced to a rate, a close or reset after N bytes, reads stopped
// after N bytes) is one decision per chunk read: when may these bytes go
// back, and what happens to the connection after them. That decision will
// be one shared function of the bytes counted so far and the time read; an
// engine's only part is to hold the chunk until the time it is given. The
// loops already hold an echo the peer is not ready for in a pooled buffer
// and stop reading the connection meanwhile, so a held-back echo is the
// same pending buffer waiting on a per-loop timer (epoll_wait's timeout is
// the earliest one) rather than on EPOLLOUT; the goroutine engine waits on
// a timer before its write. Neither engine learns what a fault is, so each
// fault is written once, and byte order holds because a connection is not
// read while an echo of it is held.
package server

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"syscall"
)

// ErrNotLoopback is returned for an address outside 127.0.0.0/8 and ::1 when
// remote addresses were not allowed. A UDP echo on a reachable interface is a
// traffic reflector for anyone who can spoof a source address.
var ErrNotLoopback = errors.New("not a loopback address")

// Resolve turns host (an IP literal or a name) into the address to bind.
// Every address a name resolves to must be loopback unless allowRemote is
// set: a name that is loopback on one machine may not be on the next. IPv4 is
// preferred when a name has both, since most clients try it first.
func Resolve(ctx context.Context, host string, allowRemote bool) (netip.Addr, error) {
	addrs, err := lookup(ctx, host)
	if err != nil {
		return netip.Addr{}, err
	}
	if !allowRemote {
		for _, a := range addrs {
			if !a.IsLoopback() {
				return netip.Addr{}, notLoopback(host, a)
			}
		}
	}
	for _, a := range addrs {
		if a.Is4() {
			return a, nil
		}
	}
	return addrs[0], nil
}

func lookup(ctx context.Context, host string) ([]netip.Addr, error) {
	if a, err := netip.ParseAddr(host); err == nil {
		return []netip.Addr{a.Unmap()}, nil
	}
	addrs, err := net.DefaultResolver.LookupNetIP(ctx, "ip", host)
	if err != nil {
		return nil, fmt.Errorf("resolve %q: %w", host, err)
	}
	for i, a := range addrs {
		addrs[i] = a.Unmap()
	}
	return addrs, nil
}

func notLoopback(host string, a netip.Addr) error {
	what := "it is reachable from other machines"
	if a.IsUnspecified() {
		what = "it means every interface of this machine"
	}
	name := a.String()
	if host != name {
		name = fmt.Sprintf("%s (%s)", host, a)
	}
	return fmt.Errorf("%s is %w (127.0.0.0/8 or ::1): %s; pass --allow-remote to serve there anyway",
		name, ErrNotLoopback, what)
}

// Listeners are the sockets of one server; any may be nil. TCP is the
// stream socket, a Unix one too (see ListenUnix).
type Listeners struct {
	TCP      net.Listener
	UDP      *net.UDPConn
	UnixGram *net.UnixConn
}

// Close closes the sockets.
func (l Listeners) Close() error {
	var errs []error
	if l.TCP != nil {
		errs = append(errs, l.TCP.Close())
	}
	if l.UDP != nil {
		errs = append(errs, l.UDP.Close())
	}
	if l.UnixGram != nil {
		errs = append(errs, l.UnixGram.Close())
	}
	return errors.Join(errs...)
}

// bindAttempts bounds the search for a port free for both TCP and UDP; each
// attempt fails only if another program holds the UDP port that the kernel
// just gave us for TCP, so more than a few in a row means something is wrong.
const bindAttempts = 16

// Listen binds TCP, UDP or both on addr. With both and port 0 the two share
// one port number: TCP binds first, then UDP on the port TCP got; if that UDP
// port is taken the pair is tried again on a new port.
//
// An IPv4 address binds IPv4 only, the wildcard 0.0.0.0 included: Go's
// "tcp" and "udp" networks would make 0.0.0.0 a dual-stack socket that also
// answers on every IPv6 address, which the user did not ask for.
func Listen(ctx context.Context, addr netip.AddrPort, tcp, udp bool) (Listeners, error) {
	var lc net.ListenConfig
	family := "6"
	if addr.Addr().Unmap().Is4() {
		family, addr = "4", netip.AddrPortFrom(addr.Addr().Unmap(), addr.Port())
	}
	for attempt := 1; ; attempt++ {
		var l Listeners
		if tcp {
			ln, err := lc.Listen(ctx, "tcp"+family, addr.String())
			if err != nil {
				return Listeners{}, err
			}
			l.TCP = ln
		}
		if !udp {
			return l, nil
		}
		udpAddr := addr
		if l.TCP != nil {
			udpAddr = netip.AddrPortFrom(addr.Addr(), uint16(l.TCP.Addr().(*net.TCPAddr).Port))
		}
		pc, err := lc.ListenPacket(ctx, "udp"+family, udpAddr.String())
		if err == nil {
			l.UDP = pc.(*net.UDPConn)
			return l, nil
		}
		l.Close()
		if addr.Port() != 0 || !errors.Is(err, syscall.EADDRINUSE) || attempt == bindAttempts {
			return Listeners{}, err
		}
	}
}
