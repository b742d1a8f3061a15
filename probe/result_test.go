package probe

import (
	"testing"
	"time"
)

// tallied is the Result of a connection whose replies took rtts, in
// order, counted as a run counts them.
func tallied(t Target, o Options, rtts ...time.Duration) *Result {
	r := NewResult(t, o)
	tl := newTally(o, 0, time.Now(), false)
	for i, rtt := range rtts {
		tl.intact(uint64(o.Warmup+i), time.Now(), rtt, rtt)
	}
	tl.fill(r)
	return r
}

func TestResultStats(t *testing.T) {
	t.Parallel()
	var rtts []time.Duration
	for i := range 1000 {
		rtt := 17900 + time.Duration(i*7919%4000)
		if i%100 == 0 {
			rtt += 15000
		}
		rtts = append(rtts, rtt)
	}
	r := tallied(Target{"tcp", "127.0.0.1", 7, ""}, Options{Size: 64, Warmup: 10, Timeout: time.Second}, append(rtts, 74321)...)
	// The histogram keeps 3 significant digits: p99.9 of this data is a
	// bucket bound above the exact max unless clamped.
	if got := r.Quantile(100); got != 74321 {
		t.Errorf("Quantile(100) = %d, want the exact max 74321", got)
	}
	if got := r.Quantile(0); got != r.Min || r.Min != 17905 {
		t.Errorf("Quantile(0) = %d, min %d; want both the exact min 17905", got, r.Min)
	}
	if mean := r.Mean(); mean < 19900 || mean > 20200 {
		t.Errorf("Mean() = %v, want about 20.05µs", mean)
	}
	// The report's golden files show this jitter for these RTTs.
	if r.Jitter != 3528 || r.Sent != 1001 || r.Received != 1001 || !r.OK() {
		t.Errorf("jitter %d, sent %d, received %d, OK() %v; want 3528, 1001, 1001, true", r.Jitter, r.Sent, r.Received, r.OK())
	}
	empty := NewResult(Target{"udp", "127.0.0.1", 7, ""}, Options{Size: 16})
	if empty.Quantile(50) != 0 || empty.Mean() != 0 || empty.StdDev() != 0 || empty.OK() {
		t.Error("an empty Result reports statistics or OK")
	}
	slow := tallied(Target{"udp", "::1", 7, ""}, Options{Size: 16, Timeout: 2 * time.Minute},
		1500*time.Millisecond, 2*time.Second, 61*time.Second)
	if slow.AboveRange != 1 || slow.Received != 3 || slow.Max != 61*time.Second || slow.Jitter != 3716796875 || !slow.OK() {
		t.Errorf("out of range %d, received %d, max %v, jitter %d, OK() %v; want 1, 3, 61s, 3716796875, true",
			slow.AboveRange, slow.Received, slow.Max, slow.Jitter, slow.OK())
	}
}

// TestAboveRangeCounts: a round trip above the histogram's 60 s (injected
// into the tally, not waited for) takes its place in every statistic. One
// 61 s round trip among three once left p99 at 2 s and let p99<10ms pass.
func TestAboveRangeCounts(t *testing.T) {
	t.Parallel()
	r := tallied(Target{"udp", "::1", 7, ""}, Options{Size: 16, Timeout: 2 * time.Minute},
		1500*time.Millisecond, 2*time.Second, 61*time.Second)
	if r.AboveRange != 1 || r.Received != 3 || r.Max != 61*time.Second || r.RTT.TotalCount() != 2 {
		t.Fatalf("above range %d, received %d, max %v, in the histogram %d; want 1, 3, 61s, 2", r.AboveRange, r.Received, r.Max, r.RTT.TotalCount())
	}
	// The median is the second of three; p90 and up are the third.
	for _, tt := range []struct {
		pct   float64
		want  time.Duration
		above bool
	}{{0, 1500 * time.Millisecond, false}, {50, 2000683007, false}, {90, HistMax, true}, {99, HistMax, true}, {100, HistMax, true}} {
		if got, above := r.Quantile(tt.pct), r.Above(tt.pct); got != tt.want || above != tt.above {
			t.Errorf("p%v = %v, above %v; want %v, %v", tt.pct, got, above, tt.want, tt.above)
		}
	}
	// Mean and deviation as of 1.5 s, 2 s and 61 s, to the histogram's
	// precision: 21.5 s and 27.93 s.
	if m, sd := r.Mean(), r.StdDev(); m < 21499*time.Millisecond || m > 21501*time.Millisecond || sd < 27930*time.Millisecond || sd > 27933*time.Millisecond {
		t.Errorf("mean %v, stddev %v; want about 21.5s and 27.93s", m, sd)
	}
	for _, tt := range []struct{ assert, want string }{
		{"p99<10ms", "assert p99<10ms failed: p99 > 60.0 s (above the histogram's range)"},
		{"p99<=120s", "assert p99<=120s failed: p99 > 60.0 s (above the histogram's range)"},
		{"p90=60s", "assert p90=60s failed: p90 > 60.0 s (above the histogram's range)"},
		{"p99>1s,p999>=60s,p99!=10ms,p50<3s,max>60s", ""}, // what a value above 60 s proves
	} {
		as, err := ParseAssertions(tt.assert)
		if err != nil {
			t.Fatal(err)
		}
		if got := assertErrText(r.Assert(as)); got != tt.want {
			t.Errorf("Assert(%s) = %q, want %q", tt.assert, got, tt.want)
		}
	}
}

// TestAboveRangeMerges: connections that ran in parallel, and the
// intervals of a report, keep their values above range in the merge.
func TestAboveRangeMerges(t *testing.T) {
	t.Parallel()
	o := Options{Size: 16, Timeout: 2 * time.Minute}
	a := tallied(Target{"udp", "::1", 7, ""}, o, time.Millisecond, 61*time.Second)
	b := tallied(Target{"udp", "::1", 7, ""}, o, time.Millisecond, time.Millisecond)
	m := merge([]*Result{a, b})
	alone := NewDist(time.Millisecond, time.Millisecond, time.Millisecond, 61*time.Second)
	if m.AboveRange != 1 || m.Mean() != alone.Mean() || m.StdDev() != alone.StdDev() || !m.Above(99) || m.Above(50) {
		t.Errorf("merged: above %d, mean %v, stddev %v, p99 above %v; want 1, %v, %v, true",
			m.AboveRange, m.Mean(), m.StdDev(), m.Above(99), alone.Mean(), alone.StdDev())
	}
	m.Dist.reset()
	if m.AboveRange != 0 || m.Mean() != 0 || m.Above(99) {
		t.Error("reset kept values above range")
	}
}
