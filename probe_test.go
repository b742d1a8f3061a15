package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/loopback-dev/loopback/config"
	"github.com/loopback-dev/loopback/probe"
)

func TestProbeJSONHasTheDocumentedFields(t *testing.T) {
	t.Parallel()
	s := startServe(t, 2)
	for _, url := range []string{s.tcp, s.udp} {
		out, stderr, code := runCLI(t, nil, "probe", url, "--count", "50", "--json")
		if code != 0 {
			t.Fatalf("exit %d: %s", code, stderr)
		}
		var got map[string]any
		if err := json.Unmarshal([]byte(out), &got); err != nil {
			t.Fatalf("stdout is not one JSON object: %v\n%s", err, out)
		}
		for _, k := range []string{"target", "proto", "size", "sent", "received", "lost", "corrupt", "rtt_us"} {
			if _, ok := got[k]; !ok {
				t.Errorf("%s: JSON lacks %q: %s", url, k, out)
			}
		}
		rtt, _ := got["rtt_us"].(map[string]any)
		for _, k := range []string{"min", "mean", "stddev", "p50", "p90", "p99", "p999", "max"} {
			if v, ok := rtt[k].(float64); !ok || v <= 0 {
				t.Errorf("%s: rtt_us.%s = %v, want a positive number", url, k, rtt[k])
			}
		}
		_, hasConnect := got["connect_us"]
		if isTCP := strings.HasPrefix(url, "tcp"); hasConnect != isTCP {
			t.Errorf("%s: connect_us present = %v", url, hasConnect)
		}
		if got["target"] != url || got["sent"] != 50.0 || got["received"] != 50.0 || got["lost"] != 0.0 {
			t.Errorf("%s: target/sent/received/lost = %v/%v/%v/%v", url, got["target"], got["sent"], got["received"], got["lost"])
		}
	}
}

func TestProbeNothingListening(t *testing.T) {
	t.Parallel()
	for _, network := range []string{"tcp", "udp"} {
		ln, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		port := ln.LocalAddr().(*net.UDPAddr).Port
		ln.Close() // the port is now free for both protocols, as far as this test can tell
		_, stderr, code := runCLI(t, nil, "probe", fmt.Sprintf("%s://127.0.0.1:%d", network, port), "--count", "3")
		want := fmt.Sprintf("loopback: connection refused: nothing listening on 127.0.0.1:%d\n", port)
		if code != 1 || !strings.HasSuffix(stderr, want) {
			t.Errorf("%s: exit %d, stderr %q; want exit 1 and %q", network, code, stderr, want)
		}
	}
}

// TestProbeCountsAMisbehavingServerAndExits1 runs the CLI against a UDP
// echo that drops the 3rd datagram and corrupts one byte of the 5th.
func TestProbeCountsAMisbehavingServerAndExits1(t *testing.T) {
	t.Parallel()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	pc.SetDeadline(time.Now().Add(cliTimeout))
	served := make(chan struct{})
	go func() {
		defer close(served)
		buf := make([]byte, 65536)
		for i := 1; ; i++ {
			n, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			switch i {
			case 3:
				continue
			case 5:
				buf[n-1] ^= 0xff
			}
			pc.WriteTo(buf[:n], from)
		}
	}()
	defer func() { pc.Close(); <-served }()

	url := "udp://" + pc.LocalAddr().String()
	out, stderr, code := runCLI(t, nil, "probe", url, "--count", "10", "--warmup", "0", "--timeout", "200ms", "--json")
	var got struct {
		Sent, Received, Lost, Corrupt int
		Error                         struct{ Code string }
	}
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("stdout is not JSON: %v\n%s", err, out)
	}
	if got.Sent != 10 || got.Received != 8 || got.Lost != 1 || got.Corrupt != 1 || got.Error.Code != "lost" {
		t.Errorf("sent/received/lost/corrupt = %d/%d/%d/%d, error %q; want 10/8/1/1, lost", got.Sent, got.Received, got.Lost, got.Corrupt, got.Error.Code)
	}
	want := fmt.Sprintf("loopback: %s: 1 of 10 round trips lost, 1 corrupt\n", url)
	if code != 1 || stderr != want {
		t.Errorf("exit %d, stderr %q; want exit 1 and %q", code, stderr, want)
	}
}

func TestProbeAssertAndHgrm(t *testing.T) {
	t.Parallel()
	s := startServe(t, 2)
	hgrm := filepath.Join(t.TempDir(), "rtt.hgrm")
	_, stderr, code := runCLI(t, nil, "probe", s.udp, "--count", "50", "--hgrm", hgrm, "--assert", "loss=0,received=50,p50<10s")
	if code != 0 {
		t.Fatalf("passing assertions: exit %d: %s", code, stderr)
	}
	if b, err := os.ReadFile(hgrm); err != nil || !strings.Contains(string(b), "Value   Percentile   TotalCount 1/(1-Percentile)") {
		t.Errorf("hgrm file: %v\n%s", err, b)
	}
	_, stderr, code = runCLI(t, nil, "probe", s.tcp, "--count", "50", "--assert", "p50<1ns")
	if code != 1 || !strings.Contains(stderr, "assert p50<1ns failed: p50 = ") {
		t.Errorf("failing assertion: exit %d, stderr %q", code, stderr)
	}
	_, stderr, code = runCLI(t, nil, "probe", s.tcp, "--assert", "p50<1")
	if code != 2 || !strings.Contains(stderr, "--assert: ") {
		t.Errorf("bad assertion: exit %d, stderr %q", code, stderr)
	}
}

func TestProbeJSONLinesAndCSV(t *testing.T) {
	t.Parallel()
	s := startServe(t, 2)
	// 150 datagrams fit in the sockets' receive buffers (about 270 of this
	// size), and the timeout is long: a test machine busy enough to stall
	// the server or the probe for a while delays replies but loses none.
	out, stderr, code := runCLI(t, nil, "probe", s.udp, "--rate", "500", "--count", "150", "--timeout", "10s", "--output", "jsonl", "--report-every", "100ms")
	if code != 0 {
		t.Fatalf("jsonl: exit %d: %s", code, stderr)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	var sent float64
	for i, l := range lines {
		var obj map[string]any
		if err := json.Unmarshal([]byte(l), &obj); err != nil {
			t.Fatalf("line %d is not JSON: %v\n%s", i+1, err, l)
		}
		if i < len(lines)-1 {
			if obj["interval"] != true {
				t.Errorf("line %d is not an interval: %s", i+1, l)
			}
			sent += obj["sent"].(float64)
		} else if obj["sent"] != 150.0 || obj["interval"] != nil {
			t.Errorf("last line is not the summary of 150 round trips: %s", l)
		}
	}
	if len(lines) < 3 || sent != 150 {
		t.Errorf("%d lines whose intervals sent %v in all, want at least 2 intervals adding up to 150", len(lines), sent)
	}

	out, stderr, code = runCLI(t, nil, "probe", s.tcp, "--count", "20", "--warmup", "0", "--output", "csv", "--concurrency", "2")
	rows := strings.Split(strings.TrimSpace(out), "\n")
	perConn := map[string]int{}
	for _, r := range rows[1:] {
		if f := strings.Split(r, ","); len(f) == 5 && f[4] == "ok" {
			perConn[f[0]]++
		}
	}
	if code != 0 || len(rows) != 41 || rows[0] != "conn,seq,sent_ns,rtt_ns,outcome" || perConn["0"] != 20 || perConn["1"] != 20 {
		t.Errorf("csv: exit %d, %d rows (want header + 20 ok rows from each of 2 connections), stderr %q:\n%s", code, len(rows), stderr, out)
	}
}

func TestProbeTargetAndInterleavedFlags(t *testing.T) {
	t.Parallel()
	c, err := loadProbe([]string{"--size", "100", "udp://[::1]:7", "--count", "3", "--json"}, nil, &bytes.Buffer{}, &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	if c.Target.String() != "udp://[::1]:7" || c.Size != 100 || c.Count != 3 || c.Output != outputJSON || c.Warmup != 10 || c.Timeout != time.Second {
		t.Errorf("got %+v", c)
	}
}

func TestProbeOptions(t *testing.T) {
	t.Parallel()
	c, err := loadProbe([]string{"tcp://127.0.0.1:7", "--rate", "100", "--concurrency", "4", "--mode", "throughput", "--output", "jsonl"},
		nil, &bytes.Buffer{}, &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	o := c.options()
	if o.Interval != 40*time.Millisecond || o.Concurrency != 4 || o.Duration != defaultStream || o.Mode != probe.ModeThroughput || c.Every != time.Second {
		t.Errorf("options = %+v, report every %v; want 40ms apart on each of 4 connections, streaming %v, reporting each 1s", o, c.Every, defaultStream)
	}
}

func TestProbeRefusesUselessValues(t *testing.T) {
	t.Parallel()
	const url = "tcp://127.0.0.1:7"
	tests := []struct {
		name    string
		args    []string
		environ []string
		want    string
	}{
		{"no url", nil, nil, "probe takes one URL"},
		{"two urls", []string{url, "tcp://127.0.0.1:2"}, nil, "probe takes one URL"},
		{"bad scheme", []string{"http://127.0.0.1:7"}, nil, `target "http://127.0.0.1:7": scheme must be tcp://, udp://, unix:// or unixgram://`},
		{"udp size", []string{"udp://127.0.0.1:7", "--size", "65508"}, nil, "size 65508: must be 16-65507 bytes for udp"},
		{"env size", []string{"udp://127.0.0.1:7"}, []string{"LOOPBACK_PROBE_SIZE=8"}, "LOOPBACK_PROBE_SIZE=8: must be 16-65507 bytes for udp"},
		{"old env size", []string{"udp://127.0.0.1:7"}, []string{"LOOPBACK_SIZE=8"}, "LOOPBACK_SIZE=8: must be 16-65507 bytes for udp"},
		{"huge rate", []string{url, "--rate", "2e9"}, nil, "--rate: 2e+09 round trips per second over 1 connections is more than one per nanosecond"},
		{"hgrm in no directory", []string{url, "--hgrm", "/nonexistent/x"}, nil, "--hgrm /nonexistent/x: directory /nonexistent does not exist"},
		{"hgrm a directory", []string{url}, []string{"LOOPBACK_PROBE_HGRM=" + os.TempDir()}, "LOOPBACK_PROBE_HGRM=" + os.TempDir() + ": is a directory"},
		{"zero count", []string{url, "--count", "0"}, nil, "count 0: need at least 1 round trip, or a duration"},
		{"negative count", []string{url, "--count", "-1"}, nil, `--count: "-1" is not a whole number`},
		{"zero timeout", []string{url, "--timeout", "0"}, nil, "timeout 0s: must be positive"},
		{"udp connect", []string{"udp://127.0.0.1:7", "--mode", "connect"}, nil, "mode connect: measures streams only (tcp or unix)"},
		{"csv of a stream", []string{url, "--mode", "throughput", "--output", "csv"}, nil,
			"--mode throughput has no per-round-trip rows for csv; use text, json or jsonl"},
		{"json and text", []string{url, "--json"}, []string{"LOOPBACK_PROBE_OUTPUT=text"}, "--json and LOOPBACK_PROBE_OUTPUT text disagree"},
		{"no connections", []string{url, "--concurrency", "0"}, nil, "--concurrency: 0 connections would measure nothing"},
		{"rate and interval", []string{url, "--rate", "10"}, []string{"LOOPBACK_PROBE_INTERVAL=1s"}, "--rate and LOOPBACK_PROBE_INTERVAL both set the schedule"},
		{"tiny rate", []string{url, "--rate", "0.0001"}, nil, "--rate: 0.0001 round trips per second is less than one in 1000 s"},
		{"split datagrams", []string{"udp://127.0.0.1:7", "--split"}, nil, "--split: only the requests of a stream's round trips can be split (tcp or unix, mode rtt)"},
		{"nagle on unix", []string{"unix:///tmp/echo.sock"}, []string{"LOOPBACK_PROBE_NODELAY=false"}, "LOOPBACK_PROBE_NODELAY: Nagle's algorithm is TCP's, not unix's"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := loadProbe(tt.args, tt.environ, &bytes.Buffer{}, &bytes.Buffer{})
			if _, ok := errors.AsType[*config.UsageError](err); !ok {
				t.Fatalf("err = %v (%T), want a *config.UsageError", err, err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %q, want it to contain %q", err, tt.want)
			}
		})
	}
}

// TestProbeListsEveryProblemAtOnce: every bad value is named, one line
// each, by the flag or variable it came from.
func TestProbeListsEveryProblemAtOnce(t *testing.T) {
	t.Parallel()
	_, err := loadProbe([]string{"udp://127.0.0.1:7", "--concurrency", "0", "--rate", "5", "--interval", "1s", "--size", "8",
		"--mode", "connect", "--hgrm", "/nonexistent/x"},
		[]string{"LOOPBACK_PROBE_TIMEOUT=0s"}, &bytes.Buffer{}, &bytes.Buffer{})
	want := []string{
		"--concurrency: 0 connections would measure nothing; give 1 or more",
		"--rate and --interval both set the schedule; give one of them",
		"--size 8: must be 16-65507 bytes for udp",
		"LOOPBACK_PROBE_TIMEOUT=0s: must be positive",
		"--mode connect: measures streams only (tcp or unix)",
		"--hgrm /nonexistent/x: directory /nonexistent does not exist",
	}
	if err == nil || err.Error() != strings.Join(want, "\n") {
		t.Errorf("err = %v, want\n%s", err, strings.Join(want, "\n"))
	}
}

// TestProbeChecksOutputFilesFirst: a --hgrm that could not be written is
// refused before anything connects, not after the whole run.
func TestProbeChecksOutputFilesFirst(t *testing.T) {
	t.Parallel()
	ln, err := net.ListenTCP("tcp", &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	out, stderr, code := runCLI(t, nil, "probe", "tcp://"+ln.Addr().String(), "--hgrm", "/nonexistent/x")
	if want := "loopback: --hgrm /nonexistent/x: directory /nonexistent does not exist\n"; code != 2 || stderr != want || out != "" {
		t.Errorf("exit %d, stdout %q, stderr %q; want exit 2, nothing on stdout, %q", code, out, stderr, want)
	}
	// A connection the probe made would wait in the accept queue by now.
	ln.SetDeadline(time.Now())
	if c, err := ln.Accept(); err == nil {
		c.Close()
		t.Error("the probe connected before refusing --hgrm")
	}
}

// probeDoc is what a script reads from --json.
type probeDoc struct {
	OK    bool                 `json:"ok"`
	Addr  *struct{ IP string } `json:"addr"`
	Sent  int                  `json:"sent"`
	Error *struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
	RTT map[string]any `json:"rtt_us"`
}

// onlyDoc decodes stdout as exactly one JSON document.
func onlyDoc(t *testing.T, stdout string) probeDoc {
	t.Helper()
	var d probeDoc
	dec := json.NewDecoder(strings.NewReader(stdout))
	if err := dec.Decode(&d); err != nil || dec.More() {
		t.Fatalf("stdout is not one JSON document (%v):\n%s", err, stdout)
	}
	return d
}

// stallAfter is a TCP echo for 64-byte requests that answers n of them
// and then reads on without answering.
func stallAfter(t *testing.T, n int) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(cliTimeout))
		buf := make([]byte, 64)
		for i := 0; ; i++ {
			if _, err := io.ReadFull(c, buf); err != nil {
				return
			}
			if i < n {
				c.Write(buf)
			}
		}
	}()
	t.Cleanup(func() { ln.Close(); <-done })
	return "tcp://" + ln.Addr().String()
}

// TestProbeJSONOnEveryOutcome: whatever ends the probe, --json prints one
// document with ok false and an error whose code says what, and the line
// on stderr is its message.
func TestProbeJSONOnEveryOutcome(t *testing.T) {
	t.Parallel()
	s := startServe(t, 2)
	refusedTCP, refusedUDP := freeURL(t, "tcp"), freeURL(t, "udp")
	tests := []struct {
		name string
		args []string
		code string
	}{
		{"refused tcp", []string{refusedTCP, "--json"}, "refused"},
		{"refused udp", []string{refusedUDP, "--json"}, "refused"},
		{"unresolvable", []string{"tcp://nowhere.onion:7", "--json"}, "unresolvable"},
		{"no reply", []string{stallAfter(t, 0), "--json", "--timeout", "200ms"}, "no_reply"},
		{"timeout", []string{stallAfter(t, 3), "--json", "--timeout", "200ms", "--warmup", "0"}, "timeout"},
		{"assertion", []string{s.tcp, "--json", "--count", "20", "--assert", "p50<1ns"}, "assertion"},
		{"jsonl", []string{refusedTCP, "--output", "jsonl"}, "refused"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			out, stderr, code := runCLI(t, nil, append([]string{"probe"}, tt.args...)...)
			d := onlyDoc(t, out)
			if code != 1 || d.OK || d.Error == nil || d.Error.Code != tt.code {
				t.Fatalf("exit %d, document %s; want exit 1, ok false, error code %s", code, out, tt.code)
			}
			if want := "loopback: " + d.Error.Message + "\n"; !strings.HasSuffix(stderr, want) {
				t.Errorf("stderr %q does not end with the error's message %q", stderr, want)
			}
		})
	}
	out, _, code := runCLI(t, nil, "probe", "--json", "tcp://nowhere.onion:7")
	if d := onlyDoc(t, out); code != 1 || d.Addr != nil || d.RTT != nil || !strings.Contains(out, `"elapsed_s":null`) {
		t.Errorf("unresolvable: addr, rtt_us and elapsed_s are not null: %s", out)
	}
	out, _, code = runCLI(t, nil, "probe", "--json", s.udp, "--count", "5")
	if d := onlyDoc(t, out); code != 0 || !d.OK || d.Error != nil || !strings.Contains(out, `"error":null`) {
		t.Errorf("success: exit %d, %s; want exit 0, ok true, error null", code, out)
	}
}

// freeURL is a URL on 127.0.0.1 where nothing listens, as far as the
// test can tell.
func freeURL(t *testing.T, network string) string {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	pc.Close()
	return network + "://" + pc.LocalAddr().String()
}

func TestCheckJSON(t *testing.T) {
	t.Parallel()
	out, stderr, code := runCLI(t, nil, "check", "--json", "--count", "20", "--warmup", "2")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if code != 0 || len(lines) != 2 {
		t.Fatalf("exit %d, %d lines, stderr %q; want 0 and one line per protocol:\n%s", code, len(lines), stderr, out)
	}
	for _, l := range lines {
		if d := onlyDoc(t, l); !d.OK || d.Error != nil || d.Sent != 20 {
			t.Errorf("line %s: want ok, error null, 20 sent", l)
		}
	}
}

// signals are the ones a shell or a supervisor sends to stop a probe, and
// the exit status and cause a script then sees.
var signals = []struct {
	sig   syscall.Signal
	code  int
	cause string
}{{syscall.SIGINT, 130, "interrupt signal received"}, {syscall.SIGTERM, 143, "terminated signal received"}}

// TestSignalEndsAProbeAsFailed: SIGINT and SIGTERM end a running probe, in
// every mode, with the partial summary marked interrupted and not ok, and
// exit 130 or 143 as shells expect, so `probe ... && deploy` stops there.
func TestSignalEndsAProbeAsFailed(t *testing.T) {
	t.Parallel()
	s := startServe(t, 2)
	modes := []struct {
		name string
		args []string
	}{
		{"rtt", []string{s.tcp, "--count", "1000000000"}},
		{"rtt udp scheduled", []string{s.udp, "--rate", "1000", "--duration", "1h"}},
		{"connect", []string{s.tcp, "--mode", "connect", "--count", "1000000000"}},
		{"throughput", []string{s.tcp, "--mode", "throughput", "--duration", "1h"}},
	}
	for _, m := range modes {
		for _, sig := range signals {
			t.Run(m.name+" "+sig.sig.String(), func(t *testing.T) {
				t.Parallel()
				// The probe logs "connected" at debug level once it has a
				// connection: from then on it is measuring.
				p := startProc(t, append([]string{"probe", "--json", "--log-level", "debug", "--log-format", "json"}, m.args...)...)
				p.waitLog(t, `"message":"connected"`)
				last := lastLog(p)
				p.cmd.Process.Signal(sig.sig)
				checkInterrupted(t, p, last, sig.code, sig.cause, 1)
			})
		}
	}
}

// lastLog drains p's stderr, so that a chatty debug log never blocks it,
// and sends the last line once p has closed it.
func lastLog(p *proc) <-chan string {
	last := make(chan string, 1)
	go func() {
		var l string
		for l = range p.logs {
		}
		last <- l
	}()
	return last
}

// checkInterrupted waits for p to exit after a signal and checks what a
// script sees: the exit code, docs JSON documents on stdout, each
// interrupted and not ok, and the last one's error as the last stderr line.
func checkInterrupted(t *testing.T, p *proc, last <-chan string, code int, cause string, docs int) {
	t.Helper()
	if got := p.wait(t); got != code {
		t.Errorf("exit %d, want %d", got, code)
	}
	var lines []string
	for p.stdout.Scan() {
		lines = append(lines, p.stdout.Text())
	}
	if len(lines) != docs {
		t.Fatalf("%d lines on stdout, want %d JSON documents:\n%s", len(lines), docs, strings.Join(lines, "\n"))
	}
	var d struct {
		probeDoc
		Interrupted bool `json:"interrupted"`
	}
	for _, l := range lines {
		if err := json.Unmarshal([]byte(l), &d); err != nil {
			t.Fatalf("%v: %s", err, l)
		}
		if d.OK || !d.Interrupted || d.Error == nil || d.Error.Code != "interrupted" || !strings.HasSuffix(d.Error.Message, cause) {
			t.Errorf("document %s; want ok false, interrupted, error interrupted by %q", l, cause)
		}
	}
	select {
	case l := <-last:
		if want := "loopback: " + d.Error.Message; l != want {
			t.Errorf("last line on stderr %q, want %q", l, want)
		}
	case <-time.After(10 * time.Second):
		t.Error("stderr still open 10 s after the process exited")
	}
}

// TestProbeGivesUpOnASilentTarget: with default flags a UDP target that
// answers nothing (a bound socket that never replies) fails within about
// a second, not after 110 s of timeouts, and says what it suspects.
func TestProbeGivesUpOnASilentTarget(t *testing.T) {
	t.Parallel()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	url := "udp://" + pc.LocalAddr().String()
	for _, args := range [][]string{{"--json"}, {"--json", "--rate", "100"}, {}} {
		start := time.Now()
		out, stderr, code := runCLI(t, nil, append([]string{"probe", url}, args...)...)
		took := time.Since(start)
		if code != 1 || took > 3*time.Second || !strings.Contains(stderr, "nothing came back: is it an echo server?") {
			t.Errorf("%v: exit %d after %v, stderr %q; want exit 1 within 3 s, saying nothing came back", args, code, took, stderr)
		}
		if len(args) > 0 {
			if d := onlyDoc(t, out); d.Error == nil || d.Error.Code != "no_reply" || d.Sent != 0 {
				t.Errorf("%v: %s; want error no_reply and nothing measured", args, out)
			}
		}
	}
}

// TestProbeMaxErrors: --max-errors (or its variable) ends a run after
// that many failed round trips, with the report of what completed.
func TestProbeMaxErrors(t *testing.T) {
	t.Parallel()
	// An echo that answers the warm-up and 5 more datagrams, then nothing.
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	pc.SetDeadline(time.Now().Add(cliTimeout))
	served := make(chan struct{})
	go func() {
		defer close(served)
		buf := make([]byte, 65536)
		for {
			n, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			if buf[7] < 15 { // the low byte of the big-endian seq
				pc.WriteTo(buf[:n], from)
			}
		}
	}()
	defer func() { pc.Close(); <-served }()
	url := "udp://" + pc.LocalAddr().String()
	for _, tt := range []struct {
		args    []string
		environ []string
	}{
		{[]string{"--max-errors", "3"}, nil},
		{nil, []string{"LOOPBACK_PROBE_MAX_ERRORS=3"}},
	} {
		start := time.Now()
		out, stderr, code := runCLI(t, tt.environ, append([]string{"probe", url, "--json", "--count", "200", "--timeout", "100ms"}, tt.args...)...)
		d := onlyDoc(t, out)
		var counts struct{ Received, Lost int }
		json.Unmarshal([]byte(out), &counts)
		// Without the limit: 195 timeouts, about 20 s.
		if code != 1 || time.Since(start) > 10*time.Second || d.Error == nil || d.Error.Code != "max_errors" || d.Sent != 8 || counts.Received != 5 || counts.Lost != 3 {
			t.Errorf("%v %v: exit %d, %s, stderr %q; want exit 1, 8 sent, 5 received, 3 lost, max_errors", tt.args, tt.environ, code, out, stderr)
		}
	}
}
