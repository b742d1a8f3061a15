package server

import (
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
	Log zerolog.Logger

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
