// Package probe measures round-trip latency to an RFC 862 echo server over
// TCP or UDP.
//
// Two engines do the round trips. The closed loop (TCP, and UDP without a
// schedule) sends one payload and waits for its echo before sending the
// next, so at most one is in flight. UDP on a schedule sends each datagram
// when it is due, whether or not earlier replies have come back, and
// matches replies to sends by sequence number. Either way sends follow an
// absolute schedule (start + i*Interval), so a slow round trip delays only
// the sends that were already due, not every later one. Every reply is
// compared byte for byte with what was sent; losses are counted, never
// recorded as latencies. Both engines count by the one set of rules that
// Counts describes.
//
// Package probe/report turns what a run measured into text, JSON, CSV and
// histograms.
package probe

import (
	"context"
	"errors"
	"fmt"
	"sync"
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
	// Samples, if set, gets one Sample per event of every round trip (see
	// Outcome), from every connection.
	Samples Sampler
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
	case o.BusyPoll && !canSpin:
		return noBusyPoll()
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
	// One start for every connection: the schedules, the samples and the
	// intervals are all timed from it.
	start := time.Now()
	stopReports := startReporter(o, pubs, start)
	var wg sync.WaitGroup
	for i, c := range conns {
		wg.Go(func() { results[i], errs[i] = runConn(ctx, i, c, t, o, start, pubs[i]) })
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

// runConn runs the measurement of o.Mode on connection i, and returns what
// it measured; the error is a session's fatal one.
func runConn(ctx context.Context, i int, c opened, t Target, o Options, start time.Time, pub *published) (*Result, error) {
	defer c.conn.Close() // a mode may close it first; closing twice is harmless
	log := o.Log.With().Str("component", "probe").Stringer("addr", c.addr).Logger()
	log.Debug().Dur("connect", c.connect).Msg("connected")
	res := newResult(t, o)
	res.Addr, res.Connect = c.addr, c.connect
	switch o.Mode {
	case ModeConnect:
		tl := newTally(o, i, start, pub != nil)
		runConnects(ctx, c, res, o, &tl, pub)
	case ModeThroughput:
		runStream(ctx, c, res, o, pub)
	default:
		return res, newSession(i, c.conn, res, o, log, start, pub).run(ctx)
	}
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
		pubs[i] = &published{dist: NewDist()}
	}
	rp := &reporter{pubs: pubs, start: start, emit: o.Report, mode: o.Mode}
	if rp.mode == "" {
		rp.mode = ModeRTT
	}
	done, finished := make(chan struct{}), make(chan struct{})
	go func() { rp.run(o.ReportEvery, done); close(finished) }()
	return func() { close(done); <-finished }
}
