package server

import (
	"encoding/binary"
	"net"
	"testing"
	"time"
)

// echoClient is one connection to a running server and a round trip of
// size bytes over it that allocates nothing on the client's side, so that
// what a benchmark or test counts is the server's.
type echoClient struct {
	conn    net.Conn
	out, in []byte
	udp     bool
	seq     uint64
	tb      testing.TB
}

func newEchoClient(tb testing.TB, network string, size int) *echoClient {
	tb.Helper()
	var addr string
	if network == "tcp" {
		addr, _, _ = serveTCP(tb, &TCP{})
	} else {
		a, _ := serveUDP(tb, &UDP{}, loopback4)
		addr = a.String()
	}
	c, err := net.Dial(network, addr)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { c.Close() })
	// One deadline for the whole run, set once so that it costs the round
	// trips nothing: a server that stops answering fails the benchmark
	// instead of hanging the suite.
	c.SetDeadline(time.Now().Add(30 * time.Second))
	return &echoClient{conn: c, out: make([]byte, size), in: make([]byte, size), udp: network == "udp", tb: tb}
}

func (e *echoClient) roundTrip() {
	// A sequence number in every payload, as the probe and the bench
	// clients send: a client that sends the same bytes back to back is
	// what the UDP guard takes for a loop.
	e.seq++
	binary.LittleEndian.PutUint64(e.out, e.seq)
	if _, err := e.conn.Write(e.out); err != nil {
		e.tb.Fatal(err)
	}
	for got := 0; got < len(e.in); {
		n, err := e.conn.Read(e.in[got:])
		if err != nil {
			e.tb.Fatal(err)
		}
		got += n
	}
}

// TestEchoAllocatesNothing: once a connection is up, an echo costs the
// server no allocation, TCP or UDP, small or large.
func TestEchoAllocatesNothing(t *testing.T) {
	for _, network := range []string{"tcp", "udp"} {
		for _, size := range []int{64, 16 << 10} {
			e := newEchoClient(t, network, size)
			e.roundTrip() // the connection is accepted and served
			if n := testing.AllocsPerRun(500, e.roundTrip); n != 0 {
				t.Errorf("%s, %d bytes: %.2f allocations per echo, want 0", network, size, n)
			}
		}
	}
}

func benchmarkEcho(b *testing.B, network string, size int) {
	e := newEchoClient(b, network, size)
	e.roundTrip()
	b.ReportAllocs()
	b.SetBytes(int64(size))
	for b.Loop() {
		e.roundTrip()
	}
}

// The round trip of one client against the server; allocs/op is the
// server's, since the client allocates nothing.
func BenchmarkTCPEcho64(b *testing.B)  { benchmarkEcho(b, "tcp", 64) }
func BenchmarkTCPEcho16K(b *testing.B) { benchmarkEcho(b, "tcp", 16<<10) }
func BenchmarkUDPEcho64(b *testing.B)  { benchmarkEcho(b, "udp", 64) }
func BenchmarkUDPEcho16K(b *testing.B) { benchmarkEcho(b, "udp", 16<<10) }
