package probe

import (
	"io"
	"net"
	"strings"
	"testing"
	"time"
)

func TestConnectModeTimesEachConnection(t *testing.T) {
	t.Parallel()
	target := serveTCP(t, tcpEcho)
	r, err := Run(t.Context(), target, Options{Mode: ModeConnect, Count: 50, Warmup: 2, Size: 64, Timeout: 5 * time.Second, Concurrency: 2})
	if err != nil {
		t.Fatal(err)
	}
	if !r.OK() || r.Sent != 100 || r.Received != 100 || r.Connects == nil || r.Connects.Count() != 100 {
		t.Fatalf("ok %v, sent %d, received %d, connects %v; want 100 samples on 2 connections", r.OK(), r.Sent, r.Received, r.Connects)
	}
	checkAddsUp(t, r.Counts)
	// A sample is connect + echo + close, so it takes longer than its
	// connect alone.
	if r.Connects.Min > r.Min || r.Connects.Quantile(50) > r.Quantile(50) {
		t.Errorf("connect p50 %v > sample p50 %v", r.Connects.Quantile(50), r.Quantile(50))
	}
}

func TestThroughputVerifiesEveryByte(t *testing.T) {
	t.Parallel()
	r, err := Run(t.Context(), serveTCP(t, tcpEcho), Options{Mode: ModeThroughput, Count: 1, Duration: 100 * time.Millisecond, Size: 64, Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if !r.OK() || r.BytesSent == 0 || r.BytesReceived != r.BytesSent || r.SendGbps() <= 0 {
		t.Errorf("ok %v, sent %d, received %d, %v Gbit/s: want every byte back", r.OK(), r.BytesSent, r.BytesReceived, r.SendGbps())
	}
}

func TestThroughputCatchesOneFlippedByte(t *testing.T) {
	t.Parallel()
	flipper := func(c net.Conn) {
		buf := make([]byte, 32<<10)
		var off int
		for {
			n, err := c.Read(buf)
			if off <= 100000 && 100000 < off+n {
				buf[100000-off] ^= 1
			}
			off += n
			if _, werr := c.Write(buf[:n]); werr != nil || err != nil {
				io.Copy(io.Discard, c)
				return
			}
		}
	}
	r, err := Run(t.Context(), serveTCP(t, flipper), Options{Mode: ModeThroughput, Count: 1, Duration: 100 * time.Millisecond, Size: 64, Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if r.OK() || r.Corrupt != 1 || !strings.Contains(r.Aborted, "differs from what was sent") {
		t.Errorf("ok %v, corrupt %d, aborted %q; want the flipped byte caught", r.OK(), r.Corrupt, r.Aborted)
	}
}

func TestModesAreForStreamsOnly(t *testing.T) {
	t.Parallel()
	for _, target := range []Target{{"udp", "127.0.0.1", 7, ""}, {Network: "unixgram", Path: "/nonexistent"}} {
		for _, m := range []Mode{ModeConnect, ModeThroughput} {
			_, err := Run(t.Context(), target, Options{Mode: m, Count: 1, Duration: time.Second, Size: 64, Timeout: time.Second})
			if err == nil || !strings.Contains(err.Error(), "measures streams only") {
				t.Errorf("mode %s over %s: %v", m, target.Network, err)
			}
		}
	}
}
