package server

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/rs/zerolog"
)

// tcpManyConnectionsOverSeveralLoops: connections spread over three
// event loops are each echoed apart from the others, and the counters add
// up once they are closed.
func tcpManyConnectionsOverSeveralLoops(t *testing.T, e Engine) {
	s := &TCP{Engine: e, Loops: 3}
	addr, stop, done := serveTCP(t, s)
	const conns, rounds = 40, 25
	var wg sync.WaitGroup
	errs := make(chan error, conns)
	for i := range conns {
		wg.Go(func() {
			c, err := net.Dial("tcp", addr)
			if err != nil {
				errs <- err
				return
			}
			defer c.Close()
			c.SetDeadline(time.Now().Add(10 * time.Second))
			msg := []byte{byte(i), 'x', byte(i)}
			got := make([]byte, len(msg))
			for range rounds {
				if _, err := c.Write(msg); err != nil {
					errs <- err
					return
				}
				if _, err := io.ReadFull(c, got); err != nil || !bytes.Equal(got, msg) {
					errs <- errors.Join(err, errors.New("echo of another connection's bytes"))
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	stop()
	<-done
	want := uint64(conns * rounds * 3)
	if got := s.Stats(); got.Accepted != conns || got.BytesIn != want || got.BytesOut != want {
		t.Errorf("stats = %+v, want %d accepted and %d bytes each way", got, conns, want)
	}
}

// slowReader dials addr with a receive buffer so small that the server
// soon cannot write its echo, which it must then hold until the peer reads.
func slowReader(t *testing.T, addr string) *net.TCPConn {
	t.Helper()
	// Set before connecting: a window shrunk after the handshake stalls
	// the stream on the kernel's zero-window probes.
	d := net.Dialer{Control: func(_, _ string, rc syscall.RawConn) error {
		var err error
		rc.Control(func(fd uintptr) { err = setRcvBuf(fd, 4<<10) })
		return err
	}}
	nc, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	c := nc.(*net.TCPConn)
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(20 * time.Second))
	return c
}

// tcpEchoToASlowReaderArrivesWhole: 8 MiB, more than the kernel
// buffers of both ends hold, so the server must keep what the peer cannot
// take yet and stop reading meanwhile; every byte still comes back in order.
func tcpEchoToASlowReaderArrivesWhole(t *testing.T, e Engine) {
	addr, _, _ := serveTCP(t, &TCP{Engine: e})
	echoesWhole(t, slowReader(t, addr), 8<<20)
}

// tcpIdleTimeoutClosesAPeerThatStopsReading: a peer that writes but
// never reads leaves the server with an echo it cannot send; that is no
// traffic either, and the idle timeout ends it.
func tcpIdleTimeoutClosesAPeerThatStopsReading(t *testing.T, e Engine) {
	logs := &logBuffer{}
	addr, _, _ := serveTCP(t, &TCP{Engine: e, IdleTimeout: 100 * time.Millisecond, Log: zerolog.New(logs)})
	c := slowReader(t, addr)
	werr := make(chan error, 1)
	go func() {
		_, err := c.Write(make([]byte, 64<<20)) // ends when the server closes
		werr <- err
	}()
	logs.waitFor(t, `"reason":"idle timeout"`)
	if err := <-werr; err == nil {
		t.Error("64 MiB written to a server that closed the connection without reading it all")
	}
}

// udpBurstsFromManySocketsGoBackToEachSender: several sockets each send
// a burst before reading, so the server takes many datagrams per read, and
// every reply must still reach the socket that sent it. The debug log names
// each sender as it is.
func udpBurstsFromManySocketsGoBackToEachSender(t *testing.T, e Engine) {
	for _, ip := range []string{"127.0.0.1", "::1"} {
		t.Run(ip, func(t *testing.T) {
			if probe, err := net.ListenPacket("udp", net.JoinHostPort(ip, "0")); err != nil {
				t.Skipf("no %s here: %v", ip, err)
			} else {
				probe.Close()
			}
			logs := &logBuffer{}
			s := &UDP{Engine: e, Log: zerolog.New(logs).Level(zerolog.DebugLevel)}
			addr, stop := serveUDP(t, s, netip.AddrPortFrom(netip.MustParseAddr(ip), 0))
			const socks, burst = 8, 20
			clients := make([]*net.UDPConn, socks)
			for i := range clients {
				c, err := net.DialUDP("udp", nil, net.UDPAddrFromAddrPort(addr))
				if err != nil {
					t.Fatal(err)
				}
				defer c.Close()
				c.SetDeadline(time.Now().Add(10 * time.Second))
				clients[i] = c
			}
			for j := range burst {
				for i, c := range clients {
					if _, err := c.Write([]byte{byte(i), byte(j)}); err != nil {
						t.Fatal(err)
					}
				}
			}
			got := make([]byte, 16)
			for i, c := range clients {
				for j := range burst {
					n, err := c.Read(got)
					if err != nil || n != 2 || got[0] != byte(i) || got[1] != byte(j) {
						t.Fatalf("socket %d, reply %d = % x, %v; want %02x %02x", i, j, got[:max(n, 0)], err, i, j)
					}
				}
			}
			stop()
			if st := s.Stats(); st.Datagrams != socks*burst || st.Bytes != 2*socks*burst || st.Dropped != 0 {
				t.Errorf("stats = %+v, want %d datagrams of 2 bytes, none dropped", st, socks*burst)
			}
			peer := clients[socks-1].LocalAddr().(*net.UDPAddr).AddrPort()
			logs.waitFor(t, fmt.Sprintf(`"peer":{"ip":"%s","port":%d},"bytes":2,"message":"datagram echoed"`, peer.Addr(), peer.Port()))
		})
	}
}
