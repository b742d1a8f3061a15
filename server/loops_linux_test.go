package server

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"net"
	"net/netip"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/rs/zerolog"
)

// These tests forge datagrams through a raw socket, as anyone with
// CAP_NET_RAW (which containers get by default) can: one datagram whose
// source is a UDP echo's own port, or another echo's, is all it takes to
// start a loop that never ends by itself.

// forge sends payload to 127.0.0.1:dst as if from 127.0.0.1:src.
func forge(t *testing.T, src, dst uint16, payload []byte) {
	t.Helper()
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_RAW, syscall.IPPROTO_UDP)
	if errors.Is(err, syscall.EPERM) || errors.Is(err, syscall.EACCES) {
		t.Skip("forging a datagram needs CAP_NET_RAW (run as root)")
	}
	if err != nil {
		t.Fatal(err)
	}
	defer syscall.Close(fd)
	// The kernel writes the IP header; the UDP header is ours, with no
	// checksum, which IPv4 allows.
	b := make([]byte, 8+len(payload))
	binary.BigEndian.PutUint16(b[0:], src)
	binary.BigEndian.PutUint16(b[2:], dst)
	binary.BigEndian.PutUint16(b[4:], uint16(len(b)))
	copy(b[8:], payload)
	if err := syscall.Sendto(fd, b, 0, &syscall.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		t.Fatal(err)
	}
}

// guarded runs a UDP server on 127.0.0.1:0 with the given registry and
// returns it, its port, its log and a stop that returns once Serve has.
func guarded(t *testing.T, e Engine, in *Instances) (*UDP, uint16, *logBuffer, func()) {
	logs := &logBuffer{}
	s := &UDP{Engine: e, Instances: in, Log: zerolog.New(logs)}
	addr, stop := serveUDP(t, s, loopback4)
	return s, addr.Port(), logs, stop
}

func TestUDPGuardEndsLoops(t *testing.T) {
	t.Parallel()
	for _, e := range engines() {
		t.Run(string(e), func(t *testing.T) {
			t.Parallel()
			t.Run("a datagram from the server itself", func(t *testing.T) { udpSelfAddressed(t, e) })
			t.Run("two servers that know each other", func(t *testing.T) { udpTwoInstances(t, e, true) })
			t.Run("two servers that do not", func(t *testing.T) { udpTwoInstances(t, e, false) })
			t.Run("a socat echo", func(t *testing.T) { udpSocatLoop(t, e) })
		})
	}
}

// udpSelfAddressed: a datagram from the server's own port is refused at
// once; unguarded, the server would answer itself for ever.
func udpSelfAddressed(t *testing.T, e Engine) {
	s, port, logs, stop := guarded(t, e, nil)
	forge(t, port, port, []byte("hello me"))
	logs.waitFor(t, `"reason":"source is this socket itself"`)
	stop()
	if st := s.Stats(); st.Datagrams != 0 || st.RefusedSelf != 1 {
		t.Errorf("stats = %+v, want nothing answered and 1 refused as itself", st)
	}
}

// udpTwoInstances: a datagram forged from one server to another starts a
// ping-pong. Servers that share a registry refuse each other at once;
// servers that do not still stop within the loop limit.
func udpTwoInstances(t *testing.T, e Engine, registry bool) {
	var in *Instances
	if registry {
		in = &Instances{Dir: filepath.Join(t.TempDir(), "ports")}
	}
	// Both sockets are bound and registered before either server starts,
	// so each reads the other's port at once instead of at its next look.
	var socks [2]Listeners
	servers := [2]*UDP{}
	logs := [2]*logBuffer{{}, {}}
	for i := range socks {
		l, err := Listen(t.Context(), loopback4, false, true)
		if err != nil {
			t.Fatal(err)
		}
		socks[i] = l
		if registry {
			un, err := in.Register(uint16(l.UDP.LocalAddr().(*net.UDPAddr).Port))
			if err != nil {
				t.Fatal(err)
			}
			defer un()
		}
	}
	ctx, cancel := context.WithCancel(t.Context())
	errc := make(chan error, 2)
	ports := [2]uint16{}
	for i, l := range socks {
		ports[i] = uint16(l.UDP.LocalAddr().(*net.UDPAddr).Port)
		servers[i] = &UDP{Engine: e, Instances: in, Log: zerolog.New(logs[i])}
		go func() { errc <- servers[i].Serve(ctx, l.UDP) }()
	}
	stop := func() {
		cancel()
		for range 2 {
			if err := <-errc; err != nil {
				t.Errorf("Serve: %v", err)
			}
		}
	}
	forge(t, ports[1], ports[0], []byte("ping-pong"))
	if registry {
		logs[0].waitFor(t, `"reason":"source is another loopback server"`)
	} else {
		logs[0].waitFor(t, `"reason":"source repeats the last echo: a loop"`)
	}
	stop()
	a, b := servers[0].Stats(), servers[1].Stats()
	total := a.Datagrams + b.Datagrams
	switch {
	case registry && (total != 0 || a.RefusedInstance != 1):
		t.Errorf("a %+v, b %+v: want nothing answered and the forged datagram refused", a, b)
	case !registry && total > 2*(defaultLoopLimit+1):
		t.Errorf("the ping-pong went on for %d echoes; want at most %d", total, 2*(defaultLoopLimit+1))
	}
	t.Logf("echoes before the loop ended: %d", total)
}

// udpSocatLoop: socat answering every datagram is an echo we know nothing
// about; a loop with it ends within the loop limit.
func udpSocatLoop(t *testing.T, e Engine) {
	if _, err := exec.LookPath("socat"); err != nil {
		t.Skip("socat is not installed")
	}
	s, port, logs, stop := guarded(t, e, nil)
	sport := socatEcho(t)
	forge(t, sport, port, []byte("round and round"))
	logs.waitFor(t, `"reason":"source repeats the last echo: a loop"`)
	stop()
	if st := s.Stats(); st.Datagrams > defaultLoopLimit+1 {
		t.Errorf("answered socat %d times; want at most %d", st.Datagrams, defaultLoopLimit+1)
	}
}

// socatEcho starts a UDP echo in socat on a free port, waits until it
// answers, and returns the port.
func socatEcho(t *testing.T) uint16 {
	t.Helper()
	l, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.LocalAddr().(*net.UDPAddr).Port
	l.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	cmd := exec.CommandContext(ctx, "socat", "UDP4-RECVFROM:"+strconv.Itoa(port)+",bind=127.0.0.1,fork", "PIPE")
	stderr, _ := cmd.StderrPipe()
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatal(err)
	}
	t.Cleanup(func() { cancel(); cmd.Wait() })
	go func() {
		for sc := bufio.NewScanner(stderr); sc.Scan(); {
		}
	}()
	c, err := net.DialUDP("udp4", nil, net.UDPAddrFromAddrPort(netip.AddrPortFrom(netip.AddrFrom4([4]byte{127, 0, 0, 1}), uint16(port))))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	buf := make([]byte, 16)
	// socat binds once it has started; until then the datagram is refused
	// or unanswered, so ask again until it answers.
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); {
		c.Write([]byte("up?"))
		c.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
		if n, err := c.Read(buf); err == nil && string(buf[:n]) == "up?" {
			return uint16(port)
		}
	}
	t.Fatal("socat never answered")
	return 0
}
