package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestProbeTraceNarratesTheClientSide: probe --trace tells the first
// connection's life over each kind of socket: the connect, the first
// measured round trips, how many more went untold, and the close. The
// narration, with times, ports and paths masked, is the golden file.
func TestProbeTraceNarratesTheClientSide(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	ip := startServe(t, 2)
	unix := startServe(t, 2, "--unix", filepath.Join(dir, "echo.sock"), "--unixgram", filepath.Join(dir, "echo.dgram"))
	var got strings.Builder
	for _, run := range [][]string{
		{ip.tcp}, {ip.tcp, "--split"}, {ip.udp}, {unix.unix}, {unix.unixgram},
	} {
		args := append([]string{"probe", "--trace", "--count", "7", "--warmup", "2"}, run...)
		out, stderr, code := runCLI(t, nil, args...)
		if code != 0 || !strings.Contains(out, "received 7") {
			t.Fatalf("%v: exit %d\n%s%s", args, code, out, stderr)
		}
		got.WriteString("$ loopback " + strings.Join(args, " ") + "\n" + stderr)
	}
	masked := got.String()
	for _, m := range []struct{ re, with string }{
		{`\d\d:\d\d:\d\d\.\d{3}`, "HH:MM:SS.mmm"},
		{`127\.0\.0\.1:\d+`, "127.0.0.1:PORT"},
		{`after [0-9.]+ (µs|ms|s)`, "after N µs"},
		{regexp.QuoteMeta(dir), "DIR"},
		{`/\S*/loopback-probe-\d+/`, "TMP/loopback-probe-N/"},
	} {
		masked = regexp.MustCompile(m.re).ReplaceAllString(masked, m.with)
	}
	golden := filepath.Join("testdata", "probe-trace.golden")
	if *update {
		os.WriteFile(golden, []byte(masked), 0o644)
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if masked != string(want) {
		t.Errorf("narration differs from %s (go test -run %s -update to rewrite):\n%s", golden, t.Name(), masked)
	}
}

// TestProbeTraceIsForRoundTrips: the other modes have no round trips to
// tell, and say so before anything connects.
func TestProbeTraceIsForRoundTrips(t *testing.T) {
	t.Parallel()
	_, stderr, code := runCLI(t, nil, "probe", "tcp://127.0.0.1:7", "--trace", "--mode", "connect")
	if code != 2 || !strings.Contains(stderr, "--trace tells round trips one by one: --mode rtt only") {
		t.Errorf("exit %d, %q; want a usage error", code, stderr)
	}
}
