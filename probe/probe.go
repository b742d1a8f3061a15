// Package probe measures round-trip latency to an RFC 862 echo server over
// TCP or UDP.
//
// Each round trip sends one payload and waits for its echo before sending
// the next, so at most one payload is in flight. Sends follow an absolute
// schedule (start + i*Interval), so a slow round trip delays only the sends
// that were already due, not every later one. Every reply is compared byte
// for byte with what was sent; losses are counted, never recorded as
// latencies.
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

// MinSize is the smallest payload in bytes: an 8-byte sequence number and
// an 8-byte run nonce.
const MinSize = 16

// MaxUDPSize is the largest IPv4 UDP payload in bytes.
const MaxUDPSize = 65507

// MaxTCPSize is the largest TCP payload in bytes. A round trip writes the
// whole payload before reading the echo, so the payload must fit in the
// socket buffers of both directions; 1 MiB does on any current kernel.
const MaxTCPSize = 1 << 20

// ErrRefused means nothing was listening on the target address.
var ErrRefused = errors.New("connection refused")

// ErrTimeout means the connection could not be set up within
// Options.Timeout.
var ErrTimeout = errors.New("timed out")

// Options control one run. The zero Log is a disabled logger.
type Options struct {
	Count    int           // round trips recorded (ignored when Duration > 0)
	Duration time.Duration // if > 0, send until this much time has passed instead of Count
	Size     int           // payload bytes per round trip, MinSize..MaxUDPSize for UDP, ..MaxTCPSize for TCP
	Interval time.Duration // gap between sends; 0 = back to back
	Timeout  time.Duration // per round trip (and for connect)
	Warmup   int           // round trips before recording, not counted anywhere
	// Concurrency is how many connections (UDP sockets) probe in parallel,
	// each with Count round trips and its own schedule; 0 means 1.
	Concurrency int
	// Mode is what to measure; "" means ModeRTT. ModeConnect and
	// ModeThroughput are TCP only.
	Mode Mode
	// BusyPoll spins on non-blocking reads with the goroutine's OS thread
	// locked, instead of parking until the runtime's poller wakes it: the
	// lowest-overhead measurement, at the cost of a core per connection.
	BusyPoll bool
	// ReportEvery, with Report, hands Report an Interval this often while
	// the run goes on, and once more at its end. Report runs on a goroutine
	// of its own, one call at a time. RTT mode only.
	ReportEvery time.Duration
	Report      func(Interval)
	// Samples, if set, gets one CSV row per round trip of every connection.
	Samples *SampleWriter
	Log     zerolog.Logger
}

// Validate reports the first option that Run would refuse for a target on
// network ("tcp" or "udp"), so that a caller can refuse it before any socket
// is opened.
func (o Options) Validate(network string) error { return o.check(network) }

func (o Options) check(network string) error {
	maxSize := MaxTCPSize
	if network == "udp" {
		maxSize = MaxUDPSize
	}
	switch {
	case o.Count < 1 && o.Duration <= 0:
		return fmt.Errorf("count %d: need at least 1 round trip, or a duration", o.Count)
	case o.Size < MinSize || o.Size > maxSize:
		return fmt.Errorf("size %d: must be %d-%d bytes for %s", o.Size, MinSize, maxSize, network)
	case o.Timeout <= 0:
		return fmt.Errorf("timeout %v: must be positive", o.Timeout)
	case o.Interval < 0:
		return fmt.Errorf("interval %v: must not be negative", o.Interval)
	case o.Warmup < 0:
		return fmt.Errorf("warm-up %d: must not be negative", o.Warmup)
	case o.Concurrency < 0:
		return fmt.Errorf("concurrency %d: must not be negative", o.Concurrency)
	case o.Mode != "" && o.Mode != ModeRTT && network != "tcp":
		return fmt.Errorf("mode %s: measures TCP only", o.Mode)
	case o.Mode == ModeThroughput && o.Duration <= 0:
		return fmt.Errorf("mode throughput: needs a duration")
	}
	return nil
}

// Run probes t. It returns an error and a nil Result only when the target
// could not be reached at all: invalid options, a failed DNS lookup, a
// refused or timed-out connect, or (for UDP) an ICMP port unreachable
// before any reply arrived. A refusal wraps ErrRefused and reads
// "connection refused: nothing listening on 127.0.0.1:7".
//
// Anything that goes wrong once round trips have started is counted in the
// Result, and Result.Aborted says why the run stopped early. When ctx is
// cancelled Run stops promptly, even in the middle of a read, and returns
// the partial Result with Aborted "interrupted"; if that happens before the
// connection is set up, the error wraps ctx.Err() instead.
func Run(ctx context.Context, t Target, o Options) (*Result, error) {
	if err := t.check(); err != nil {
		return nil, err
	}
	if err := o.check(t.Network); err != nil {
		return nil, err
	}
	clock := MeasureClock()
	conns, err := openAll(ctx, t, o)
	if err != nil {
		return nil, err
	}
	results := make([]*Result, len(conns))
	errs := make([]error, len(conns))
	pubs := make([]*published, len(conns))
	var wg sync.WaitGroup
	// One start for every connection, each offset by its share of the
	// interval, so that with --rate the sends of all connections together
	// are evenly spaced instead of bunched.
	start := time.Now()
	stopReports := startReporter(o, pubs, start)
	for i, c := range conns {
		wg.Go(func() {
			defer c.conn.Close() // a mode may close it first; closing twice is harmless
			log := o.Log.With().Str("component", "probe").Stringer("addr", c.addr).Logger()
			log.Debug().Dur("connect", c.connect).Msg("connected")
			res := newResult(t, o)
			res.Addr, res.Connect = c.addr, c.connect
			results[i] = res
			if pubs[i] != nil {
				iv := newDist()
				res.iv = &iv
			}
			switch o.Mode {
			case ModeConnect:
				runConnects(ctx, c, res, o, pubs[i])
			case ModeThroughput:
				runStream(ctx, c, res, o, pubs[i])
			default:
				offset := o.Interval * time.Duration(i) / time.Duration(len(conns))
				s := newSession(i, c.conn, res, o, log)
				s.pub = pubs[i]
				errs[i] = s.run(ctx, start.Add(offset))
			}
		})
	}
	wg.Wait()
	stopReports()
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	res := merge(results)
	res.Clock = clock
	return res, nil
}

// startReporter starts reporting intervals if the options ask for it,
// filling pubs for the sessions, and returns the function that ends it
// after the sessions have made their last publications.
func startReporter(o Options, pubs []*published, start time.Time) (stop func()) {
	if o.Report == nil || o.ReportEvery <= 0 {
		return func() {}
	}
	for i := range pubs {
		pubs[i] = &published{dist: newDist()}
	}
	rp := &reporter{pubs: pubs, start: start, emit: o.Report, mode: o.Mode}
	if rp.mode == "" {
		rp.mode = ModeRTT
	}
	done, finished := make(chan struct{}), make(chan struct{})
	go func() { rp.run(o.ReportEvery, done); close(finished) }()
	return func() { close(done); <-finished }
}

// opened is one connection ready for a session.
type opened struct {
	conn    net.Conn
	addr    netip.AddrPort
	connect time.Duration
}

// openAll sets up Options.Concurrency connections in parallel, or none:
// if one fails, the others are closed and its error returned.
func openAll(ctx context.Context, t Target, o Options) ([]opened, error) {
	conns := make([]opened, max(o.Concurrency, 1))
	errs := make([]error, len(conns))
	var wg sync.WaitGroup
	for i := range conns {
		wg.Go(func() {
			c := &conns[i]
			c.conn, c.addr, c.connect, errs[i] = open(ctx, t, o.Timeout)
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
			return nil, errs[i]
		}
	}
	return conns, nil
}

// open resolves t and connects to it.
func open(ctx context.Context, t Target, timeout time.Duration) (net.Conn, netip.AddrPort, time.Duration, error) {
	addrs, err := resolve(ctx, t)
	if err != nil {
		return nil, netip.AddrPort{}, 0, whyNot(ctx, t, err)
	}
	conn, addr, connect, err := dial(ctx, t.Network, addrs, timeout)
	if err != nil {
		return nil, netip.AddrPort{}, 0, whyNot(ctx, t, err)
	}
	return conn, addr, connect, nil
}

// whyNot reports an interruption as such, wrapping ctx.Err(), rather than
// as whatever the resolver or dialer made of the cancelled context.
func whyNot(ctx context.Context, t Target, err error) error {
	if ctx.Err() != nil {
		return fmt.Errorf("interrupted while connecting to %s: %w", t, ctx.Err())
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
func dial(ctx context.Context, network string, addrs []netip.AddrPort, timeout time.Duration) (net.Conn, netip.AddrPort, time.Duration, error) {
	var d net.Dialer
	if network == "udp" {
		c, err := d.DialUDP(ctx, "udp", netip.AddrPort{}, addrs[0])
		if err != nil {
			return nil, addrs[0], 0, err
		}
		return c, addrs[0], 0, nil
	}
	var first error
	for _, addr := range addrs {
		conn, connect, err := dialTCP(ctx, addr, timeout)
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

func dialTCP(ctx context.Context, addr netip.AddrPort, timeout time.Duration) (net.Conn, time.Duration, error) {
	if ctx.Err() != nil {
		return nil, 0, ctx.Err()
	}
	c, connect, err := connectTCP(ctx, addr, timeout)
	switch {
	case err == nil:
		return c, connect, nil
	case errors.Is(err, syscall.ECONNREFUSED):
		return nil, 0, refused(addr)
	case errors.Is(err, context.DeadlineExceeded) || errors.Is(err, os.ErrDeadlineExceeded):
		return nil, 0, fmt.Errorf("connect to %s: %w after %v", addr, ErrTimeout, timeout)
	}
	return nil, 0, fmt.Errorf("connect to %s: %w", addr, err)
}

// family orders IPv4 before IPv6.
func family(ip netip.Addr) int {
	if ip.Unmap().Is4() {
		return 4
	}
	return 6
}

func refused(addr netip.AddrPort) error {
	return fmt.Errorf("%w: nothing listening on %s", ErrRefused, addr)
}
