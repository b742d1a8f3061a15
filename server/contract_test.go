package server

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"
)

// The server's contract is written once, here, and every engine must keep
// it: each case below runs against the event loops (where the system has
// them) and the goroutine engine, so that a feature or a fix in one engine
// that the other lacks fails a test.

// engines lists the engines this system can run.
func engines() []Engine {
	if runtime.GOOS == "linux" {
		return []Engine{EngineLoops, EngineGoroutines}
	}
	return []Engine{EngineGoroutines}
}

// contract is every promise a server makes, as a test that takes the
// engine to keep it with.
var contract = []struct {
	name string
	test func(t *testing.T, e Engine)
}{
	{"tcp/echo 1 MiB whole with half-close", tcpEchoesOneMiBIntactWithHalfClose},
	{"tcp/echo streams and small messages in turn", tcpSwitchesBetweenSmallAndBulkBuffers},
	{"tcp/echo to a slow reader arrives whole", tcpEchoToASlowReaderArrivesWhole},
	{"tcp/connections are echoed apart", tcpManyConnectionsOverSeveralLoops},
	{"tcp/max conns closes the excess", tcpMaxConnsClosesTheExcess},
	{"tcp/idle timeout closes a silent connection in time", tcpIdleTimeoutClosesASilentConnection},
	{"tcp/idle timeout closes a peer that stops reading", tcpIdleTimeoutClosesAPeerThatStopsReading},
	{"tcp/write timeout closes a peer that stops reading", tcpWriteTimeoutClosesAPeerThatStopsReading},
	{"tcp/buffers go back after a burst of stalled readers", tcpBuffersGoBackAfterABurst},
	{"tcp/graceful stop lets open connections finish", tcpGracefulStopLetsOpenConnectionsFinish},
	{"tcp/drain timeout closes the rest", tcpDrainTimeoutClosesTheRest},
	{"tcp/close all stops at once", tcpCloseAllStopsAtOnce},
	{"tcp/counters and log events", tcpCountersAndLogEvents},
	{"tcp/a Unix stream socket is served alike", tcpServesAUnixStreamSocket},
	{"udp/echo every size whole", udpEchoesEverySizeWhole},
	{"udp/over IPv6", udpOverIPv6},
	{"udp/bursts go back to each sender", udpBurstsFromManySocketsGoBackToEachSender},
}

func TestContract(t *testing.T) {
	t.Parallel()
	for _, e := range engines() {
		t.Run(string(e), func(t *testing.T) {
			t.Parallel()
			for _, c := range contract {
				t.Run(c.name, func(t *testing.T) {
					t.Parallel()
					c.test(t, e)
				})
			}
		})
	}
}

// tcpCountersAndLogEvents: each connection logs an open and a close event
// naming its peer, and the close names the bytes each way, how long it
// lasted and why it ended; the counters add up to the same bytes.
func tcpCountersAndLogEvents(t *testing.T, e Engine) {
	logs := &logBuffer{}
	s := &TCP{Engine: e, Log: zerolog.New(logs)}
	addr, stop, done := serveTCP(t, s)
	c := dial(t, addr)
	peer := c.LocalAddr().String()
	roundTrip(t, c, "twelve bytes")
	c.CloseWrite()
	if rest, err := io.ReadAll(c); err != nil || len(rest) != 0 {
		t.Fatalf("after the half-close: read %q, %v; want the server to close", rest, err)
	}
	logs.waitFor(t, `"message":"connection closed"`)
	stop()
	<-done
	var open, closed map[string]any
	for line := range strings.SplitSeq(strings.TrimSpace(logs.String()), "\n") {
		var ev map[string]any
		if err := json.Unmarshal([]byte(line), &ev); err != nil {
			t.Fatalf("log line %q is not JSON: %v", line, err)
		}
		switch ev["message"] {
		case "connection open":
			open = ev
		case "connection closed":
			closed = ev
		}
	}
	if endpoint(open["peer"]) != peer || open["component"] != "tcp" {
		t.Errorf("open event = %v, want component tcp and peer %s", open, peer)
	}
	want := map[string]any{"bytes_in": 12.0, "bytes_out": 12.0, "reason": "closed by peer"}
	if got := endpoint(closed["peer"]); got != peer {
		t.Errorf("close event peer = %v, want {ip, port} of %s", closed["peer"], peer)
	}
	for k, v := range want {
		if closed[k] != v {
			t.Errorf("close event %s = %v, want %v (event %v)", k, closed[k], v, closed)
		}
	}
	if d, ok := closed["duration_ms"].(float64); !ok || d < 0 {
		t.Errorf("close event duration_ms = %v, want a number", closed["duration_ms"])
	}
	if st := s.Stats(); st != (TCPStats{Accepted: 1, BytesIn: 12, BytesOut: 12}) {
		t.Errorf("stats = %+v, want 1 accepted and 12 bytes each way", st)
	}
}

// TestEffectiveNamesTheEngineAndLoops: what the listening event reports is
// what Serve will run.
func TestEffectiveNamesTheEngineAndLoops(t *testing.T) {
	for _, c := range []struct {
		s         *TCP
		engine    Engine
		loops     int
		onlyLinux bool
	}{
		{&TCP{Engine: EngineGoroutines, Loops: 3}, EngineGoroutines, 0, false},
		{&TCP{Engine: EngineLoops, Loops: 3}, EngineLoops, 3, true},
		{&TCP{Loops: 2}, EngineLoops, 2, true},
	} {
		if c.onlyLinux && runtime.GOOS != "linux" {
			continue
		}
		if e, n := c.s.Effective(); e != c.engine || n != c.loops {
			t.Errorf("engine %q, loops %d: Effective() = %s, %d; want %s, %d", c.s.Engine, c.s.Loops, e, n, c.engine, c.loops)
		}
	}
}

// TestUnknownEngineIsRefused: a typo in an engine's name is an error that
// names the ones there are, and the socket is not left open.
func TestUnknownEngineIsRefused(t *testing.T) {
	l, err := Listen(t.Context(), loopback4, true, true)
	if err != nil {
		t.Fatal(err)
	}
	addr := l.TCP.Addr().String()
	if err := (&TCP{Engine: "epol"}).Serve(t.Context(), l.TCP); err == nil || !strings.Contains(err.Error(), `"loops"`) {
		t.Errorf("TCP Serve with engine epol = %v, want an error naming the engines", err)
	}
	if err := (&UDP{Engine: "epol"}).Serve(t.Context(), l.UDP); err == nil {
		t.Error("UDP Serve with engine epol returned nil")
	}
	if c, err := net.Dial("tcp", addr); err == nil {
		c.Close()
		t.Error("the listener is still open after Serve refused to run")
	}
}

// tcpServesAUnixStreamSocket: the stream server takes a Unix listener as it
// takes a TCP one; the peer, which has no address, is logged as null.
func tcpServesAUnixStreamSocket(t *testing.T, e Engine) {
	path := filepath.Join(t.TempDir(), "echo.sock")
	ln, err := net.Listen("unix", path)
	if err != nil {
		t.Skipf("no Unix sockets here: %v", err)
	}
	logs := &logBuffer{}
	s := &TCP{Engine: e, Log: zerolog.New(logs)}
	ctx, cancel := context.WithCancel(t.Context())
	errc := make(chan error, 1)
	go func() { errc <- s.Serve(ctx, ln) }()
	defer func() {
		cancel()
		if err := <-errc; err != nil {
			t.Errorf("Serve: %v", err)
		}
	}()
	nc, err := net.DialTimeout("unix", path, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	c := nc.(*net.UnixConn)
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	roundTrip(t, c, "over a file")
	c.CloseWrite()
	if rest, err := io.ReadAll(c); err != nil || len(rest) != 0 {
		t.Fatalf("after the half-close: read %q, %v; want the server to close", rest, err)
	}
	logs.waitFor(t, `"peer":null,"bytes_in":11,"bytes_out":11,`)
}

// tcpWriteTimeoutClosesAPeerThatStopsReading: a peer that writes and never
// reads holds the server's echo and the kernel's buffers; the write
// timeout, not the far longer idle timeout, ends it, within a margin.
func tcpWriteTimeoutClosesAPeerThatStopsReading(t *testing.T, e Engine) {
	const limit = 300 * time.Millisecond
	logs := &logBuffer{}
	addr, _, _ := serveTCP(t, &TCP{Engine: e, IdleTimeout: time.Hour, WriteTimeout: limit, Log: zerolog.New(logs)})
	c := slowReader(t, addr)
	start := time.Now()
	werr := make(chan error, 1)
	go func() {
		_, err := c.Write(make([]byte, 64<<20)) // ends when the server closes
		werr <- err
	}()
	if err := <-werr; err == nil {
		t.Fatal("64 MiB written to a server that closed the connection without reading it all")
	}
	took := time.Since(start)
	logs.waitFor(t, `"reason":"write timeout: the peer stopped reading its echo"`)
	// The stall starts once the buffers of both ends are full, a few
	// milliseconds in; the scan adds up to an eighth of the limit.
	if took < limit || took > limit+time.Second {
		t.Errorf("closed after %v; want between %v and %v", took, limit, limit+time.Second)
	}
}

// tcpBuffersGoBackAfterABurst: clients that stop reading each hold an echo
// in a buffer borrowed from the pool; once they are gone the buffers go
// back, and the memory is released to the system.
func tcpBuffersGoBackAfterABurst(t *testing.T, e Engine) {
	released := make(chan struct{}, 1)
	s := &TCP{Engine: e}
	s.bulk.released = func() { released <- struct{}{} }
	addr, _, _ := serveTCP(t, s)
	const stalled = burstBuffers + 4
	big := make([]byte, 64<<20) // more than the kernel buffers of both ends; shared, only read
	clients := make([]*net.TCPConn, stalled)
	for i := range clients {
		clients[i] = slowReader(t, addr)
		go clients[i].Write(big) // ends when the client closes
	}
	// Every client stalled at once, each holding an echo in a buffer.
	waitStats(t, func() bool { return s.bulk.lent.Load() >= stalled })
	for _, c := range clients {
		c.Close()
	}
	select {
	case <-released:
	case <-time.After(10 * time.Second):
		t.Fatalf("no release after the burst; %d buffers still lent", s.bulk.lent.Load())
	}
	if n := s.bulk.lent.Load(); n > idleBuffers {
		t.Errorf("%d buffers still lent after every stalled client left", n)
	}
}

// endpoint reads an address object of the log, {"ip": ..., "port": ...},
// back as ip:port.
func endpoint(v any) string {
	m, ok := v.(map[string]any)
	if !ok {
		return fmt.Sprint(v)
	}
	return net.JoinHostPort(fmt.Sprint(m["ip"]), fmt.Sprint(m["port"]))
}
