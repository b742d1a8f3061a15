package server

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"net"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// serveUDP runs s on a new socket on addr until the test ends; stop ends
// it sooner and returns once Serve has returned, so its counters are final.
func serveUDP(t testing.TB, s *UDP, addr netip.AddrPort) (bound netip.AddrPort, stop func()) {
	t.Helper()
	l, err := Listen(t.Context(), addr, false, true)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	errc := make(chan error, 1)
	go func() { errc <- s.Serve(ctx, l.UDP) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			if err := <-errc; err != nil {
				t.Errorf("Serve: %v", err)
			}
		})
	}
	t.Cleanup(stop)
	return l.UDP.LocalAddr().(*net.UDPAddr).AddrPort(), stop
}

func udpEchoesEverySizeWhole(t *testing.T, e Engine) {
	s := &UDP{Engine: e}
	addr, stop := serveUDP(t, s, loopback4)
	c, err := net.DialUDP("udp", nil, net.UDPAddrFromAddrPort(addr))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	// The receive buffer must hold the largest datagram, or the kernel
	// would drop it before the server sees it.
	c.SetReadBuffer(1 << 20)
	got := make([]byte, 70000)
	var total uint64
	for _, size := range []int{0, 1, 1472, 65507} {
		want := make([]byte, size)
		rand.Read(want)
		if _, err := c.Write(want); err != nil {
			t.Fatalf("send %d bytes: %v", size, err)
		}
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		n, err := c.Read(got)
		if err != nil {
			t.Fatalf("reply to %d bytes: %v", size, err)
		}
		if !bytes.Equal(got[:n], want) {
			t.Fatalf("reply to %d bytes has %d bytes, not the same bytes", size, n)
		}
		total += uint64(size)
	}
	stop() // the counters move just after each reply is sent
	if st := s.Stats(); st.Datagrams != 4 || st.Bytes != total || st.Dropped != 0 {
		t.Errorf("stats = %+v, want 4 datagrams of %d bytes, none dropped", st, total)
	}
}

func udpOverIPv6(t *testing.T, e Engine) {
	probe, err := net.ListenPacket("udp", "[::1]:0")
	if err != nil {
		t.Skipf("no IPv6 loopback here: %v", err)
	}
	probe.Close()
	addr, _ := serveUDP(t, &UDP{Engine: e}, netip.MustParseAddrPort("[::1]:0"))
	c, err := net.DialUDP("udp", nil, net.UDPAddrFromAddrPort(addr))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	c.Write([]byte("six"))
	got := make([]byte, 10)
	n, err := c.Read(got)
	if err != nil || string(got[:n]) != "six" {
		t.Fatalf("reply = %q, %v; want \"six\"", got[:n], err)
	}
}

func TestListenBothSharesOnePortNumber(t *testing.T) {
	t.Parallel()
	for range 20 {
		l, err := Listen(t.Context(), loopback4, true, true)
		if err != nil {
			t.Fatal(err)
		}
		tcp := l.TCP.Addr().(*net.TCPAddr).Port
		udp := l.UDP.LocalAddr().(*net.UDPAddr).Port
		l.Close()
		if tcp != udp || tcp == 0 {
			t.Fatalf("tcp port %d, udp port %d; want one non-zero number", tcp, udp)
		}
	}
}

func TestListenBothOnATakenPortFailsAndReleasesTCP(t *testing.T) {
	// With a fixed port there is no other pair to try: the error must say
	// why, and the TCP socket bound first must not be left open. Not
	// parallel, so that counting this process's descriptors is exact.
	held, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer held.Close()
	addr := held.LocalAddr().(*net.UDPAddr).AddrPort()
	before := openFDs(t)
	_, err = Listen(t.Context(), addr, true, true)
	if err != nil && strings.HasPrefix(err.Error(), "listen tcp") {
		t.Skipf("another program holds TCP port %d too, so this cannot be tested now: %v", addr.Port(), err)
	}
	if err == nil || !strings.Contains(err.Error(), "listen udp") || !strings.Contains(err.Error(), "address already in use") {
		t.Fatalf("Listen on a taken UDP port = %v, want the UDP bind's address already in use", err)
	}
	if after := openFDs(t); after != before {
		t.Errorf("%d descriptors open after the failed pair, %d before: the TCP socket was left open", after, before)
	}
}

// openFDs counts this process's open file descriptors.
func openFDs(t *testing.T) int {
	t.Helper()
	fds, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skipf("cannot count descriptors here: %v", err)
	}
	return len(fds)
}

func TestResolveRefusesNonLoopback(t *testing.T) {
	t.Parallel()
	tests := []struct {
		host   string
		remote bool
		want   string // "" = allowed
	}{
		{"127.0.0.1", false, ""},
		{"127.3.2.1", false, ""},
		{"::1", false, ""},
		{"localhost", false, ""},
		{"0.0.0.0", false, "every interface"},
		{"::", false, "every interface"},
		{"192.168.1.10", false, "reachable from other machines"},
		{"8.8.8.8", false, "not a loopback address"},
		{"0.0.0.0", true, ""},
		{"192.168.1.10", true, ""},
	}
	for _, tt := range tests {
		t.Run(tt.host, func(t *testing.T) {
			got, err := Resolve(context.Background(), tt.host, tt.remote)
			if tt.want == "" {
				if err != nil || !got.IsValid() {
					t.Fatalf("Resolve(%q) = %v, %v; want an address", tt.host, got, err)
				}
				return
			}
			if !errors.Is(err, ErrNotLoopback) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Resolve(%q) = %v; want ErrNotLoopback saying %q", tt.host, err, tt.want)
			}
			if !strings.Contains(err.Error(), "--allow-remote") {
				t.Errorf("error %q does not say how to opt out", err)
			}
		})
	}
}

// TestListenIPv4WildcardIsIPv4Only: 0.0.0.0 must not also serve IPv6, as
// Go's dual-stack "tcp" and "udp" networks would.
func TestListenIPv4WildcardIsIPv4Only(t *testing.T) {
	t.Parallel()
	if ln, err := net.Listen("tcp6", "[::1]:0"); err != nil {
		t.Skipf("no IPv6 loopback here: %v", err)
	} else {
		ln.Close()
	}
	l, err := Listen(t.Context(), netip.MustParseAddrPort("0.0.0.0:0"), true, true)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if got := l.TCP.Addr().String(); !strings.HasPrefix(got, "0.0.0.0:") {
		t.Errorf("bound %s, want 0.0.0.0:PORT", got)
	}
	port := l.TCP.Addr().(*net.TCPAddr).Port
	if c, err := net.DialTimeout("tcp6", net.JoinHostPort("::1", strconv.Itoa(port)), 2*time.Second); err == nil {
		c.Close()
		t.Errorf("[::1]:%d answers a server bound to 0.0.0.0", port)
	}
	if c, err := net.DialTimeout("tcp4", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), 2*time.Second); err != nil {
		t.Errorf("127.0.0.1:%d: %v", port, err)
	} else {
		c.Close()
	}
}
