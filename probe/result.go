package probe

import (
	"cmp"
	"fmt"
	"math"
	"net"
	"net/netip"
	"slices"
	"strings"
	"time"
)

// Result is what one run measured.
type Result struct {
	Target   Target
	Addr     netip.AddrPort // the address probed, after resolving Target.Host; none for a Unix socket
	Size     int            // payload bytes per round trip
	Warmup   int            // round trips done before recording
	Interval time.Duration  // intended gap between sends; 0 = back to back
	Timeout  time.Duration  // per round trip

	// Counts say what became of the round trips, and how they add up.
	Counts
	Behind uint64 // sends that went out late because a round trip overran the interval

	Connect time.Duration // streams only: time to set up the connection
	Elapsed time.Duration // from the first recorded send to the end of the run

	// Aborted is non-empty when the run stopped early, and says why.
	Aborted string
	// failure is why, as an error of a kind in errors.go, with Aborted for
	// its text; nil when nothing stopped the run but an interruption.
	failure error
	// Interrupted is true when the run stopped because its context was
	// cancelled; Aborted is then "interrupted".
	Interrupted bool
	// cause is why the context was cancelled: the signal, in the command.
	cause error

	// Dist is the RTT distribution of the received replies. With a send
	// schedule (Interval > 0) each RTT is timed from when its send was due,
	// so a stall that delayed later sends shows in the tail instead of
	// hiding (coordinated omission); back to back, due and actual sends are
	// the same.
	Dist
	// Raw is the distribution timed from the actual sends, kept beside the
	// corrected one when there is a schedule (nil otherwise), so that the
	// two can be compared.
	Raw *Dist

	// Jitter is the RFC 3550 interarrival jitter estimate over consecutive
	// replies: a running mean of |RTT(i) - RTT(i-1)| with gain 1/16.
	Jitter time.Duration
	jitter float64 // the estimate in nanoseconds, kept unrounded
	// Conns is how many connections (UDP sockets) ran in parallel.
	Conns int
	// Clock is the cost and resolution of the clock that timed the run.
	Clock Clock
	// BusyPoll says the replies were read by spinning, not through the
	// runtime's poller.
	BusyPoll bool
	// Reads says how replies were read, for the report: "by blocking
	// read(2), as a C client does", "by busy polling", ...
	Reads string

	// Mode is what the run measured. With ModeConnect, the Dist holds
	// whole samples (connect, echo, close) and Connects the connects alone.
	Mode     Mode
	Connects *Dist
	// With ModeThroughput: bytes streamed each way, and how long the
	// writer wrote.
	BytesSent, BytesReceived uint64
	SendFor                  time.Duration
}

// NewResult is the Result of a run of o on t that has measured nothing
// yet: what Run returns when it fails before the first round trip.
func NewResult(t Target, o Options) *Result {
	r := &Result{
		Target:   t,
		Size:     o.Size,
		Warmup:   o.Warmup,
		Interval: o.Interval,
		Timeout:  o.Timeout,
		Dist:     NewDist(),
		Conns:    1,
		BusyPoll: o.BusyPoll,
		Mode:     cmp.Or(o.Mode, ModeRTT),
	}
	if o.Interval > 0 {
		raw := NewDist()
		r.Raw = &raw
	}
	return r
}

// OK reports whether the run proved the target healthy: at least one round
// trip was recorded, every one came back intact, and the run was neither
// aborted nor interrupted. An interrupted run proved nothing: a health
// check cut short by Ctrl-C must not let `probe ... && deploy` go on.
func (r *Result) OK() bool {
	healthy := r.Aborted == "" && !r.Interrupted
	if r.Mode == ModeThroughput {
		return healthy && r.Corrupt == 0 && r.BytesSent > 0 && r.BytesReceived == r.BytesSent
	}
	return healthy && r.Received > 0 && r.Lost == 0 && r.Late == 0 && r.Corrupt == 0
}

// abort records that the run stopped early because of err, an error of a
// kind in errors.go (or of none) whose text says why.
func (r *Result) abort(err error) { r.Aborted, r.failure = err.Error(), err }

// interrupt records that the run stopped because its context ended.
func (r *Result) interrupt() { r.Aborted, r.Interrupted = "interrupted", true }

// Err returns nil when the run proved the target healthy (OK), and else
// why not, in one line that starts with the target, as an error of one of
// the kinds in errors.go: ErrInterrupted (wrapping the context's cause),
// the kind of what stopped the run early, ErrLost or ErrCorrupt.
func (r *Result) Err() error {
	switch {
	case r.OK():
		return nil
	case r.Interrupted:
		err := fmt.Errorf("%s: interrupted%s", r.Target, r.progress())
		if r.cause != nil {
			err = fmt.Errorf("%w: %w", err, r.cause)
		}
		return withKind(ErrInterrupted, err)
	case r.failure != nil && r.Mode == ModeThroughput:
		return fmt.Errorf("%s: stream failed: %w", r.Target, r.failure)
	case r.failure != nil:
		return fmt.Errorf("%s: stopped%s: %w", r.Target, r.progress(), r.failure)
	case r.Mode == ModeThroughput:
		return withKind(ErrLost, fmt.Errorf("%s: stream failed: %d of %d bytes came back", r.Target, r.BytesReceived, r.BytesSent))
	}
	kind, late := ErrLost, ""
	if r.Lost+r.Late == 0 {
		kind = ErrCorrupt
	}
	if r.Late > 0 {
		late = fmt.Sprintf(", %d late", r.Late)
	}
	return withKind(kind, fmt.Errorf("%s: %d of %d round trips lost, %d corrupt%s", r.Target, r.Lost, r.Sent, r.Corrupt, late))
}

// progress says how far the run got, for Err: " after 12 round trips".
func (r *Result) progress() string {
	switch r.Mode {
	case ModeThroughput:
		return ""
	case ModeConnect:
		return fmt.Sprintf(" after %d connection%s", r.Sent, plural(r.Sent))
	}
	return fmt.Sprintf(" after %d round trip%s", r.Sent, plural(r.Sent))
}

// place is where the run went, for messages: the address connected to,
// once resolved, or else the target's own host and port or path.
func (r *Result) place() string {
	if r.Addr.IsValid() {
		return r.Addr.String()
	}
	return r.Target.Place()
}

// netAddr is where the run went as a net.Addr, for the log: the address
// connected to, or the Unix socket's path; nil when neither is known.
func (r *Result) netAddr() net.Addr {
	switch {
	case r.Target.Unix():
		return &net.UnixAddr{Name: r.Target.Path, Net: r.Target.Network}
	case r.Addr.IsValid():
		return net.TCPAddrFromAddrPort(r.Addr)
	}
	return nil
}

// RPS is intact round trips per second over the run, all connections
// together.
func (r *Result) RPS() float64 {
	if r.Elapsed <= 0 {
		return 0
	}
	return float64(r.Received) / r.Elapsed.Seconds()
}

// SendGbps is the throughput stream's rate out, in Gbit/s.
func (r *Result) SendGbps() float64 { return gbps(r.BytesSent, r.SendFor) }

// ReceiveGbps is the throughput stream's rate back, in Gbit/s, over the
// whole run (the last bytes come back after the writer stops).
func (r *Result) ReceiveGbps() float64 { return gbps(r.BytesReceived, r.Elapsed) }

func gbps(n uint64, d time.Duration) float64 {
	if d <= 0 {
		return 0
	}
	return float64(n) * 8 / d.Seconds() / 1e9
}

// LossPct returns the replies that missed their deadline, lost or late,
// as a percentage of Sent.
func (r *Result) LossPct() float64 {
	if r.Sent == 0 {
		return 0
	}
	return 100 * float64(r.Lost+r.Late) / float64(r.Sent)
}

// merge combines the results of connections that ran in parallel: counts
// add up, distributions merge, the run lasted as long as the longest one,
// connect is the median connection's, and jitter the mean of theirs
// (jitter is only meaningful along one connection).
func merge(rs []*Result) *Result {
	if len(rs) == 1 {
		return rs[0]
	}
	m := *rs[0]
	m.Conns, m.Counts, m.Behind = len(rs), Counts{}, 0
	m.Dist, m.Raw, m.Connects = NewDist(), newDistLike(rs[0].Raw), newDistLike(rs[0].Connects)
	m.BytesSent, m.BytesReceived, m.SendFor = 0, 0, 0
	connects := make([]time.Duration, len(rs))
	var jitter float64
	for i, r := range rs {
		m.Counts.add(r.Counts)
		m.Behind += r.Behind
		m.Dist.merge(&r.Dist)
		if r.Raw != nil {
			m.Raw.merge(r.Raw)
		}
		if r.Connects != nil {
			m.Connects.merge(r.Connects)
		}
		m.Elapsed = max(m.Elapsed, r.Elapsed)
		m.SendFor = max(m.SendFor, r.SendFor)
		m.BytesSent += r.BytesSent
		m.BytesReceived += r.BytesReceived
		connects[i] = r.Connect
		jitter += r.jitter / float64(len(rs))
		if m.Aborted == "" && r.Aborted != "" {
			m.Aborted, m.Interrupted = fmt.Sprintf("connection %d of %d: %s", i+1, len(rs), r.Aborted), r.Interrupted
			if r.failure != nil {
				m.abort(fmt.Errorf("connection %d of %d: %w", i+1, len(rs), r.failure))
			}
		}
	}
	slices.Sort(connects)
	m.Connect = connects[len(connects)/2]
	m.jitter, m.Jitter = jitter, time.Duration(math.Round(jitter))
	return &m
}

// newDistLike returns an empty Dist if d is not nil, else nil.
func newDistLike(d *Dist) *Dist {
	if d == nil {
		return nil
	}
	n := NewDist()
	return &n
}

// Metrics names the run's figures for assertions: latencies in
// nanoseconds, counts, loss in percent and rps in round trips per second.
// Latencies are absent when nothing came back, so that an assertion on
// them fails as not measured instead of passing on a zero. A percentile
// above the histogram's range is there as the range's top; Assert knows it
// for the lower bound it is.
func (r *Result) Metrics() map[string]float64 {
	m := map[string]float64{
		"sent": float64(r.Sent), "received": float64(r.Received), "lost": float64(r.Lost),
		"corrupt": float64(r.Corrupt), "late": float64(r.Late), "dup": float64(r.Dup),
		"reordered": float64(r.Reordered), "loss": r.LossPct(), "rps": r.RPS(),
	}
	if r.Target.Stream() {
		m["connect"] = float64(r.Connect)
	}
	if r.Received == 0 {
		return m
	}
	for _, st := range r.Dist.Stats() {
		m[metricName(st)] = float64(st.Value)
	}
	m["jitter"] = float64(r.Jitter)
	return m
}

// metricName is the name assertions know a statistic by: p99.9 is p999.
func metricName(st Stat) string { return strings.ReplaceAll(st.Name, ".", "") }

// Assert returns nil when every assertion holds for the run's Metrics,
// else an error as CheckAssertions words it. A percentile that landed above
// the histogram's range is known only to exceed its top: an assertion on it
// holds only when it holds for any value that high, so p99<10ms fails and
// p99>1s passes.
func (r *Result) Assert(as []Assertion) error {
	var above map[string]bool
	if r.Received > 0 {
		for _, st := range r.Dist.Stats() {
			if !st.Above {
				continue
			}
			if above == nil {
				above = map[string]bool{}
			}
			above[metricName(st)] = true
		}
	}
	return checkAssertions(as, r.Metrics(), above)
}
