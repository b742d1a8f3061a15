package server

import (
	"cmp"
	"context"
	"fmt"
	"net"
	"net/netip"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"
)

// udpBufSize holds any datagram loopback can carry: the loopback MTU is
// 64 KiB, so the 2 KiB buffers common in echo servers would cut large
// datagrams short. 64 KiB is more than the largest UDP payload (65,527 bytes
// over IPv6, 65,507 over IPv4), and MSG_TRUNC catches anything larger.
const udpBufSize = 65536

// UDP answers each datagram with one datagram of the same bytes, sent to
// its source, unless the guard (udpguard.go) refuses it. The zero value is
// ready to use, guarded, and logs nothing.
type UDP struct {
	Engine        Engine     // EngineLoops: recvmmsg batches on Linux; EngineGoroutines: portable
	MinSourcePort int        // answer no source port below this; 0: 1024; 1: every port
	LoopLimit     int        // repeats of the last echo from one source taken for a loop; 0: 32; -1: no loop check
	Instances     *Instances // the other loopback servers, whose ports are not answered; nil: none known
	Faults        *Faults    // misbehave on purpose (Delay, Jitter, Loss, Duplicate, Reorder, NoReply); nil: none
	Tracing                  // each datagram as a trace-level log event, for people
	Log           zerolog.Logger

	datagrams, bytes, dropped atomic.Uint64
	refused                   [verdicts]atomic.Uint64
	faults                    udpFaultCounts
	warned                    [verdicts]limiter
}

// UDPStats counts what a UDP server did; read it with Stats. Each datagram
// received is counted once: answered (Datagrams), Dropped (too large, or
// the reply failed), or refused by one of the guard's rules.
type UDPStats struct {
	Datagrams, Bytes, Dropped                                 uint64
	RefusedSelf, RefusedLowPort, RefusedInstance, RefusedLoop uint64

	// What Faults did: datagrams not answered (Lost), answered twice,
	// held back behind the next, or answered late. Lost datagrams are
	// not in Datagrams.
	Lost, Duplicated, Reordered, Delayed uint64
}

// Stats returns the counters so far.
func (s *UDP) Stats() UDPStats {
	return UDPStats{Datagrams: s.datagrams.Load(), Bytes: s.bytes.Load(), Dropped: s.dropped.Load(),
		RefusedSelf: s.refused[refuseSelf].Load(), RefusedLowPort: s.refused[refuseLowPort].Load(),
		RefusedInstance: s.refused[refuseInstance].Load(), RefusedLoop: s.refused[refuseLoop].Load(),
		Lost: s.faults.lost.Load(), Duplicated: s.faults.duplicated.Load(),
		Reordered: s.faults.reordered.Load(), Delayed: s.faults.delayed.Load()}
}

// refuse counts a datagram the guard refused and logs it, at most once a
// second per rule.
func (s *UDP) refuse(v verdict, src netip.AddrPort, log *zerolog.Logger) {
	s.refused[v].Add(1)
	if e := log.Warn(); e.Enabled() {
		if ok, suppressed := s.warned[v].allow(time.Now()); ok {
			withPeer(e, src).Str("reason", reason[v]).Uint64("suppressed", suppressed).
				Msg("datagram not answered")
		}
	}
}

// tooLarge counts and logs, at most once a second, a datagram cut short by
// the buffer, which is dropped: echoing part of it as if it were the whole
// would be a lie.
func (s *UDP) tooLarge(src netip.AddrPort, log *zerolog.Logger) {
	s.dropped.Add(1)
	if e := log.Warn(); e.Enabled() {
		if ok, suppressed := s.warned[answer].allow(time.Now()); ok {
			withPeer(e, src).Uint64("suppressed", suppressed).Msg("datagram larger than 64 KiB dropped")
		}
	}
}

// Serve echoes datagrams on pc until ctx is done, then closes pc and
// returns nil. A datagram in flight at that moment is not answered: UDP
// promises nothing more, and there is nothing to drain. Like TCP's Serve,
// it owns pc from the start.
func (s *UDP) Serve(ctx context.Context, pc *net.UDPConn) error {
	if err := s.Faults.Validate(); err != nil {
		pc.Close()
		return fmt.Errorf("udp: faults: %w", err)
	}
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
