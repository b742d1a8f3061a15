package probe

import (
	"math"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
)

// histMax is the largest value a Dist's histogram holds, in nanoseconds:
// the top of its range. Larger ones are counted in Dist.AboveRange.
const histMax = 60e9

// HistMax is the top of a Dist's histogram range: 60 s.
const HistMax = time.Duration(histMax)

// Dist is a distribution of durations: an HDR histogram in nanoseconds,
// 1 ns to 60 s at 3 significant digits, with the exact Min and Max beside
// it, since the histogram's own are only bucket bounds.
//
// A value above the histogram's range is not in RTT, but it counts in
// every statistic all the same: exactly in Min, Max, Mean and StdDev, and
// as "above range" in the percentiles that land among such values (see
// Quantile). Leaving it out would make one stalled round trip vanish from
// the tail it belongs to.
type Dist struct {
	RTT        *hdrhistogram.Histogram
	Min, Max   time.Duration
	AboveRange uint64 // values above 60 s, not in RTT
	// aboveSum and aboveSq are the sum of the values above range and of
	// their squares, in nanoseconds, for the mean and the deviation.
	aboveSum, aboveSq float64
	n                 uint64
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
	// that AboveRange means what the documentation says.
	if v > histMax || d.RTT.RecordValue(int64(v)) != nil {
		d.AboveRange++
		d.aboveSum += float64(v)
		d.aboveSq += float64(v) * float64(v)
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
	d.AboveRange += o.AboveRange
	d.aboveSum += o.aboveSum
	d.aboveSq += o.aboveSq
	d.RTT.Merge(o.RTT)
}

// reset empties d for reuse.
func (d *Dist) reset() {
	d.RTT.Reset()
	d.Min, d.Max, d.AboveRange, d.n = 0, 0, 0, 0
	d.aboveSum, d.aboveSq = 0, 0
}

// Count is how many values were recorded.
func (d *Dist) Count() uint64 { return d.n }

// Quantile returns the value at percentile pct (a percentage, such as
// 99.9) to the histogram's 3 significant digits, kept within [Min, Max] so
// that quantiles never contradict the exact extremes. It returns 0 when
// nothing was recorded.
//
// A percentile that lands among the values above the histogram's range is
// known only to be above it: Quantile returns the range's top, 60 s (or
// Min, if every value is above), and Above(pct) reports true.
func (d *Dist) Quantile(pct float64) time.Duration {
	if d.n == 0 {
		return 0
	}
	if d.AboveRange == 0 {
		return d.clamp(float64(d.RTT.ValueAtQuantile(pct)))
	}
	rank, in := d.rank(pct), d.n-d.AboveRange
	if rank > in {
		return d.clamp(histMax)
	}
	// The same rank among the values the histogram holds: they are the
	// lowest, so the rank is theirs too.
	q := 100 * float64(rank) / float64(in)
	if pct <= 0 {
		q = 0 // the minimum, as without values above range
	}
	return d.clamp(float64(d.RTT.ValueAtQuantile(q)))
}

// Above reports whether percentile pct lands among the values above the
// histogram's range, so that Quantile(pct) is a lower bound.
func (d *Dist) Above(pct float64) bool {
	return d.AboveRange > 0 && d.rank(pct) > d.n-d.AboveRange
}

// rank is the position of percentile pct among the values, from 1, counted
// as HdrHistogram's ValueAtQuantile counts it.
func (d *Dist) rank(pct float64) uint64 {
	pct = min(max(pct, 0), 100)
	return max(uint64(pct/100*float64(d.n)+0.5), 1)
}

// Mean returns the mean to the histogram's precision, or 0 when nothing
// was recorded.
func (d *Dist) Mean() time.Duration {
	if d.n == 0 {
		return 0
	}
	if d.AboveRange == 0 {
		return d.clamp(d.RTT.Mean())
	}
	in := float64(d.n - d.AboveRange)
	return d.clamp((d.RTT.Mean()*in + d.aboveSum) / float64(d.n))
}

// StdDev returns the (population) standard deviation to the histogram's
// precision, or 0 when fewer than two values were recorded.
func (d *Dist) StdDev() time.Duration {
	if d.n < 2 {
		return 0
	}
	if d.AboveRange == 0 {
		return time.Duration(math.Round(d.RTT.StdDev()))
	}
	// Combine the histogram's moments with the exact ones of the values
	// above it: E[x²] - E[x]².
	in, n := float64(d.n-d.AboveRange), float64(d.n)
	m, sd := d.RTT.Mean(), d.RTT.StdDev()
	mean := (m*in + d.aboveSum) / n
	v := (in*(sd*sd+m*m)+d.aboveSq)/n - mean*mean
	return time.Duration(math.Round(math.Sqrt(max(v, 0))))
}

func (d *Dist) clamp(ns float64) time.Duration {
	v := time.Duration(math.Round(ns))
	return min(max(v, d.Min), d.Max)
}

// Stat is one named statistic of a Dist.
type Stat struct {
	Name  string // min, mean, stddev, p50, p90, p99, p99.9 or max
	Value time.Duration
	// Above is true for a percentile that lands above the histogram's
	// range: Value is then only a lower bound (see Dist.Quantile).
	Above bool
}

// Stats returns the statistics every report shows, in the order of the
// text report's table; Result.Metrics names its latencies after them.
func (d *Dist) Stats() [8]Stat {
	pct := func(name string, p float64) Stat { return Stat{name, d.Quantile(p), d.Above(p)} }
	return [...]Stat{{Name: "min", Value: d.Min}, {Name: "mean", Value: d.Mean()}, {Name: "stddev", Value: d.StdDev()},
		pct("p50", 50), pct("p90", 90), pct("p99", 99), pct("p99.9", 99.9), {Name: "max", Value: d.Max}}
}
