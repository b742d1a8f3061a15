package probe

import (
	"fmt"
	"io"
	"testing"
	"time"

	"github.com/rs/zerolog"
)

// newBenchSession connects to an in-test echo server and returns a closed
// loop ready to step, with a logger that drops debug events, as in
// production.
func newBenchSession(tb testing.TB, network string, size int) *loop {
	tb.Helper()
	target := serveTCP(tb, tcpEcho)
	if network == "udp" {
		target = serveUDP(tb, udpEchoWith(nil))
	}
	o := Options{Count: 1, Size: size, Timeout: 5 * time.Second,
		Log: zerolog.New(io.Discard).Level(zerolog.InfoLevel)}
	conn, addr, _, err := open(tb.Context(), target, o, zerolog.Logger{})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { conn.Close() })
	res := NewResult(target, o)
	res.Addr = addr
	s := newSession(0, opened{conn: conn, addr: addr}, res, o, o.Log, time.Now(), nil)
	if err := s.pickReaders(); err != nil { // as run does
		tb.Fatal(err)
	}
	return newLoop(s)
}

// benchStep does the next round trip, the loop body of loop.run.
func (l *loop) benchStep(tb testing.TB) {
	if !l.step(tb.Context(), nil) {
		tb.Fatalf("round trip %d stopped the run: %s", l.seq, l.res.Aborted)
	}
	l.seq++
}

func BenchmarkRoundTrip(b *testing.B) {
	for _, network := range []string{"tcp", "udp"} {
		for _, size := range []int{64, 1400} {
			b.Run(fmt.Sprintf("%s/%d", network, size), func(b *testing.B) {
				s := newBenchSession(b, network, size)
				b.ReportAllocs()
				for b.Loop() {
					s.benchStep(b)
				}
				if s.t.Received != s.t.Sent {
					b.Fatalf("received %d of %d", s.t.Received, s.t.Sent)
				}
				b.ReportMetric(float64(s.t.dist.Quantile(50)), "p50-ns")
			})
		}
	}
}

// TestRoundTripAllocs keeps the hot loop allocation-free without waiting
// for someone to run the benchmarks. It cannot be parallel: AllocsPerRun
// counts every goroutine's allocations.
func TestRoundTripAllocs(t *testing.T) {
	for _, network := range []string{"tcp", "udp"} {
		t.Run(network, func(t *testing.T) {
			s := newBenchSession(t, network, 64)
			if n := testing.AllocsPerRun(200, func() { s.benchStep(t) }); n != 0 {
				t.Errorf("a round trip allocates %v times, want 0", n)
			}
		})
	}
}
