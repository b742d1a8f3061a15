package main

import (
	"encoding/json"
	"strings"
	"testing"
)

// Each fault's round trip: serve misbehaves as asked, and the probe, as a
// client would, measures it back.

// probeJSON runs the probe with --json and returns its summary.
func probeJSON(t *testing.T, args ...string) map[string]any {
	t.Helper()
	out, stderr, _ := runCLI(t, nil, append([]string{"probe", "--json", "--log-level", "error"}, args...)...)
	var got map[string]any
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("probe %v: stdout is not JSON: %v\n%s%s", args, err, out, stderr)
	}
	return got
}

// stopped returns the fields of serve's stop summary, once it has stopped.
func stopped(t *testing.T, s *served) map[string]any {
	t.Helper()
	if err := s.shutdown(t); err != nil {
		t.Fatal(err)
	}
	for line := range strings.SplitSeq(s.stderr.String(), "\n") {
		var e map[string]any
		if json.Unmarshal([]byte(line), &e) == nil && e["message"] == "stopped" {
			return e
		}
	}
	t.Fatalf("no stop summary:\n%s", s.stderr)
	return nil
}

func TestFaultDelayIsMeasuredBack(t *testing.T) {
	t.Parallel()
	s := startServe(t, 2, "--delay", "5ms", "--jitter", "1ms")
	for _, url := range []string{s.tcp, s.udp} {
		got := probeJSON(t, url, "--count", "100")
		p50 := got["rtt_us"].(map[string]any)["p50"].(float64)
		// 5 ms ± 1 ms of delay, plus a round trip of tens of microseconds
		// and a busy machine's wake-up; the median of 100 sits well inside.
		if p50 < 4500 || p50 > 7000 {
			t.Errorf("%s: p50 %.0f µs; want about 5000 µs", url, p50)
		}
	}
	if e := stopped(t, s); e["tcp_delayed"].(float64) < 100 || e["udp_delayed"].(float64) < 100 {
		t.Errorf("stop summary counts %v TCP and %v UDP delayed echoes; want 110 each", e["tcp_delayed"], e["udp_delayed"])
	}
}

func TestFaultLossCountsTheSameOnBothEnds(t *testing.T) {
	t.Parallel()
	s := startServe(t, 1, "--proto", "udp", "--loss", "0.1", "--seed", "1")
	got := probeJSON(t, s.udp, "--count", "300", "--warmup", "0", "--timeout", "100ms")
	e := stopped(t, s)
	if got["lost"] != e["udp_lost"] || got["lost"].(float64) < 10 {
		t.Errorf("the probe lost %v of %v, the server dropped %v; want the same, about 30", got["lost"], got["sent"], e["udp_lost"])
	}
}

func TestFaultBandwidthIsMeasuredBack(t *testing.T) {
	t.Parallel()
	s := startServe(t, 1, "--proto", "tcp", "--bandwidth", "1MB/s")
	got := probeJSON(t, s.tcp, "--mode", "throughput", "--duration", "1s")
	// 1 MB/s is 8 Mbit/s. Pacing must never let the echo run faster than
	// asked (10% for rounding: the report has three decimals); slower is
	// what a starved CPU does on a busy machine, so only a rate far below
	// says the pacing itself is wrong.
	if gbps := got["receive_gbit_s"].(float64); gbps < 0.0050 || gbps > 0.0088 {
		t.Errorf("received at %.4f Gbit/s; want about 0.008, and never above", gbps)
	}
}
