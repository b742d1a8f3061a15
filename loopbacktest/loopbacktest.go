// Package loopbacktest gives a Go test a running echo server on
// 127.0.0.1:0, a Unix socket, or UDP, that misbehaves on purpose if asked:
// the server of `loopback serve`, faults and all, in the test's own
// process. One line starts it and the test's end stops it:
//
//	srv := loopbacktest.Echo(t, loopbacktest.Delay(50*time.Millisecond))
//	conn, err := net.Dial("tcp", srv.Addr())
//
// The counters stay readable after the server has stopped, so a test can
// check what its client did (how many connections, bytes, resets).
package loopbacktest

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/loopback-dev/loopback/server"
)

// Server is a running echo server.
type Server struct {
	network, addr string
	tcp           *server.TCP
	udp           *server.UDP
	stop          context.CancelFunc
	done          chan error
	once          sync.Once
	err           error
}

// Stats is what a server did: its TCP counters for a stream server (TCP or
// Unix), its UDP counters for a datagram one.
type Stats struct {
	TCP server.TCPStats
	UDP server.UDPStats
}

// Network is "tcp", "udp" or "unix", as net.Dial takes it.
func (s *Server) Network() string { return s.network }

// Addr is where to dial: host:port, or the socket's path.
func (s *Server) Addr() string { return s.addr }

// Stats returns the counters so far; after Close they are final.
func (s *Server) Stats() Stats {
	var st Stats
	if s.tcp != nil {
		st.TCP = s.tcp.Stats()
	}
	if s.udp != nil {
		st.UDP = s.udp.Stats()
	}
	return st
}

// Close stops the server, closes its connections, and returns once it has
// stopped; later calls return the same.
func (s *Server) Close() error {
	s.once.Do(func() {
		// With no drain timeout set, the stop closes every connection at once.
		s.stop()
		s.err = <-s.done
	})
	return s.err
}

// New starts a TCP echo server on 127.0.0.1:0, for use outside a test; the
// caller closes it.
func New(opts ...Option) (*Server, error) { return start("tcp", "", opts) }

// NewUDP starts a UDP echo server on 127.0.0.1:0; the caller closes it.
func NewUDP(opts ...Option) (*Server, error) { return start("udp", "", opts) }

// NewUnix starts a stream echo server on a Unix socket at path; the caller
// closes it, which removes the socket file.
func NewUnix(path string, opts ...Option) (*Server, error) { return start("unix", path, opts) }

// Echo starts a TCP echo server on 127.0.0.1:0 that stops when the test
// ends; a failure to start fails the test.
func Echo(t testing.TB, opts ...Option) *Server {
	t.Helper()
	s, err := start("tcp", "", opts)
	return must(t, s, err)
}

// EchoUDP starts a UDP echo server on 127.0.0.1:0 that stops when the
// test ends.
func EchoUDP(t testing.TB, opts ...Option) *Server {
	t.Helper()
	s, err := start("udp", "", opts)
	return must(t, s, err)
}

// EchoUnix starts a stream echo server on a Unix socket in the test's
// temporary directory that stops when the test ends.
func EchoUnix(t testing.TB, opts ...Option) *Server {
	t.Helper()
	s, err := start("unix", filepath.Join(t.TempDir(), "echo.sock"), opts)
	return must(t, s, err)
}

func must(t testing.TB, s *Server, err error) *Server {
	t.Helper()
	if err != nil {
		t.Fatalf("loopbacktest: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("loopbacktest: %v", err)
		}
	})
	return s
}

func start(network, path string, opts []Option) (*Server, error) {
	c := settings{faults: &server.Faults{}}
	for _, o := range opts {
		o(&c)
	}
	if !c.faults.Active() {
		c.faults = nil
	}
	if err := c.faults.Validate(); err != nil {
		return nil, fmt.Errorf("options: %w", err)
	}
	ctx, stop := context.WithCancel(context.Background())
	s := &Server{network: network, stop: stop, done: make(chan error, 1)}
	switch network {
	case "udp":
		l, err := server.Listen(ctx, netip.MustParseAddrPort("127.0.0.1:0"), false, true)
		if err != nil {
			stop()
			return nil, err
		}
		s.addr = l.UDP.LocalAddr().String()
		s.udp = &server.UDP{Faults: c.faults, Engine: c.engine}
		go func() { s.done <- s.udp.Serve(ctx, l.UDP) }()
		return s, nil
	case "unix":
		os.Remove(path) // a socket file left by an earlier run of the same test
	}
	ln, err := listenStream(ctx, network, path)
	if err != nil {
		stop()
		return nil, err
	}
	s.addr = ln.Addr().String()
	s.tcp = &server.TCP{Faults: c.faults, Engine: c.engine, IdleTimeout: c.idle, MaxConns: c.maxConns}
	go func() {
		err := s.tcp.Serve(ctx, ln)
		if network == "unix" {
			os.Remove(path)
		}
		s.done <- err
	}()
	return s, nil
}

func listenStream(ctx context.Context, network, path string) (net.Listener, error) {
	if network == "unix" {
		var lc net.ListenConfig
		ln, err := lc.Listen(ctx, "unix", path)
		if err != nil {
			return nil, err
		}
		// The server removes the file itself, after its last connection.
		ln.(*net.UnixListener).SetUnlinkOnClose(false)
		return ln, nil
	}
	l, err := server.Listen(ctx, netip.MustParseAddrPort("127.0.0.1:0"), true, false)
	if err != nil {
		return nil, err
	}
	return l.TCP, nil
}
