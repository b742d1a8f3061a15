package server

import (
	"cmp"
	"context"
	"fmt"
	"net"
	"sync/atomic"

	"github.com/rs/zerolog"
)

// udpBufSize holds any datagram loopback can carry: the loopback MTU is
// 64 KiB, so the 2 KiB buffers common in echo servers would cut large
// datagrams short. 64 KiB is more than the largest UDP payload (65,527 bytes
// over IPv6, 65,507 over IPv4), and MSG_TRUNC catches anything larger.
const udpBufSize = 65536

// UDP answers each datagram with one datagram of the same bytes, sent to
// its source. The zero value is ready to use and logs nothing.
type UDP struct {
	Engine Engine // EngineLoops: recvmmsg batches on Linux; EngineGoroutines: portable
	Log    zerolog.Logger

	datagrams, bytes, dropped atomic.Uint64
}

// UDPStats counts what a UDP server did; read it with Stats.
type UDPStats struct {
	Datagrams, Bytes, Dropped uint64
}

// Stats returns the counters so far.
func (s *UDP) Stats() UDPStats {
	return UDPStats{Datagrams: s.datagrams.Load(), Bytes: s.bytes.Load(), Dropped: s.dropped.Load()}
}

// Serve echoes datagrams on pc until ctx is done, then closes pc and
// returns nil. A datagram in flight at that moment is not answered: UDP
// promises nothing more, and there is nothing to drain. Like TCP's Serve,
// it owns pc from the start.
func (s *UDP) Serve(ctx context.Context, pc *net.UDPConn) error {
	switch e := cmp.Or(s.Engine, defaultEngine); e {
	case EngineLoops:
		return s.serveBatch(ctx, pc)
	case EngineGoroutines:
		return s.servePortable(ctx, pc)
	default:
		pc.Close()
		return fmt.Errorf("udp: engine %q: want %q or %q", e, EngineLoops, EngineGoroutines)
	}
}
