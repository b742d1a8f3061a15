package probe

import (
	"math"
	"net/netip"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
)

// histMax is the largest RTT the histogram holds, in nanoseconds. Larger
// ones are counted in Result.OutOfRange.
const histMax = 60e9

// Result is what one run measured.
//
// Every recorded round trip that finished is counted once in Sent, and then
// in exactly one of Received, Lost and Corrupt. A round trip cut short by
// an interruption or an I/O error is in none of them.
type Result struct {
	Target   Target
	Addr     netip.AddrPort // the address probed, after resolving Target.Host
	Size     int            // payload bytes per round trip
	Warmup   int            // round trips done before recording
	Interval time.Duration  // intended gap between sends; 0 = back to back
	Timeout  time.Duration  // per round trip

	Sent     uint64 // recorded round trips that finished
	Received uint64 // replies that came back intact, in time
	Lost     uint64 // no reply before the deadline
	Corrupt  uint64 // a reply came back but differed from what was sent
	Late     uint64 // UDP: intact replies that arrived after their round trip had ended (it was counted lost or corrupt)
	Behind   uint64 // sends that went out late because a round trip overran the interval

	Connect time.Duration // TCP only: time to set up the connection
	Elapsed time.Duration // from the first recorded send to the end of the run

	// Aborted is non-empty when the run stopped early, and says why.
	Aborted string
	// Interrupted is true when the run stopped because its context was
	// cancelled; Aborted is then "interrupted".
	Interrupted bool

	// RTT holds the round-trip times of the received replies in
	// nanoseconds, 1 ns to 60 s at 3 significant digits. Min and Max are
	// exact, whereas the histogram's own are only bucket bounds.
	RTT        *hdrhistogram.Histogram
	Min, Max   time.Duration
	OutOfRange uint64 // received RTTs above 60 s: in Min and Max, not in RTT
}

func newResult(t Target, o Options) *Result {
	return &Result{
		Target:   t,
		Size:     o.Size,
		Warmup:   o.Warmup,
		Interval: o.Interval,
		Timeout:  o.Timeout,
		RTT:      hdrhistogram.New(1, histMax, 3),
	}
}

// record adds the RTT of an intact reply.
func (r *Result) record(d time.Duration) {
	r.Received++
	if r.Received == 1 || d < r.Min {
		r.Min = d
	}
	if d > r.Max {
		r.Max = d
	}
	// The histogram's last bucket reaches past histMax; cut at histMax so
	// that OutOfRange means what the documentation says.
	if d > histMax || r.RTT.RecordValue(int64(d)) != nil {
		r.OutOfRange++
	}
}

// OK reports whether the run proved the target healthy: at least one round
// trip was recorded, every one came back intact, and the run was not
// aborted. An interruption (Ctrl-C) is not a failure, since the user chose
// to stop; what was recorded until then must still be perfect.
func (r *Result) OK() bool {
	return r.Received > 0 && r.Lost == 0 && r.Corrupt == 0 &&
		(r.Aborted == "" || r.Interrupted)
}

// Quantile returns the RTT at percentile pct (a percentage, such as 99.9)
// to the histogram's 3 significant digits, kept within [Min, Max] so that
// quantiles never contradict the exact extremes. It returns 0 when nothing
// was received.
func (r *Result) Quantile(pct float64) time.Duration {
	if r.Received == 0 {
		return 0
	}
	return r.clamp(float64(r.RTT.ValueAtQuantile(pct)))
}

// Mean returns the mean RTT to the histogram's precision, or 0 when nothing
// was received.
func (r *Result) Mean() time.Duration {
	if r.Received == 0 {
		return 0
	}
	return r.clamp(r.RTT.Mean())
}

// StdDev returns the standard deviation of the RTT to the histogram's
// precision, or 0 when fewer than two replies were received.
func (r *Result) StdDev() time.Duration {
	if r.Received < 2 {
		return 0
	}
	return time.Duration(math.Round(r.RTT.StdDev()))
}

// LossPct returns Lost as a percentage of Sent.
func (r *Result) LossPct() float64 {
	if r.Sent == 0 {
		return 0
	}
	return 100 * float64(r.Lost) / float64(r.Sent)
}

func (r *Result) clamp(ns float64) time.Duration {
	d := time.Duration(math.Round(ns))
	return min(max(d, r.Min), r.Max)
}
