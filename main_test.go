package main

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	"io"
	"net"
	"os"
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

// syncBuffer is a bytes.Buffer that goroutines can share, and wait on.
type syncBuffer struct {
	mu      sync.Mutex
	b       bytes.Buffer
	changed chan struct{} // closed at the next write
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.changed != nil {
		close(s.changed)
		s.changed = nil
	}
	return s.b.Write(p)
}

// waitFor waits until the buffer holds want, or fails the test after
// cliTimeout.
func (s *syncBuffer) waitFor(t *testing.T, want string) {
	t.Helper()
	timeout := time.After(cliTimeout)
	for {
		s.mu.Lock()
		if strings.Contains(s.b.String(), want) {
			s.mu.Unlock()
			return
		}
		if s.changed == nil {
			s.changed = make(chan struct{})
		}
		changed := s.changed
		s.mu.Unlock()
		select {
		case <-changed:
		case <-timeout:
			t.Fatalf("never saw %q in:\n%s", want, s.String())
		}
	}
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
	tcp, udp       string // the ready lines
	unix, unixgram string
	port           int
	stderr         *syncBuffer

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
		case strings.HasPrefix(l, "unix://"):
			s.unix = l
		case strings.HasPrefix(l, "unixgram://"):
			s.unixgram = l
		default:
			t.Fatalf("stdout line %q is not a listener URL", l)
		}
	}
	go io.Copy(io.Discard, pr) // anything more on stdout would be a bug; don't block on it
	if s.unix != "" || s.unixgram != "" {
		return s
	}
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
		{nil, []string{"check", "--count", "0"}, "count 0: need at least 1 round trip"},
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
