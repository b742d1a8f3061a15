package server

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"io"
	"net"
	"net/netip"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"go.uber.org/goleak"
)

// emfileVar, set in a child's environment, makes the test binary the
// server of TestDrainAfterEMFILEDoesNotSpin instead of running tests: the
// descriptor limit is per process, so lowering it in the test process
// itself would starve every other test.
const emfileVar = "LOOPBACK_TEST_EMFILE_ENGINE"

// TestMain runs the tests or, in a child some test started, a server of
// that test's.
func TestMain(m *testing.M) {
	if e := os.Getenv(emfileVar); e != "" {
		emfileChild(e)
		return
	}
	goleak.VerifyTestMain(m)
}

var loopback4 = netip.MustParseAddrPort("127.0.0.1:0")

// logBuffer collects JSON log lines from goroutines safely and wakes
// whoever waits for a line.
type logBuffer struct {
	mu      sync.Mutex
	buf     bytes.Buffer
	changed chan struct{}
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.changed != nil {
		close(b.changed)
		b.changed = nil
	}
	return b.buf.Write(p)
}

// waitFor waits until the log has want: the close event is written just
// after the connection closes, so the test waits on the write itself.
func (b *logBuffer) waitFor(t *testing.T, want string) {
	t.Helper()
	timeout := time.After(5 * time.Second)
	for {
		b.mu.Lock()
		if strings.Contains(b.buf.String(), want) {
			b.mu.Unlock()
			return
		}
		if b.changed == nil {
			b.changed = make(chan struct{})
		}
		changed := b.changed
		b.mu.Unlock()
		select {
		case <-changed:
		case <-timeout:
			t.Fatalf("log has no %s:\n%s", want, b.buf.String())
		}
	}
}

// serveTCP runs s on a new 127.0.0.1:0 listener until the test ends (or
// cancel is called) and checks that Serve returned nil.
func serveTCP(t testing.TB, s *TCP) (addr string, cancel context.CancelFunc, done <-chan struct{}) {
	t.Helper()
	l, err := Listen(t.Context(), loopback4, true, false)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	finished := make(chan struct{})
	errc := make(chan error, 1)
	go func() { errc <- s.Serve(ctx, l.TCP); close(finished) }()
	t.Cleanup(func() {
		cancel()
		if err := <-errc; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	return l.TCP.Addr().String(), cancel, finished
}

func dial(t *testing.T, addr string) *net.TCPConn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(10 * time.Second)) // a hung test fails instead of hanging
	return c.(*net.TCPConn)
}

// roundTrip writes msg and reads back as many bytes.
func roundTrip(t *testing.T, c net.Conn, msg string) {
	t.Helper()
	if _, err := c.Write([]byte(msg)); err != nil {
		t.Fatal(err)
	}
	got := make([]byte, len(msg))
	if _, err := io.ReadFull(c, got); err != nil {
		t.Fatal(err)
	}
	if string(got) != msg {
		t.Fatalf("echo = %q, want %q", got, msg)
	}
}

// expectClosed reads until the server closes c and fails on anything else.
func expectClosed(t *testing.T, c net.Conn) {
	t.Helper()
	n, err := c.Read(make([]byte, 1))
	if n != 0 || !(errors.Is(err, io.EOF) || errors.Is(err, net.ErrClosed) || isReset(err)) {
		t.Fatalf("read = %d, %v; want the server to close the connection", n, err)
	}
}

func isReset(err error) bool { return err != nil && strings.Contains(err.Error(), "reset") }

func tcpEchoesOneMiBIntactWithHalfClose(t *testing.T, e Engine) {
	addr, _, _ := serveTCP(t, &TCP{Engine: e})
	echoesWhole(t, dial(t, addr), 1<<20)
}

// echoesWhole writes n random bytes on c and then half-closes it, while it
// reads the echo: the server must still echo what it has not yet sent, and
// only then close. Every byte must come back, in order.
func echoesWhole(t *testing.T, c *net.TCPConn, n int) {
	t.Helper()
	want := make([]byte, n)
	rand.Read(want)
	werr := make(chan error, 1)
	go func() {
		_, err := c.Write(want)
		if err == nil {
			err = c.CloseWrite()
		}
		werr <- err
	}()
	got, err := io.ReadAll(c)
	if err != nil {
		t.Fatalf("read echo: %v", err)
	}
	if err := <-werr; err != nil {
		t.Fatalf("write: %v", err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("echoed %d bytes, want the same %d bytes back", len(got), len(want))
	}
}

func tcpMaxConnsClosesTheExcess(t *testing.T, e Engine) {
	logs := &logBuffer{}
	s := &TCP{Engine: e, MaxConns: 1, Log: zerolog.New(logs)}
	addr, _, _ := serveTCP(t, s)
	first := dial(t, addr)
	roundTrip(t, first, "one") // the server has accepted and counted it

	// Each refused connection is counted, but warned about at most once a
	// second: a client retrying in a loop must not fill the log.
	const excess = 50
	for range excess {
		expectClosed(t, dial(t, addr))
	}
	roundTrip(t, first, "still here")
	if got := s.Stats(); got.Accepted != 1 || got.Rejected != excess {
		t.Errorf("stats = %+v, want 1 accepted and %d rejected", got, excess)
	}
	if n := strings.Count(logs.String(), "too many open"); n < 1 || n > 3 {
		t.Errorf("%d warnings for %d refused connections in about a second; want 1 to 3", n, excess)
	}
}

func tcpIdleTimeoutClosesASilentConnection(t *testing.T, e Engine) {
	const idle = 300 * time.Millisecond
	logs := &logBuffer{}
	addr, _, _ := serveTCP(t, &TCP{Engine: e, IdleTimeout: idle, Log: zerolog.New(logs)})
	c := dial(t, addr)
	// The server's clock starts when "hello" arrives, after this; one taken
	// after the echo came back could be late by a scheduling delay.
	start := time.Now()
	roundTrip(t, c, "hello")
	echoed := time.Now()
	expectClosed(t, c)
	waited, late := time.Since(start), time.Since(echoed)-idle
	if waited < idle {
		t.Errorf("closed after %v, before the idle timeout of %v", waited, idle)
	}
	// The loops scan for idle connections every eighth of the timeout, and
	// a busy machine adds its scheduling delay; a close at twice the
	// timeout is a bug, not a delay.
	if margin := idle * 3 / 4; late > margin {
		t.Errorf("closed %v after the idle timeout of %v; want within %v", late, idle, margin)
	}
	logs.waitFor(t, `"reason":"idle timeout"`)
}

func tcpGracefulStopLetsOpenConnectionsFinish(t *testing.T, e Engine) {
	addr, stop, done := serveTCP(t, &TCP{Engine: e, DrainTimeout: time.Minute})
	c := dial(t, addr)
	roundTrip(t, c, "before")
	stop()
	expectRefusedSoon(t, addr)
	// The open connection is still served until it ends.
	roundTrip(t, c, "during drain")
	select {
	case <-done:
		t.Fatal("Serve returned while a connection was still open")
	default:
	}
	c.CloseWrite()
	expectClosed(t, c)
	<-done
}

// expectRefusedSoon dials until the stopped listener refuses: the listener
// closes just after the stop, so a dial may still win that race a few times.
func expectRefusedSoon(t *testing.T, addr string) {
	t.Helper()
	for range 1000 {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			return
		}
		c.Close()
	}
	t.Fatal("still accepting connections after the stop")
}

func tcpDrainTimeoutClosesTheRest(t *testing.T, e Engine) {
	logs := &logBuffer{}
	addr, stop, done := serveTCP(t, &TCP{Engine: e, DrainTimeout: 20 * time.Millisecond, Log: zerolog.New(logs)})
	c := dial(t, addr)
	roundTrip(t, c, "x")
	stop()
	expectClosed(t, c)
	<-done
	logs.waitFor(t, `"reason":"drain timeout"`)
}

func tcpCloseAllStopsAtOnce(t *testing.T, e Engine) {
	s := &TCP{Engine: e, DrainTimeout: time.Hour}
	addr, stop, done := serveTCP(t, s)
	c := dial(t, addr)
	roundTrip(t, c, "x")
	stop()
	s.CloseAll()
	expectClosed(t, c)
	<-done
}

// tcpSwitchesBetweenSmallAndBulkBuffers: a stream larger than a
// connection's own buffer, then small messages, then a stream again, all
// echoed intact and in order.
func tcpSwitchesBetweenSmallAndBulkBuffers(t *testing.T, e Engine) {
	addr, _, _ := serveTCP(t, &TCP{Engine: e})
	c := dial(t, addr)
	big := make([]byte, 3*bulkBufSize+123)
	rand.Read(big)
	for round := range 2 {
		werr := make(chan error, 1)
		go func() { _, err := c.Write(big); werr <- err }()
		got := make([]byte, len(big))
		if _, err := io.ReadFull(c, got); err != nil {
			t.Fatalf("round %d: read stream: %v", round, err)
		}
		if err := <-werr; err != nil || !bytes.Equal(got, big) {
			t.Fatalf("round %d: stream of %d bytes not echoed intact (write error %v)", round, len(big), err)
		}
		for i := range 3 {
			roundTrip(t, c, strings.Repeat("s", i+1))
		}
	}
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
