package probe

import (
	"errors"
	"io"
	"net"
	"strings"
	"testing"
	"time"
)

// silentUDP binds a UDP socket on 127.0.0.1:0 that takes datagrams and
// never answers: no echo server, and no ICMP port unreachable either.
func silentUDP(t *testing.T) Target {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Close() })
	return targetOf("udp", pc.LocalAddr())
}

// TestSilentTargetFailsFast: a target that answers nothing is given up on
// after about one timeout, however many round trips were asked for, in
// every engine; waiting out each round trip's timeout took minutes.
func TestSilentTargetFailsFast(t *testing.T) {
	t.Parallel()
	const timeout = 300 * time.Millisecond
	udp, tcp := silentUDP(t), serveTCP(t, func(c net.Conn) { io.Copy(io.Discard, c) })
	tests := []struct {
		name   string
		target Target
		o      Options
		sent   uint64 // measured round trips concluded before giving up
		want   string
	}{
		{"udp", udp, Options{Warmup: 10}, 0, "nothing came back: is it an echo server? ("}, // 9 or 10 datagrams, as the timers fall
		{"udp without warm-up", udp, Options{}, 1, "nothing came back: is it an echo server? (1 datagram sent, none answered within 300ms)"},
		{"udp, a long warm-up", udp, Options{Warmup: 100000}, 0, "none answered within 300ms"},
		{"udp on a schedule", udp, Options{Warmup: 10, Interval: 10 * time.Millisecond}, 0, "none answered within 300ms"},
		{"udp busy polling", udp, Options{Warmup: 10, BusyPoll: canSpin}, 0, "none answered within 300ms"},
		{"tcp", tcp, Options{Warmup: 10}, 0, "nothing came back: is it an echo server? (warm-up request 1 sent, no reply within 300ms)"},
		{"tcp connect", tcp, Options{Warmup: 10, Mode: ModeConnect}, 0, "connection 1: no reply within 300ms: nothing came back: is it an echo server?"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			o := tt.o
			o.Count, o.Size, o.Timeout = 1000, 64, timeout
			start := time.Now()
			r, err := Run(t.Context(), tt.target, o)
			took := time.Since(start)
			if err != nil {
				t.Fatal(err)
			}
			// About one timeout; far below the 300 s of 1000 of them.
			if took > 3*timeout+time.Second || !errors.Is(r.Err(), ErrNoReply) || !strings.Contains(r.Aborted, tt.want) || r.Sent != tt.sent {
				t.Errorf("took %v, sent %d, aborted %q, %v; want under %v, %d sent, %q, no reply",
					took, r.Sent, r.Aborted, r.Err(), 3*timeout+time.Second, tt.sent, tt.want)
			}
			checkAddsUp(t, r.Counts)
		})
	}
}

// TestLiveTargetLosingTheFirstDatagramIsNoSilentOne: the warm-up's
// datagrams share the timeout only until something comes back, and a
// lost first one does not condemn an echo server that answers the next.
func TestLiveTargetLosingTheFirstDatagramIsNoSilentOne(t *testing.T) {
	t.Parallel()
	target := serveUDP(t, udpEchoWith(func(seq uint64, _ []byte) bool { return seq != 0 }))
	r, err := Run(t.Context(), target, Options{Count: 20, Warmup: 5, Size: 64, Timeout: time.Second})
	if err != nil || !r.OK() || r.Received != 20 {
		t.Errorf("%v, ok %v, received %d, aborted %q; want 20 intact", err, r.OK(), r.Received, r.Aborted)
	}
}

// TestMaxErrorsEndsTheRun: after MaxErrors failed round trips the run
// ends with what completed, over UDP closed and on a schedule, TCP (a
// corrupt reply does not end a TCP run by itself) and connect mode.
func TestMaxErrorsEndsTheRun(t *testing.T) {
	t.Parallel()
	// Warm-up 0-9 and 5 measured round trips are answered, then nothing.
	answerFirst := func(seq uint64, _ []byte) bool { return seq < 15 }
	corruptAfter := func(seq uint64, b []byte) bool {
		if seq >= 15 {
			b[len(b)-1] ^= 1
		}
		return true
	}
	tests := []struct {
		name   string
		target Target
		o      Options
		want   Counts
	}{
		{"udp", serveUDP(t, udpEchoWith(answerFirst)), Options{}, Counts{Sent: 8, Received: 5, Lost: 3}},
		{"udp on a schedule", serveUDP(t, udpEchoWith(answerFirst)), Options{Interval: time.Millisecond}, Counts{Sent: 8, Received: 5, Lost: 3}},
		{"tcp corrupt", serveTCP(t, tcpEchoWith(64, corruptAfter)), Options{}, Counts{Sent: 8, Received: 5, Corrupt: 3}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			o := tt.o
			o.Count, o.Warmup, o.Size, o.Timeout, o.MaxErrors = 100000, 10, 64, 100*time.Millisecond, 3
			r, err := Run(t.Context(), tt.target, o)
			if err != nil {
				t.Fatal(err)
			}
			want := "max errors reached: 3 of 8 round trips failed (lost, late or corrupt)"
			if r.Counts != tt.want || r.Aborted != want || r.Interrupted || ErrorCode(r.Err()) != "max_errors" {
				t.Errorf("counts %+v, aborted %q, interrupted %v, %v\nwant   %+v, %q, max_errors", r.Counts, r.Aborted, r.Interrupted, r.Err(), tt.want, want)
			}
		})
	}
	// Over several connections the limit is the run's, not each one's.
	r, err := Run(t.Context(), serveUDP(t, udpEchoWith(answerFirst)), Options{Count: 100000, Warmup: 10, Size: 64, Timeout: 100 * time.Millisecond, MaxErrors: 3, Concurrency: 3})
	if failed := r.Lost + r.Late + r.Corrupt; err != nil || failed < 3 || failed > 3+3 || !errors.Is(r.Err(), ErrMaxErrors) {
		t.Errorf("3 connections: %v, %d failed, %v; want 3 to 6 failed, max errors", err, failed, r.Err())
	}
}
