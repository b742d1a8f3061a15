package probe

import (
	"math"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
)

// histMax is the largest value a Dist's histogram holds, in nanoseconds.
// Larger ones are counted in Dist.OutOfRange.
const histMax = 60e9

// Dist is a distribution of durations: an HDR histogram in nanoseconds,
// 1 ns to 60 s at 3 significant digits, with the exact Min and Max beside
// it, since the histogram's own are only bucket bounds.
type Dist struct {
	RTT        *hdrhistogram.Histogram
	Min, Max   time.Duration
	OutOfRange uint64 // values above 60 s: in Min and Max, not in RTT
	n          uint64
}

// NewDist returns the distribution of values, empty without any.
func NewDist(values ...time.Duration) Dist {
	d := Dist{RTT: hdrhistogram.New(1, histMax, 3)}
	for _, v := range values {
		d.record(v)
	}
	return d
}

// record adds one value.
func (d *Dist) record(v time.Duration) {
	d.n++
	if d.n == 1 || v < d.Min {
		d.Min = v
	}
	d.Max = max(d.Max, v)
	// The histogram's last bucket reaches past histMax; cut at histMax so
	// that OutOfRange means what the documentation says.
	if v > histMax || d.RTT.RecordValue(int64(v)) != nil {
		d.OutOfRange++
	}
}

// merge adds o's values to d.
func (d *Dist) merge(o *Dist) {
	if o.n == 0 {
		return
	}
	if d.n == 0 || o.Min < d.Min {
		d.Min = o.Min
	}
	d.Max = max(d.Max, o.Max)
	d.n += o.n
	d.OutOfRange += o.OutOfRange
	d.RTT.Merge(o.RTT)
}

// reset empties d for reuse.
func (d *Dist) reset() {
	d.RTT.Reset()
	d.Min, d.Max, d.OutOfRange, d.n = 0, 0, 0, 0
}

// Count is how many values were recorded.
func (d *Dist) Count() uint64 { return d.n }

// Quantile returns the value at percentile pct (a percentage, such as
// 99.9) to the histogram's 3 significant digits, kept within [Min, Max] so
// that quantiles never contradict the exact extremes. It returns 0 when
// nothing was recorded.
func (d *Dist) Quantile(pct float64) time.Duration {
	if d.n == 0 {
		return 0
	}
	return d.clamp(float64(d.RTT.ValueAtQuantile(pct)))
}

// Mean returns the mean to the histogram's precision, or 0 when nothing
// was recorded.
func (d *Dist) Mean() time.Duration {
	if d.n == 0 {
		return 0
	}
	return d.clamp(d.RTT.Mean())
}

// StdDev returns the standard deviation to the histogram's precision, or 0
// when fewer than two values were recorded.
func (d *Dist) StdDev() time.Duration {
	if d.n < 2 {
		return 0
	}
	return time.Duration(math.Round(d.RTT.StdDev()))
}

func (d *Dist) clamp(ns float64) time.Duration {
	v := time.Duration(math.Round(ns))
	return min(max(v, d.Min), d.Max)
}

// Stat is one named statistic of a Dist.
type Stat struct {
	Name  string // min, mean, stddev, p50, p90, p99, p99.9 or max
	Value time.Duration
}

// Stats returns the statistics every report shows, in the order of the
// text report's table; Result.Metrics names its latencies after them.
func (d *Dist) Stats() [8]Stat {
	return [...]Stat{{"min", d.Min}, {"mean", d.Mean()}, {"stddev", d.StdDev()},
		{"p50", d.Quantile(50)}, {"p90", d.Quantile(90)}, {"p99", d.Quantile(99)},
		{"p99.9", d.Quantile(99.9)}, {"max", d.Max}}
}
