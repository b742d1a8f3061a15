package probe

import (
	"testing"
	"time"
)

// tallied is the Result of a connection whose replies took rtts, in
// order, counted as a run counts them.
func tallied(t Target, o Options, rtts ...time.Duration) *Result {
	r := newResult(t, o)
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
	r := tallied(Target{"tcp", "127.0.0.1", 7}, Options{Size: 64, Warmup: 10, Timeout: time.Second}, append(rtts, 74321)...)
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
	empty := newResult(Target{"udp", "127.0.0.1", 7}, Options{Size: 16})
	if empty.Quantile(50) != 0 || empty.Mean() != 0 || empty.StdDev() != 0 || empty.OK() {
		t.Error("an empty Result reports statistics or OK")
	}
	slow := tallied(Target{"udp", "::1", 7}, Options{Size: 16, Timeout: 2 * time.Minute},
		1500*time.Millisecond, 2*time.Second, 61*time.Second)
	if slow.OutOfRange != 1 || slow.Received != 3 || slow.Max != 61*time.Second || slow.Jitter != 3716796875 || !slow.OK() {
		t.Errorf("out of range %d, received %d, max %v, jitter %d, OK() %v; want 1, 3, 61s, 3716796875, true",
			slow.OutOfRange, slow.Received, slow.Max, slow.Jitter, slow.OK())
	}
}
