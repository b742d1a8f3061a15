// Package probe measures round-trip latency to an RFC 862 echo server over
// TCP or UDP, or over a Unix domain socket, stream or datagram.
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
	"cmp"
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/loopback-dev/loopback/internal/logfield"
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

// Options control one run. The zero Log is a disabled logger.
type Options struct {
	Count    int           // round trips recorded (ignored when Duration > 0)
	Duration time.Duration // if > 0, send until this much time has passed instead of Count
	Size     int           // payload bytes per round trip, MinSize..MaxUDPSize for datagrams, ..MaxTCPSize for streams
	Interval time.Duration // gap between sends; 0 = back to back
	Timeout  time.Duration // per round trip (and for connect)
	Warmup   int           // round trips before recording, not counted anywhere
	// Concurrency is how many connections (UDP sockets) probe in parallel,
	// each with Count round trips and its own schedule; 0 means 1.
	Concurrency int
	// Mode is what to measure; "" means ModeRTT. ModeConnect and
	// ModeThroughput measure streams only (TCP and Unix stream sockets).
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
	// Split sends each request of a stream in two writes of half the
	// payload each, as a client that writes a header and then a body
	// does. RTT mode only.
	Split bool
	// Nagle leaves Nagle's algorithm on (no TCP_NODELAY), TCP only: a
	// small write waits until what went before it is acknowledged. With
	// Split, against a server that answers only whole messages, that wait
	// is the server's delayed ACK, about 40 ms on Linux.
	Nagle bool
	// MaxErrors, if > 0, ends the run once this many measured round trips
	// have failed (lost, late or corrupt), over all connections; with
	// several, those in flight may add a few. The Result then has what
	// completed, and Err wraps ErrMaxErrors.
	MaxErrors int
	Log       zerolog.Logger
	// Trace, if it takes trace-level events, gets the first connection's
	// steps told one by one for narration (see trace.go): its connect, its
	// first TraceRoundTrips measured round trips in RTT mode, and its
	// close. The zero Logger tells nothing, and costs nothing.
	Trace           zerolog.Logger
	TraceRoundTrips int

	limit *errorLimit // Run's count of failures, for MaxErrors
}

// Validate reports every option that Run would refuse for a target on
// network ("tcp", "udp", "unix" or "unixgram"), so that a caller can refuse them all before any
// socket is opened: nil, or one *OptionError per problem, joined
// (errors.Join).
func (o Options) Validate(network string) error {
	stream := Target{Network: network}.Stream()
	maxSize := MaxTCPSize
	if !stream {
		maxSize = MaxUDPSize
	}
	var p []error
	refuse := func(field string, value any, why string) {
		p = append(p, &OptionError{Field: field, Value: fmt.Sprint(value), Why: why})
	}
	if o.Count < 1 && o.Duration <= 0 {
		refuse("Count", o.Count, "need at least 1 round trip, or a duration")
	}
	if o.Duration < 0 {
		refuse("Duration", o.Duration, "must not be negative")
	}
	if o.Size < MinSize || o.Size > maxSize {
		refuse("Size", o.Size, fmt.Sprintf("must be %d-%d bytes for %s", MinSize, maxSize, network))
	}
	if o.Timeout <= 0 {
		refuse("Timeout", o.Timeout, "must be positive")
	}
	if o.Interval < 0 {
		refuse("Interval", o.Interval, "must not be negative")
	}
	if o.Warmup < 0 {
		refuse("Warmup", o.Warmup, "must not be negative")
	}
	if o.Concurrency < 0 {
		refuse("Concurrency", o.Concurrency, "must not be negative")
	}
	if o.MaxErrors < 0 {
		refuse("MaxErrors", o.MaxErrors, "must not be negative")
	}
	if o.Mode != "" && o.Mode != ModeRTT && !stream {
		refuse("Mode", o.Mode, "measures streams only (tcp or unix)")
	}
	if o.Mode == ModeThroughput && o.Duration <= 0 {
		refuse("Mode", o.Mode, "needs a duration")
	}
	if o.Split && (!stream || (o.Mode != "" && o.Mode != ModeRTT)) {
		p = append(p, &OptionError{Field: "Split", Why: "only the requests of a stream's round trips can be split (tcp or unix, mode rtt)"})
	}
	if o.Nagle && network != "tcp" {
		p = append(p, &OptionError{Field: "Nagle", Why: "Nagle's algorithm is TCP's, not " + network + "'s"})
	}
	if o.BusyPoll && !canSpin {
		p = append(p, noBusyPoll())
	}
	return errors.Join(p...)
}

// OptionError is an Options value that Run refuses. Field names the
// Options field that holds it, so that a caller can name the flag or the
// setting the value came from instead; Error reads like
// "size 70000: must be 16-65507 bytes for udp".
type OptionError struct {
	Field string // the Options field: "Count", "Size", "Warmup", ...
	Value string // the value refused, as the message shows it; "" for BusyPoll
	Why   string // what is wrong with it
	Err   error  // what it wraps, if anything: errors.ErrUnsupported for BusyPoll
}

// optionWords are the Options fields as Error names them.
var optionWords = map[string]string{"Warmup": "warm-up", "BusyPoll": "busy poll", "MaxErrors": "max errors"}

func (e *OptionError) Error() string {
	what := cmp.Or(optionWords[e.Field], strings.ToLower(e.Field))
	if e.Value != "" {
		what += " " + e.Value
	}
	return what + ": " + e.Why
}

func (e *OptionError) Unwrap() error { return e.Err }

// Run probes t. It always returns a Result: with an error, the Result
// holds what was set and learnt before it (the address tried, the clock),
// and nothing measured. The error is one of the kinds in errors.go when
// the target could not be reached at all: a failed DNS lookup, a refused,
// unreachable or timed-out connect, or (for UDP) an ICMP port unreachable
// before any reply arrived; or an *OptionError for options it refuses. A
// refusal reads "connection refused: nothing listening on 127.0.0.1:7".
//
// Anything that goes wrong once round trips have started is counted in the
// Result, and Result.Err says whether the run proved the target healthy,
// and why not. When ctx is cancelled Run stops promptly, even in the
// middle of a read, and returns the partial Result, Interrupted; if that
// happens before the connection is set up, the error wraps ErrInterrupted
// and context.Cause(ctx).
func Run(ctx context.Context, t Target, o Options) (*Result, error) {
	res := NewResult(t, o)
	if err := t.check(); err != nil {
		return res, err
	}
	if err := o.Validate(t.Network); err != nil {
		return res, err
	}
	res.Clock = MeasureClock()
	parent := ctx
	if o.MaxErrors > 0 {
		var stop context.CancelCauseFunc
		ctx, stop = context.WithCancelCause(ctx)
		defer stop(nil)
		o.limit = &errorLimit{max: uint64(o.MaxErrors), stop: stop}
	}
	conns, err := openAll(ctx, t, o)
	if err != nil {
		res.Addr = conns[0].addr
		if errors.Is(err, ErrInterrupted) {
			res.interrupt()
			res.cause = context.Cause(parent)
		}
		return res, err
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
	clock := res.Clock
	res = merge(results)
	res.Clock = clock
	if res.Interrupted && parent.Err() == nil && o.limit.reached() {
		// The sessions stopped as for a signal, but the limit stopped them.
		res.Interrupted = false
		res.abort(fmt.Errorf("%w: %d of %d round trips failed (lost, late or corrupt)", ErrMaxErrors, res.Lost+res.Late+res.Corrupt, res.Sent))
	}
	if res.Interrupted {
		res.cause = context.Cause(parent)
	}
	for _, err := range errs {
		if err != nil {
			return res, err
		}
	}
	return res, nil
}

// runConn runs the measurement of o.Mode on connection i, and returns what
// it measured; the error is a session's fatal one.
func runConn(ctx context.Context, i int, c opened, t Target, o Options, start time.Time, pub *published) (*Result, error) {
	defer c.conn.Close() // a mode may close it first; closing twice is harmless
	res := NewResult(t, o)
	res.Addr, res.Connect = c.addr, c.connect
	log := logfield.AddrCtx(o.Log.With().Str("component", "probe"), "addr", res.netAddr()).Logger()
	log.Debug().Float64("connect_us", float64(c.connect)/float64(time.Microsecond)).Msg("connected")
	switch o.Mode {
	case ModeConnect:
		tl := newTally(o, i, start, pub != nil)
		runConnects(ctx, c, res, o, &tl, pub)
	case ModeThroughput:
		runStream(ctx, c, res, o, pub)
	default:
		return res, newSession(i, c, res, o, log, start, pub).run(ctx)
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
