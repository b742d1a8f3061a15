package main

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"
)

// TestMain runs the tests, or, when a test re-executes this binary with
// asMainVar set, the program itself.
func TestMain(m *testing.M) {
	if os.Getenv(asMainVar) == "1" {
		main()
		return
	}
	goleak.VerifyTestMain(m)
}

// syncBuffer is a bytes.Buffer that goroutines can share.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// cliTimeout bounds every run of the program in a test, and every test
// connection: a hang fails its test, with what was printed, instead of
// stalling the whole run until go test's own timeout.
const cliTimeout = 30 * time.Second

// stopGrace is how long run may take to return once its context has
// ended before the test calls it a hang.
const stopGrace = 10 * time.Second

// runCLI runs the program as main would, and returns what the user sees.
// The run fails the test if it reaches cliTimeout.
func runCLI(t *testing.T, environ []string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), cliTimeout)
	defer cancel()
	var out, errb syncBuffer
	done := make(chan error, 1)
	go func() { done <- run(ctx, ctx, args, environ, &out, &errb) }()
	err := waitRun(t, ctx, done, args, &out, &errb)
	if ctx.Err() != nil {
		t.Fatalf("%q ran into the %v deadline; stdout:\n%s\nstderr:\n%s", args, cliTimeout, &out, &errb)
	}
	printErr(&errb, err)
	return out.String(), errb.String(), exitCode(err)
}

// waitRun waits for run to return, for at most stopGrace after ctx ends.
func waitRun(t *testing.T, ctx context.Context, done <-chan error, args []string, out, errb *syncBuffer) error {
	t.Helper()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
	}
	watchdog := time.NewTimer(stopGrace)
	defer watchdog.Stop()
	select {
	case err := <-done:
		return err
	case <-watchdog.C:
		t.Fatalf("%q did not return within %v of its context ending; stdout:\n%s\nstderr:\n%s", args, stopGrace, out, errb)
		return nil
	}
}

// served is a `loopback serve` running inside the test.
type served struct {
	tcp, udp string // the ready lines
	port     int
	stderr   *syncBuffer

	ctx  context.Context
	args []string
	stop context.CancelFunc
	done chan error
	once sync.Once
	err  error // what run returned, once shut down
}

// shutdown stops serve as a signal would and returns what run returned;
// the test's cleanup calls it too.
func (s *served) shutdown(t *testing.T) error {
	t.Helper()
	s.once.Do(func() {
		s.stop()
		s.err = waitRun(t, s.ctx, s.done, s.args, &syncBuffer{}, s.stderr)
	})
	return s.err
}

// startServe runs serve with args and waits for its ready lines (one per
// listener), the signal that it is listening. It stops at the end of the
// test, or after cliTimeout.
func startServe(t *testing.T, listeners int, args ...string) *served {
	t.Helper()
	ctx, stop := context.WithTimeout(t.Context(), cliTimeout)
	pr, pw := io.Pipe()
	args = append([]string{"serve", "--log-format", "json"}, args...)
	s := &served{stderr: &syncBuffer{}, ctx: ctx, args: args, stop: stop, done: make(chan error, 1)}
	go func() {
		err := run(ctx, ctx, args, nil, pw, s.stderr)
		pw.CloseWithError(io.EOF)
		s.done <- err
	}()
	t.Cleanup(func() {
		if err := s.shutdown(t); err != nil {
			t.Errorf("serve: %v", err)
		}
	})
	lines := bufio.NewScanner(pr)
	for range listeners {
		if !lines.Scan() {
			t.Fatalf("serve ended before its ready line; stderr:\n%s", s.stderr)
		}
		switch l := lines.Text(); {
		case strings.HasPrefix(l, "tcp://"):
			s.tcp = l
		case strings.HasPrefix(l, "udp://"):
			s.udp = l
		default:
			t.Fatalf("stdout line %q is not a listener URL", l)
		}
	}
	go io.Copy(io.Discard, pr) // anything more on stdout would be a bug; don't block on it
	url := cmp.Or(s.tcp, s.udp)
	_, port, _ := net.SplitHostPort(url[len("tcp://"):])
	s.port, _ = strconv.Atoi(port)
	if s.port == 0 {
		t.Fatalf("ready lines %q %q name no port; stderr:\n%s", s.tcp, s.udp, s.stderr)
	}
	return s
}

// dial connects to a served TCP URL, with a deadline for everything the
// test does on the connection.
func dial(t *testing.T, url string) net.Conn {
	t.Helper()
	c, err := net.DialTimeout("tcp", strings.TrimPrefix(url, "tcp://"), cliTimeout)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(cliTimeout))
	return c
}

func TestServeAnnouncesOnePortForBothAndStopsCleanly(t *testing.T) {
	t.Parallel()
	portFile := filepath.Join(t.TempDir(), "port")
	s := startServe(t, 2, "--port-file", portFile)
	if want := fmt.Sprintf("tcp://127.0.0.1:%d", s.port); s.tcp != want {
		t.Errorf("tcp ready line = %q, want %q", s.tcp, want)
	}
	if want := fmt.Sprintf("udp://127.0.0.1:%d", s.port); s.udp != want {
		t.Errorf("udp ready line = %q, want %q", s.udp, want)
	}
	got, err := os.ReadFile(portFile)
	if err != nil || string(got) != fmt.Sprintf("%d\n", s.port) {
		t.Errorf("port file = %q, %v; want %q", got, err, fmt.Sprintf("%d\n", s.port))
	}
	for _, url := range []string{s.tcp, s.udp} {
		if out, errs, code := runCLI(t, nil, "probe", url, "--count", "20", "--log-level", "error"); code != 0 {
			t.Errorf("probe %s: exit %d\n%s%s", url, code, out, errs)
		}
	}
	if err := s.shutdown(t); err != nil {
		t.Fatalf("serve returned %v after a stop", err)
	}
	logs := s.stderr.String()
	for _, want := range []string{`"message":"listening"`, `"message":"stopping"`, `"message":"stopped"`, `"udp_datagrams":30`} {
		if !strings.Contains(logs, want) {
			t.Errorf("log lacks %s:\n%s", want, logs)
		}
	}
	if _, err := os.Stat(portFile); !os.IsNotExist(err) {
		t.Errorf("port file left behind after the stop: %v", err)
	}
}

func TestServeOneProtocolAndIPv6(t *testing.T) {
	t.Parallel()
	s := startServe(t, 1, "--proto", "udp")
	if s.tcp != "" || !strings.HasPrefix(s.udp, "udp://127.0.0.1:") {
		t.Errorf("--proto udp announced %q %q", s.tcp, s.udp)
	}
	if ln, err := net.Listen("tcp", "[::1]:0"); err != nil {
		t.Logf("no IPv6 loopback here, skipping [::1]: %v", err)
		return
	} else {
		ln.Close()
	}
	s6 := startServe(t, 1, "--addr", "[::1]:0", "--proto", "tcp")
	if !strings.HasPrefix(s6.tcp, "tcp://[::1]:") {
		t.Errorf("--addr [::1]:0 announced %q", s6.tcp)
	}
	if out, errs, code := runCLI(t, nil, "probe", s6.tcp, "--count", "5"); code != 0 {
		t.Errorf("probe %s: exit %d\n%s%s", s6.tcp, code, out, errs)
	}
}

func TestServeRefusesNonLoopbackWithExit2(t *testing.T) {
	t.Parallel()
	for _, addr := range []string{"0.0.0.0:0", "[::]:0", "192.0.2.1:0"} {
		_, stderr, code := runCLI(t, nil, "serve", "--addr", addr)
		if code != 2 || !strings.Contains(stderr, "not a loopback address") ||
			!strings.Contains(stderr, "--allow-remote") || strings.Count(stderr, "\n") != 1 {
			t.Errorf("serve --addr %s: exit %d, stderr %q; want exit 2 and one line naming --allow-remote", addr, code, stderr)
		}
	}
}

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

func TestUsageErrorsExit2WithOneLine(t *testing.T) {
	t.Parallel()
	tests := []struct {
		environ []string
		args    []string
		want    string
	}{
		{[]string{"LOOPBACK_SERVE_IDLE_TIMEOUT=abc"}, []string{"serve"}, `loopback: LOOPBACK_SERVE_IDLE_TIMEOUT: "abc" is not a duration (e.g. 30s, 250ms, 1m30s)`},
		{nil, []string{"serve", "--addr", "127.0.0.1:65536"}, `port "65536" is not a number from 0 to 65535`},
		{nil, []string{"probe", "udp://127.0.0.1:7", "--size", "70000"}, "size 70000: must be 16-65507 bytes for udp"},
		{nil, []string{"probe", "tcp://127.0.0.1:7", "--count", "-5"}, `--count: "-5" is not a whole number of 0 or more`},
		{nil, []string{"probe"}, "probe takes one URL"},
		{nil, []string{"frobnicate"}, `unknown command "frobnicate"`},
	}
	for _, tt := range tests {
		_, stderr, code := runCLI(t, tt.environ, tt.args...)
		last := stderr[strings.LastIndex(strings.TrimSuffix(stderr, "\n"), "\n")+1:]
		if code != 2 || !strings.Contains(last, tt.want) {
			t.Errorf("%v %v: exit %d, last line %q; want exit 2 and %q", tt.environ, tt.args, code, last, tt.want)
		}
	}
}

func TestCheckSaysOK(t *testing.T) {
	t.Parallel()
	out, stderr, code := runCLI(t, nil, "--count", "200", "--warmup", "20")
	if code != 0 {
		t.Fatalf("exit %d\n%s%s", code, out, stderr)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if !regexp.MustCompile(`^loopback OK: echo on 127\.0\.0\.1:\d+, 200 round trips of 64 bytes per protocol$`).MatchString(lines[0]) {
		t.Errorf("first line = %q", lines[0])
	}
	if len(lines) != 4 || !strings.Contains(lines[2], "tcp") || !strings.Contains(lines[3], "udp") ||
		!strings.Contains(lines[2], "0/200") || !strings.Contains(lines[3], "0/200") {
		t.Errorf("verdict table:\n%s", out)
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
	var got struct{ Sent, Received, Lost, Corrupt int }
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("stdout is not JSON: %v\n%s", err, out)
	}
	if got.Sent != 10 || got.Received != 8 || got.Lost != 1 || got.Corrupt != 1 {
		t.Errorf("sent/received/lost/corrupt = %d/%d/%d/%d, want 10/8/1/1", got.Sent, got.Received, got.Lost, got.Corrupt)
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

func TestCheckAllAddsIPv6(t *testing.T) {
	t.Parallel()
	if ln, err := net.Listen("tcp", "[::1]:0"); err != nil {
		t.Skipf("no IPv6 loopback here: %v", err)
	} else {
		ln.Close()
	}
	out, stderr, code := runCLI(t, nil, "check", "--all", "--count", "50", "--warmup", "5")
	if code != 0 {
		t.Fatalf("exit %d\n%s%s", code, out, stderr)
	}
	for _, row := range []string{"tcp ipv4", "udp ipv4", "tcp ipv6", "udp ipv6"} {
		if !strings.Contains(out, row) {
			t.Errorf("check --all lacks a %q row:\n%s", row, out)
		}
	}
	if !strings.Contains(out, " and [::1]:") {
		t.Errorf("first line does not name both servers:\n%s", out)
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

// TestNullAndPipesAreNoTerminal: output thrown away on /dev/null must not
// pay for a console writer or a live status line (see isTerminal).
func TestNullAndPipesAreNoTerminal(t *testing.T) {
	t.Parallel()
	null, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer null.Close()
	r, w := mustPipe(t)
	defer r.Close()
	defer w.Close()
	for _, out := range []io.Writer{null, w, &bytes.Buffer{}} {
		if isTerminal(out) {
			t.Errorf("isTerminal(%v) = true", out)
		}
	}
}
