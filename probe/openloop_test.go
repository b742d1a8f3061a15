package probe

import (
	"testing"
	"time"
)

// TestCorrectedTimingShowsAStall is the coordinated-omission check: a
// server that stalls once for 200 ms delays one reply (the raw tail barely
// notices one slow sample in 500) but also every send that was due during
// the stall, which the corrected timing charges from when each was due.
func TestCorrectedTimingShowsAStall(t *testing.T) {
	t.Parallel()
	const stall = 200 * time.Millisecond
	target := serveTCP(t, tcpEchoWith(64, func(seq uint64, _ []byte) bool {
		if seq == 50 {
			time.Sleep(stall) // the fault under test, not a synchronisation
		}
		return true
	}))
	r, err := Run(t.Context(), target, Options{Count: 500, Size: 64, Interval: time.Millisecond, Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if r.Raw == nil || r.Received != 500 {
		t.Fatalf("raw %v, received %d; want a raw distribution and 500 replies", r.Raw, r.Received)
	}
	raw, corrected := r.Raw.Quantile(99), r.Quantile(99)
	// About 200 sends were due during the stall, 40% of the run, so the
	// corrected p99 is most of the stall; the raw p99 is one sample's luck.
	if corrected < stall/2 || raw > stall/4 {
		t.Errorf("p99 corrected %v, raw %v; want corrected >= %v and raw <= %v", corrected, raw, stall/2, stall/4)
	}
	if r.Behind < 100 {
		t.Errorf("behind = %d, want the ~200 sends due during the stall", r.Behind)
	}
	if r.Max < stall || r.Raw.Max < stall {
		t.Errorf("max corrected %v, raw %v; both must hold the stalled reply", r.Max, r.Raw.Max)
	}
}

func TestConcurrencyMergesConnections(t *testing.T) {
	t.Parallel()
	target := serveTCP(t, tcpEcho)
	r, err := Run(t.Context(), target, Options{Count: 200, Size: 64, Timeout: 5 * time.Second, Concurrency: 4})
	if err != nil {
		t.Fatal(err)
	}
	if r.Conns != 4 || r.Sent != 800 || r.Received != 800 || r.Count() != 800 || !r.OK() {
		t.Errorf("conns %d, sent %d, received %d, histogram %d, ok %v; want 4 connections of 200",
			r.Conns, r.Sent, r.Received, r.Count(), r.OK())
	}
	if r.RPS() <= 0 || r.Connect <= 0 || r.Jitter <= 0 {
		t.Errorf("rps %v, connect %v, jitter %v; want all positive", r.RPS(), r.Connect, r.Jitter)
	}
	checkOrdered(t, r)
}
