package probe

import (
	"context"
	"encoding/binary"
	"io"
	"net"
	"slices"
	"testing"
	"testing/synctest"
	"time"

	"github.com/rs/zerolog"
)

// pipeRun runs a session over net.Pipe against serve, so that it can run
// inside a synctest bubble, where loopback sockets cannot. The pipe needs
// no deadline of its own: a bubble whose goroutines all block fails at
// once as deadlocked.
func pipeRun(ctx context.Context, t *testing.T, o Options, serve func(net.Conn)) *Result {
	t.Helper()
	client, server := net.Pipe()
	done := make(chan struct{})
	go func() {
		defer close(done)
		serve(server)
		server.Close()
	}()
	res := NewResult(Target{"tcp", "127.0.0.1", 7, ""}, o)
	err := newFakeClockSession(client, res, o).run(ctx)
	client.Close()
	<-done
	if err != nil {
		t.Errorf("run: %v", err)
	}
	return res
}

// slowEcho echoes 64-byte requests, noting when each arrived, and takes
// delay(seq) to answer.
func slowEcho(arrivals *[]time.Duration, delay func(seq uint64) time.Duration) func(net.Conn) {
	start := time.Now()
	return func(c net.Conn) {
		buf := make([]byte, 64)
		for {
			if _, err := io.ReadFull(c, buf); err != nil {
				return
			}
			*arrivals = append(*arrivals, time.Since(start))
			time.Sleep(delay(binary.BigEndian.Uint64(buf)))
			if _, err := c.Write(buf); err != nil {
				return
			}
		}
	}
}

func millis(n ...int) []time.Duration {
	d := make([]time.Duration, len(n))
	for i, v := range n {
		d[i] = time.Duration(v) * time.Millisecond
	}
	return d
}

// TestSchedule checks that sends follow start + i*interval: round trip 1
// takes 25ms, so 2 and 3 (due at 20 and 30) go out at once at 35, and 4 is
// back on time at 40. A relative "sleep after each reply" would send 4 at 55.
func TestSchedule(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var got []time.Duration
		serve := slowEcho(&got, func(seq uint64) time.Duration {
			if seq == 1 {
				return 25 * time.Millisecond
			}
			return 0
		})
		o := Options{Count: 6, Size: 64, Interval: 10 * time.Millisecond, Timeout: time.Second}
		r := pipeRun(t.Context(), t, o, serve)
		if want := millis(0, 10, 35, 35, 40, 50); !slices.Equal(got, want) {
			t.Errorf("sends at %v, want %v", got, want)
		}
		if r.Behind != 2 || r.Elapsed != 50*time.Millisecond || r.Max != 25*time.Millisecond || r.Received != 6 {
			t.Errorf("behind %d, elapsed %v, max %v, received %d; want 2, 50ms, 25ms, 6", r.Behind, r.Elapsed, r.Max, r.Received)
		}
	})
}

func TestScheduleWarmup(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var got []time.Duration
		serve := slowEcho(&got, func(uint64) time.Duration { return time.Millisecond })
		o := Options{Count: 4, Warmup: 2, Size: 64, Interval: 10 * time.Millisecond, Timeout: time.Second}
		r := pipeRun(t.Context(), t, o, serve)
		if want := millis(0, 10, 20, 30, 40, 50); !slices.Equal(got, want) {
			t.Errorf("sends at %v, want %v", got, want)
		}
		// Recording starts with the first send after warm-up, at 20ms, and
		// ends with the last reply, at 51ms.
		if r.Sent != 4 || r.Received != 4 || r.Elapsed != 31*time.Millisecond || r.Behind != 0 {
			t.Errorf("sent %d, received %d, elapsed %v, behind %d; want 4, 4, 31ms, 0", r.Sent, r.Received, r.Elapsed, r.Behind)
		}
	})
}

func TestScheduleDuration(t *testing.T) {
	tests := []struct {
		name     string
		interval time.Duration
		rtt      time.Duration
		wantSent uint64
	}{
		{"interval", 10 * time.Millisecond, 0, 10},    // sends at 0..90ms
		{"back to back", 0, 3 * time.Millisecond, 34}, // sends at 0..99ms
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				var got []time.Duration
				serve := slowEcho(&got, func(uint64) time.Duration { return tt.rtt })
				o := Options{Count: 1, Duration: 100 * time.Millisecond, Size: 64, Interval: tt.interval, Timeout: time.Second}
				r := pipeRun(t.Context(), t, o, serve)
				if r.Sent != tt.wantSent || r.Received != tt.wantSent {
					t.Errorf("sent %d, received %d, want %d", r.Sent, r.Received, tt.wantSent)
				}
			})
		})
	}
}

// TestCancelWhileWaiting cancels while the run sleeps until the next send
// is due: it must not sleep on.
func TestCancelWhileWaiting(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		var got []time.Duration
		done := make(chan *Result)
		go func() {
			o := Options{Count: 3, Size: 64, Interval: time.Hour, Timeout: time.Second}
			done <- pipeRun(ctx, t, o, slowEcho(&got, func(uint64) time.Duration { return 0 }))
		}()
		synctest.Wait() // the first round trip is done; the run waits for the second
		cancel()
		r := <-done
		if !r.Interrupted || r.Sent != 1 || r.Received != 1 || r.Elapsed != 0 || r.OK() {
			t.Errorf("interrupted %v, sent %d, received %d, elapsed %v, OK() %v; want true, 1, 1, 0s, false",
				r.Interrupted, r.Sent, r.Received, r.Elapsed, r.OK())
		}
	})
}

// newFakeClockSession is a session that never yields while waiting for a
// send, which a synctest bubble needs to advance its clock.
func newFakeClockSession(conn net.Conn, res *Result, o Options) *session {
	s := newSession(0, opened{conn: conn}, res, o, zerolog.Logger{}, time.Now(), nil)
	s.spinBelow = 0
	return s
}
