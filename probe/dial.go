package probe

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"slices"
	"sync"
	"syscall"
	"time"

	"github.com/rs/zerolog"
)

// opened is one connection ready for a session.
type opened struct {
	conn    net.Conn
	addr    netip.AddrPort // the address connected to; none for a Unix socket
	connect time.Duration
	trace   zerolog.Logger // its steps told for narration; disabled but for the first
}

// openAll sets up Options.Concurrency connections in parallel, or none:
// if one fails, the others are closed, and it returns the one that failed
// alone (no conn, but the address it tried) with its error.
func openAll(ctx context.Context, t Target, o Options) ([]opened, error) {
	conns := make([]opened, max(o.Concurrency, 1))
	errs := make([]error, len(conns))
	var wg sync.WaitGroup
	for i := range conns {
		wg.Go(func() {
			c := &conns[i]
			if i == 0 {
				c.trace = traceLog(o, t)
			}
			c.conn, c.addr, c.connect, errs[i] = open(ctx, t, o, c.trace)
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			for _, c := range conns {
				if c.conn != nil {
					c.conn.Close()
				}
			}
			return []opened{{addr: conns[i].addr}}, errs[i]
		}
	}
	return conns, nil
}

// open resolves t and connects to it, telling tr each step.
func open(ctx context.Context, t Target, o Options, tr zerolog.Logger) (net.Conn, netip.AddrPort, time.Duration, error) {
	traceConnecting(tr, t)
	conn, addr, connect, err := connectTo(ctx, t, o)
	traceConnect(tr, t, conn, addr, connect, err)
	return conn, addr, connect, err
}

// connectTo resolves t and connects to it.
func connectTo(ctx context.Context, t Target, o Options) (net.Conn, netip.AddrPort, time.Duration, error) {
	if t.Unix() {
		conn, connect, err := dialUnix(ctx, t, o.Timeout)
		if err != nil {
			return nil, netip.AddrPort{}, 0, whyNot(ctx, t, err)
		}
		return conn, netip.AddrPort{}, connect, nil
	}
	addrs, err := resolve(ctx, t)
	if err != nil {
		return nil, netip.AddrPort{}, 0, whyNot(ctx, t, withKind(ErrUnresolvable, err))
	}
	conn, addr, connect, err := dial(ctx, t.Network, addrs, o)
	if err != nil {
		return nil, addr, 0, whyNot(ctx, t, err)
	}
	return conn, addr, connect, nil
}

// whyNot reports an interruption as such, wrapping ErrInterrupted and the
// context's cause, rather than as whatever the resolver or dialer made of
// the cancelled context.
func whyNot(ctx context.Context, t Target, err error) error {
	if ctx.Err() != nil {
		return withKind(ErrInterrupted, fmt.Errorf("interrupted while connecting to %s: %w", t, context.Cause(ctx)))
	}
	return err
}

// resolve returns the addresses to try, IPv4 first: echo servers, ours
// included, usually bind 127.0.0.1, while "localhost" often resolves to ::1
// first.
func resolve(ctx context.Context, t Target) ([]netip.AddrPort, error) {
	var ips []netip.Addr
	if ip, err := netip.ParseAddr(t.Host); err == nil {
		ips = []netip.Addr{ip}
	} else {
		// The resolver's error already names the host and the failure.
		if ips, err = net.DefaultResolver.LookupNetIP(ctx, "ip", t.Host); err != nil {
			return nil, err
		}
	}
	if len(ips) == 0 {
		return nil, fmt.Errorf("lookup %s: no addresses", t.Host)
	}
	slices.SortStableFunc(ips, func(a, b netip.Addr) int {
		return cmp.Compare(family(a), family(b))
	})
	out := make([]netip.AddrPort, len(ips))
	for i, ip := range ips {
		out[i] = netip.AddrPortFrom(ip.Unmap(), t.Port)
	}
	return out, nil
}

// dial connects to the first address that accepts; if none does, the error
// is the first address's, the one the user most likely meant. For UDP,
// connecting sends nothing, so it always picks the first address; a refusal
// shows up only on the first read. connect is the TCP handshake time.
func dial(ctx context.Context, network string, addrs []netip.AddrPort, o Options) (net.Conn, netip.AddrPort, time.Duration, error) {
	var d net.Dialer
	if network == "udp" {
		c, err := d.DialUDP(ctx, "udp", netip.AddrPort{}, addrs[0])
		if err != nil {
			return nil, addrs[0], 0, withKind(connectKind(err), err)
		}
		return c, addrs[0], 0, nil
	}
	var first error
	for _, addr := range addrs {
		conn, connect, err := dialTCP(ctx, addr, o)
		if err == nil {
			return conn, addr, connect, nil
		}
		if first == nil {
			first = err
		}
		if ctx.Err() != nil {
			break
		}
	}
	return nil, addrs[0], 0, first
}

// dialTCP connects to addr within o.Timeout, with Nagle's algorithm off
// unless o.Nagle.
func dialTCP(ctx context.Context, addr netip.AddrPort, o Options) (net.Conn, time.Duration, error) {
	if ctx.Err() != nil {
		return nil, 0, ctx.Err()
	}
	timeout := o.Timeout
	c, connect, err := connectTCP(ctx, addr, timeout)
	switch {
	case err == nil && o.Nagle:
		// Set after the connect, which stays timed alone.
		if err := c.(*net.TCPConn).SetNoDelay(false); err != nil {
			c.Close()
			return nil, 0, fmt.Errorf("connect to %s: Nagle's algorithm: %w", addr, err)
		}
		return c, connect, nil
	case err == nil:
		return c, connect, nil
	case errors.Is(err, syscall.ECONNREFUSED):
		return nil, 0, refused(addr.String())
	case errors.Is(err, context.DeadlineExceeded) || errors.Is(err, os.ErrDeadlineExceeded):
		return nil, 0, fmt.Errorf("connect to %s: %w after %v", addr, ErrTimeout, timeout)
	}
	return nil, 0, withKind(connectKind(err), fmt.Errorf("connect to %s: %w", addr, err))
}

// family orders IPv4 before IPv6.
func family(ip netip.Addr) int {
	if ip.Unmap().Is4() {
		return 4
	}
	return 6
}

// refused is the error for nothing listening at place, an address and
// port or a socket's path.
func refused(place string) error {
	return fmt.Errorf("%w: nothing listening on %s", ErrRefused, place)
}

// redial opens one more connection to what c reached, for a sample of
// ModeConnect.
func redial(ctx context.Context, t Target, c opened, o Options) (net.Conn, time.Duration, error) {
	if t.Unix() {
		return dialUnix(ctx, t, o.Timeout)
	}
	return dialTCP(ctx, c.addr, o)
}
