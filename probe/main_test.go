package probe

import (
	"encoding/binary"
	"io"
	"net"
	"net/netip"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// connDeadline bounds every connection a test server accepts: a test that
// hangs fails on an I/O timeout within a minute, naming the connection,
// instead of at the end of go test's timeout. Set once when the connection
// is made, it costs nothing per read.
const connDeadline = time.Minute

// serveTCP calls handle for each connection accepted on 127.0.0.1:0 until
// the test ends, then closes the listener and every connection and waits
// for the handlers to return.
func serveTCP(tb testing.TB, handle func(net.Conn)) Target {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	serveStream(tb, ln, handle)
	return targetOf("tcp", ln.Addr())
}

// serveUnix is serveTCP on a Unix stream socket in a temporary directory.
func serveUnix(tb testing.TB, handle func(net.Conn)) Target {
	tb.Helper()
	path := filepath.Join(tb.TempDir(), "echo.sock")
	ln, err := net.Listen("unix", path)
	if err != nil {
		tb.Skipf("no Unix sockets here: %v", err)
	}
	serveStream(tb, ln, handle)
	return Target{Network: "unix", Path: path}
}

// serveStream calls handle for each connection accepted on ln until the
// test ends, then closes ln and every connection and waits for the
// handlers to return.
func serveStream(tb testing.TB, ln net.Listener, handle func(net.Conn)) {
	var (
		wg     sync.WaitGroup
		mu     sync.Mutex
		conns  []net.Conn
		closed bool
	)
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.SetDeadline(time.Now().Add(connDeadline))
			mu.Lock()
			if closed {
				c.Close()
			} else {
				conns = append(conns, c)
				wg.Go(func() { handle(c); c.Close() })
			}
			mu.Unlock()
		}
	})
	tb.Cleanup(func() {
		ln.Close()
		mu.Lock()
		closed = true
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
}

// serveUDP runs handle on a UDP socket bound to 127.0.0.1:0 until the test
// ends, then closes the socket and waits for handle to return.
func serveUDP(tb testing.TB, handle func(*net.UDPConn)) Target {
	tb.Helper()
	pc, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.MustParseAddrPort("127.0.0.1:0")))
	if err != nil {
		tb.Fatal(err)
	}
	pc.SetDeadline(time.Now().Add(connDeadline))
	var wg sync.WaitGroup
	wg.Go(func() { handle(pc) })
	tb.Cleanup(func() {
		pc.Close()
		wg.Wait()
	})
	return targetOf("udp", pc.LocalAddr())
}

// serveUnixgram runs handle on a Unix datagram socket in a temporary
// directory until the test ends, as serveUDP does.
func serveUnixgram(tb testing.TB, handle func(*net.UnixConn)) Target {
	tb.Helper()
	path := filepath.Join(tb.TempDir(), "echo.dgram")
	pc, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		tb.Skipf("no Unix datagram sockets here: %v", err)
	}
	pc.SetDeadline(time.Now().Add(connDeadline))
	var wg sync.WaitGroup
	wg.Go(func() { handle(pc) })
	tb.Cleanup(func() {
		pc.Close()
		wg.Wait()
	})
	return Target{Network: "unixgram", Path: path}
}

// unixgramEcho answers each datagram to the name that sent it, and hands
// that name to seen, if not nil.
func unixgramEcho(seen func(string)) func(*net.UnixConn) {
	return func(pc *net.UnixConn) {
		buf := make([]byte, 64<<10)
		for {
			n, from, err := pc.ReadFromUnix(buf)
			if err != nil {
				return
			}
			if seen != nil {
				seen(from.Name)
			}
			if _, err := pc.WriteToUnix(buf[:n], from); err != nil {
				return
			}
		}
	}
}

func targetOf(network string, a net.Addr) Target {
	ap := netip.MustParseAddrPort(a.String())
	return Target{Network: network, Host: ap.Addr().String(), Port: ap.Port()}
}

// tcpEcho writes back whatever it reads, in a loop that allocates nothing,
// so that benchmarks count only the probe's allocations.
func tcpEcho(c net.Conn) {
	buf := make([]byte, 64<<10)
	for {
		n, err := c.Read(buf)
		if err != nil {
			return
		}
		if _, err := c.Write(buf[:n]); err != nil {
			return
		}
	}
}

// tcpEchoWith reads size-byte requests and lets edit change each one in
// place before it goes back; when edit returns false the reply is withheld
// and the connection left open, silent, until the test closes it.
func tcpEchoWith(size int, edit func(seq uint64, b []byte) bool) func(net.Conn) {
	return func(c net.Conn) {
		buf := make([]byte, size)
		for {
			if _, err := io.ReadFull(c, buf); err != nil {
				return
			}
			if !edit(binary.BigEndian.Uint64(buf), buf) {
				io.Copy(io.Discard, c)
				return
			}
			if _, err := c.Write(buf); err != nil {
				return
			}
		}
	}
}

// udpEchoWith echoes datagrams; a non-nil edit may change one in place, or
// return false to drop it.
func udpEchoWith(edit func(seq uint64, b []byte) bool) func(*net.UDPConn) {
	return func(pc *net.UDPConn) {
		buf := make([]byte, 64<<10)
		for {
			n, from, err := pc.ReadFromUDPAddrPort(buf)
			if err != nil {
				return
			}
			b := buf[:n]
			if edit != nil && n >= 8 && !edit(binary.BigEndian.Uint64(b), b) {
				continue
			}
			if _, err := pc.WriteToUDPAddrPort(b, from); err != nil {
				return
			}
		}
	}
}

// freePort returns a port on 127.0.0.1 that was just free: it binds one
// and closes it again.
func freePort(t *testing.T, network string) Target {
	t.Helper()
	var a net.Addr
	if network == "tcp" {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		a = ln.Addr()
		ln.Close()
	} else {
		pc, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		a = pc.LocalAddr()
		pc.Close()
	}
	return targetOf(network, a)
}

// checkOrdered fails the test unless the statistics are consistent.
func checkOrdered(t *testing.T, r *Result) {
	t.Helper()
	q := []time.Duration{r.Min, r.Quantile(50), r.Quantile(90), r.Quantile(99), r.Quantile(99.9), r.Max}
	for i := 1; i < len(q); i++ {
		if q[i] < q[i-1] {
			t.Errorf("min, p50, p90, p99, p99.9, max = %v: not ordered", q)
			return
		}
	}
	if r.Min <= 0 || r.Mean() < r.Min || r.Mean() > r.Max {
		t.Errorf("min %v, mean %v, max %v: inconsistent", r.Min, r.Mean(), r.Max)
	}
}
