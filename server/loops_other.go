//go:build !linux

package server

import (
	"context"
	"fmt"
	"net"
)

// defaultEngine is the fastest engine this system has: without epoll and
// recvmmsg, the goroutine engines.
const defaultEngine = EngineGoroutines

// serveLoops refuses: the event loops are built on epoll.
func (s *TCP) serveLoops(_ context.Context, ln net.Listener) error {
	ln.Close()
	return fmt.Errorf("tcp: engine %q: %w (it needs Linux)", EngineLoops, ErrEngineUnsupported)
}

// serveBatch refuses: the batches are recvmmsg and sendmmsg, which only
// Linux has.
func (s *UDP) serveBatch(_ context.Context, pc *net.UDPConn) error {
	pc.Close()
	return fmt.Errorf("udp: engine %q: %w (it needs Linux)", EngineLoops, ErrEngineUnsupported)
}
