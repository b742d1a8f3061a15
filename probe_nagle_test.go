package main

import (
	"testing"
)

// TestProbeSplitShowsNagle: against a server that answers only whole
// messages, a request sent in two writes with Nagle's algorithm on waits
// for the server's delayed ACK before its second half leaves (about 40 ms
// on Linux); with TCP_NODELAY, the default, it does not. The medians are
// compared with each other, never with a fixed time.
func TestProbeSplitShowsNagle(t *testing.T) {
	t.Parallel()
	s := startServe(t, 1, "--proto", "tcp", "--message-size", "64")
	// The warm-up rides out the quick ACKs a new connection starts with.
	p50 := func(args ...string) float64 {
		t.Helper()
		got := probeJSON(t, append([]string{s.tcp, "--size", "64", "--count", "20", "--warmup", "10", "--split"}, args...)...)
		rtt, ok := got["rtt_us"].(map[string]any)
		if got["ok"] != true || !ok {
			t.Fatalf("probe %v: %v", args, got)
		}
		return rtt["p50"].(float64)
	}
	nagle, nodelay := p50("--nodelay=false"), p50()
	t.Logf("median round trip of a split request: %.1f µs with Nagle, %.1f µs with TCP_NODELAY", nagle, nodelay)
	if nagle < 10*nodelay {
		t.Errorf("median %.1f µs with Nagle, %.1f µs without; want the stall at least 10 times as long", nagle, nodelay)
	}
}
