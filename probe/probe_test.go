package probe

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"
)

func TestRunEcho(t *testing.T) {
	t.Parallel()
	tests := []struct {
		network string
		size    int
	}{
		{"tcp", MinSize},
		{"tcp", 1500},
		{"tcp", 256 << 10},
		{"udp", MinSize + 5},
		{"udp", 1500},
		{"udp", MaxUDPSize},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%s/%d", tt.network, tt.size), func(t *testing.T) {
			t.Parallel()
			target := serveTCP(t, tcpEcho)
			if tt.network == "udp" {
				target = serveUDP(t, udpEchoWith(nil))
			}
			o := Options{Count: 200, Size: tt.size, Timeout: 5 * time.Second, Warmup: 5,
				Log: zerolog.New(zerolog.NewTestWriter(t)).Level(zerolog.InfoLevel)}
			r, err := Run(t.Context(), target, o)
			if err != nil {
				t.Fatalf("Run: %v", err)
			}
			if r.Sent != 200 || r.Received != 200 || r.Lost != 0 || r.Corrupt != 0 || r.Late != 0 || r.Aborted != "" {
				t.Fatalf("sent %d received %d lost %d corrupt %d late %d aborted %q, want 200 intact",
					r.Sent, r.Received, r.Lost, r.Corrupt, r.Late, r.Aborted)
			}
			if !r.OK() {
				t.Error("OK() = false, want true")
			}
			checkAddsUp(t, r.Counts)
			if uint64(r.RTT.TotalCount()) != r.Received {
				t.Errorf("histogram holds %d RTTs, want %d", r.RTT.TotalCount(), r.Received)
			}
			if (r.Connect > 0) != (tt.network == "tcp") || r.Elapsed < r.Max {
				t.Errorf("connect %v, elapsed %v, max %v", r.Connect, r.Elapsed, r.Max)
			}
			checkOrdered(t, r)
		})
	}
}

func TestRunHostName(t *testing.T) {
	t.Parallel()
	target := serveTCP(t, tcpEcho)
	target.Host = "localhost"
	log := zerolog.New(zerolog.NewTestWriter(t)).Level(zerolog.DebugLevel)
	r, err := Run(t.Context(), target, Options{Count: 3, Size: 64, Timeout: 5 * time.Second, Log: log})
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if !r.OK() || r.Addr.Addr().String() != "127.0.0.1" {
		t.Errorf("OK() = %v, addr %v; want true, 127.0.0.1", r.OK(), r.Addr)
	}
}

func TestRunRefused(t *testing.T) {
	t.Parallel()
	for _, network := range []string{"tcp", "udp"} {
		t.Run(network, func(t *testing.T) {
			t.Parallel()
			target := freePort(t, network)
			r, err := Run(t.Context(), target, Options{Count: 3, Size: 64, Timeout: 5 * time.Second})
			want := fmt.Sprintf("connection refused: nothing listening on 127.0.0.1:%d", target.Port)
			if err == nil || err.Error() != want {
				t.Fatalf("Run error = %v, want %q", err, want)
			}
			// The Result says what was learnt: the address tried, and that
			// nothing was measured.
			if !errors.Is(err, ErrRefused) || ErrorCode(err) != "refused" || r.Addr.Port() != target.Port || r.Sent != 0 || r.Received != 0 {
				t.Errorf("errors.Is(err, ErrRefused) = %v, code %q, result %+v; want true, refused, the address and nothing sent",
					errors.Is(err, ErrRefused), ErrorCode(err), r)
			}
		})
	}
}

func TestRunBadOptions(t *testing.T) {
	t.Parallel()
	good := Options{Count: 1, Size: 64, Timeout: time.Second}
	target := Target{"udp", "127.0.0.1", 7, ""}
	tests := []struct {
		name string
		edit func(*Options, *Target)
		want string
	}{
		{"no count", func(o *Options, _ *Target) { o.Count = 0 }, "count 0: need at least 1 round trip, or a duration"},
		{"small", func(o *Options, _ *Target) { o.Size = 15 }, "size 15: must be 16-65507 bytes for udp"},
		{"big udp", func(o *Options, _ *Target) { o.Size = MaxUDPSize + 1 }, "size 65508: must be 16-65507 bytes for udp"},
		{"big tcp", func(o *Options, t *Target) { o.Size, t.Network = MaxTCPSize+1, "tcp" }, "size 1048577: must be 16-1048576 bytes for tcp"},
		{"no timeout", func(o *Options, _ *Target) { o.Timeout = 0 }, "timeout 0s: must be positive"},
		{"interval", func(o *Options, _ *Target) { o.Interval = -1 }, "interval -1ns: must not be negative"},
		{"warmup", func(o *Options, _ *Target) { o.Warmup = -1 }, "warm-up -1: must not be negative"},
		{"network", func(_ *Options, t *Target) { t.Network = "sctp" }, `target network "sctp": must be tcp, udp, unix or unixgram`},
		{"port", func(_ *Options, t *Target) { t.Port = 0 }, "target port 0 cannot be probed: nothing listens on port 0"},
		{"split datagrams", func(o *Options, _ *Target) { o.Split = true }, "split: only the requests of a stream's round trips can be split (tcp or unix, mode rtt)"},
		{"split a stream", func(o *Options, t *Target) {
			o.Split, o.Mode, o.Duration, t.Network = true, ModeThroughput, time.Second, "tcp"
		},
			"split: only the requests of a stream's round trips can be split (tcp or unix, mode rtt)"},
		{"nagle", func(o *Options, t *Target) { o.Nagle, t.Network, t.Path = true, "unix", "/x" }, "nagle: Nagle's algorithm is TCP's, not unix's"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o, target := good, target
			tt.edit(&o, &target)
			if _, err := Run(t.Context(), target, o); err == nil || err.Error() != tt.want {
				t.Errorf("Run error = %v, want %q", err, tt.want)
			}
		})
	}
}

// TestValidateNamesEveryProblem: Validate lists every value Run would
// refuse, each with the Options field it is in, for the caller to name.
func TestValidateNamesEveryProblem(t *testing.T) {
	t.Parallel()
	o := Options{Count: 0, Duration: -1, Size: 8, Timeout: 0, Interval: -1, Warmup: -1, Concurrency: -1, Mode: ModeConnect}
	err := o.Validate("udp")
	want := []string{"Count", "Duration", "Size", "Timeout", "Interval", "Warmup", "Concurrency", "Mode"}
	var fields []string
	for _, e := range err.(interface{ Unwrap() []error }).Unwrap() {
		oe, ok := errors.AsType[*OptionError](e)
		if !ok {
			t.Fatalf("%v (%T) is no *OptionError", e, e)
		}
		fields = append(fields, oe.Field)
	}
	if !slices.Equal(fields, want) {
		t.Errorf("fields %v, want %v", fields, want)
	}
	if lines := strings.Split(err.Error(), "\n"); len(lines) != len(want) || lines[2] != "size 8: must be 16-65507 bytes for udp" {
		t.Errorf("error text, one line each:\n%v", err)
	}
	if err := (Options{Count: 1, Size: 64, Timeout: time.Second}).Validate("tcp"); err != nil {
		t.Errorf("good options: %v", err)
	}
}

func TestRunInterval(t *testing.T) {
	t.Parallel()
	target := serveUDP(t, udpEchoWith(nil))
	const n, gap = 10, 5 * time.Millisecond
	r, err := Run(t.Context(), target, Options{Count: n, Size: 64, Interval: gap, Timeout: 5 * time.Second})
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	// The last send is due (n-1) gaps after the first; an ignored interval
	// would finish in well under a millisecond.
	if r.Received != n || r.Elapsed < (n-1)*gap {
		t.Errorf("received %d in %v, want %d in at least %v", r.Received, r.Elapsed, n, (n-1)*gap)
	}
}

// TestRunCancelDuringRead cancels while the server withholds a reply: Run
// must give up the read at once and keep what it had.
func TestRunCancelDuringRead(t *testing.T) {
	t.Parallel()
	for _, network := range []string{"tcp", "udp"} {
		t.Run(network, func(t *testing.T) {
			t.Parallel()
			held := make(chan struct{})
			hold := func(seq uint64, _ []byte) bool {
				if seq == 2 {
					close(held)
					return false
				}
				return true
			}
			target := serveTCP(t, tcpEchoWith(64, hold))
			if network == "udp" {
				target = serveUDP(t, udpEchoWith(hold))
			}
			ctx, cancel := context.WithCancel(t.Context())
			done := make(chan *Result, 1)
			go func() {
				r, err := Run(ctx, target, Options{Count: 5, Size: 64, Timeout: time.Hour})
				if err != nil {
					t.Errorf("Run: %v", err)
				}
				done <- r
			}()
			<-held
			cancel()
			var r *Result
			select {
			case r = <-done:
			case <-time.After(30 * time.Second):
				t.Fatal("Run still blocked 30s after cancel")
			}
			if r == nil {
				return
			}
			// An interrupted run proved nothing, however well it went.
			if r.Aborted != "interrupted" || !r.Interrupted || r.Sent != 2 || r.Received != 2 || r.OK() || ErrorCode(r.Err()) != "interrupted" {
				t.Errorf("aborted %q, sent %d, received %d, OK() %v, %v; want interrupted, 2, 2, false, interrupted",
					r.Aborted, r.Sent, r.Received, r.OK(), r.Err())
			}
			want := fmt.Sprintf("%s: interrupted after 2 round trips: context canceled", target)
			if err := r.Err(); err.Error() != want || !errors.Is(err, context.Canceled) {
				t.Errorf("Err() = %v, want %q, wrapping the context's cause", err, want)
			}
			checkAddsUp(t, r.Counts)
		})
	}
}

func TestRunCancelledBeforeStart(t *testing.T) {
	t.Parallel()
	target := serveUDP(t, udpEchoWith(nil))
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	r, err := Run(ctx, target, Options{Count: 5, Size: 64, Timeout: time.Hour})
	want := fmt.Sprintf("interrupted while connecting to %s: context canceled", target)
	if err == nil || err.Error() != want || !errors.Is(err, context.Canceled) || !errors.Is(err, ErrInterrupted) || !r.Interrupted || r.Sent != 0 {
		t.Errorf("Run = %+v, %v; want an interrupted Result that measured nothing, %q", r, err, want)
	}
}

// TestRunSplit: a request in two writes comes back whole from a server
// that reads whole requests, over TCP (with Nagle's algorithm on or off)
// and a Unix stream.
func TestRunSplit(t *testing.T) {
	t.Parallel()
	whole := tcpEchoWith(64, func(uint64, []byte) bool { return true })
	for _, tt := range []struct {
		name   string
		target Target
		o      Options
	}{
		{"tcp", serveTCP(t, whole), Options{}},
		{"tcp with Nagle", serveTCP(t, whole), Options{Nagle: true}},
		{"unix", serveUnix(t, whole), Options{}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			o := tt.o
			o.Split, o.Count, o.Size, o.Timeout, o.Warmup = true, 5, 64, 5*time.Second, 0
			r, err := Run(t.Context(), tt.target, o)
			if err != nil || !r.OK() || r.Received != 5 {
				t.Errorf("%v, ok %v, received %d, aborted %q; want 5 intact", err, r.OK(), r.Received, r.Aborted)
			}
		})
	}
}

// TestRunTCPServerGoesAway: each way a server can fail a stream once
// round trips have started is named, in words and by its code.
func TestRunTCPServerGoesAway(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		handle func(net.Conn)
		want   string
		code   string
		warmup int
	}{
		{"closes before replying", func(c net.Conn) { io.ReadFull(c, make([]byte, 64)) },
			"closed early: the server closed the connection (FIN) after 0 round trips; nothing came back: is it an echo server?", "no_reply", 0},
		{"closes mid-reply", func(c net.Conn) { io.ReadFull(c, make([]byte, 64)); c.Write(make([]byte, 10)) },
			"closed early: the server closed the connection (FIN) mid-reply (10 of 64 bytes) after 0 round trips; 10 bytes had come back", "closed", 0},
		{"resets after 3", resetAfter(3), "reset: the server reset the connection (RST) after 3 round trips; 192 bytes had come back", "reset", 0},
		{"never replies", func(c net.Conn) { io.Copy(io.Discard, c) },
			"nothing came back: is it an echo server? (request 1 sent, no reply within 100ms)", "no_reply", 0},
		{"never replies in warm-up", func(c net.Conn) { io.Copy(io.Discard, c) },
			"nothing came back: is it an echo server? (warm-up request 1 sent, no reply within 100ms)", "no_reply", 2},
		{"resets in warm-up", resetAfter(1), "reset: the server reset the connection (RST) during warm-up (round trip 2 of 3); 64 bytes had come back", "reset", 3},
		{"half a reply", func(c net.Conn) { io.ReadFull(c, make([]byte, 64)); c.Write(make([]byte, 10)); io.Copy(io.Discard, c) },
			"timed out: reply 1 did not come within 100ms (10 of 64 bytes of the reply came back); the stream cannot resynchronise", "timeout", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			target := serveTCP(t, tt.handle)
			o := Options{Count: 5, Size: 64, Timeout: 100 * time.Millisecond, Warmup: tt.warmup}
			r, err := Run(t.Context(), target, o)
			if err != nil {
				t.Fatalf("Run: %v", err)
			}
			if r.Aborted != tt.want || r.OK() || (tt.warmup > 0 && r.Sent != 0) || ErrorCode(r.Err()) != tt.code {
				t.Errorf("aborted %q, OK() %v, code %q; want %q, false, %s", r.Aborted, r.OK(), ErrorCode(r.Err()), tt.want, tt.code)
			}
			checkAddsUp(t, r.Counts)
		})
	}
}

// resetAfter echoes n requests of 64 bytes, then reads one more and resets
// the connection.
func resetAfter(n int) func(net.Conn) {
	return func(c net.Conn) {
		buf := make([]byte, 64)
		for range n {
			if _, err := io.ReadFull(c, buf); err != nil {
				return
			}
			c.Write(buf)
		}
		io.ReadFull(c, buf)
		c.(*net.TCPConn).SetLinger(0) // close with RST
	}
}

func TestRunTCPCorrupt(t *testing.T) {
	t.Parallel()
	target := serveTCP(t, tcpEchoWith(64, func(seq uint64, b []byte) bool {
		if seq == 7 {
			b[63] ^= 1
		}
		return true
	}))
	r, err := Run(t.Context(), target, Options{Count: 20, Size: 64, Timeout: 5 * time.Second})
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if r.Sent != 20 || r.Received != 19 || r.Corrupt != 1 || r.Lost != 0 || r.Aborted != "" || r.OK() {
		t.Errorf("sent %d received %d corrupt %d lost %d aborted %q OK() %v; want 20 19 1 0 \"\" false",
			r.Sent, r.Received, r.Corrupt, r.Lost, r.Aborted, r.OK())
	}
}
