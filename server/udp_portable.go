package server

import (
	"context"
	"errors"
	"net"
	"os"
	"time"

	"github.com/rs/zerolog"

	"github.com/loopback-dev/loopback/internal/logfield"
)

// servePortable is Serve with one goroutine reading and answering a
// datagram at a time, on Go's own poller: the engine for systems without
// recvmmsg.
func (s *UDP) servePortable(ctx context.Context, pc *net.UDPConn) error {
	stop := context.AfterFunc(ctx, func() { pc.Close() })
	defer stop()
	log := logfield.AddrCtx(s.Log.With().Str("component", "udp"), "addr", pc.LocalAddr()).Logger()
	buf := make([]byte, udpBufSize)
	others := watchInstances(ctx, s.Instances)
	defer others.wait()
	g := newGuard(s, pc.LocalAddr().(*net.UDPAddr).AddrPort(), others)
	uf := newUDPFaults(s.Faults, &s.faults)
	start := time.Now()
	for {
		if uf != nil {
			// Wake for the next held answer, if any.
			at, ok := uf.next()
			deadline := time.Time{}
			if ok {
				deadline = start.Add(at)
			}
			pc.SetReadDeadline(deadline)
		}
		n, _, flags, peer, err := pc.ReadMsgUDPAddrPort(buf, nil)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			if uf != nil && errors.Is(err, os.ErrDeadlineExceeded) {
				s.sendPortable(pc, uf.due(time.Since(start)), &log)
				continue
			}
			if errors.Is(err, net.ErrClosed) {
				return err
			}
			// An ICMP error queued by an earlier send, or a transient
			// shortage: the socket itself is still good.
			log.Debug().Err(err).Msg("read failed")
			continue
		}
		if flags&msgTrunc != 0 {
			s.tooLarge(peer, &log)
			continue
		}
		now := time.Since(start)
		if s.Trace {
			traceIO(&log, s.Tracing, "udp", "datagram", peer, buf[:n], n)
		}
		if v := g.check(peer, buf[:n], now); v != answer {
			s.refuse(v, peer, &log)
			continue
		}
		if uf != nil {
			s.sendPortable(pc, uf.answer(peer, buf[:n], now), &log)
			s.sendPortable(pc, uf.due(now), &log)
			continue
		}
		if _, err := pc.WriteToUDPAddrPort(buf[:n], peer); err != nil {
			s.dropped.Add(1)
			withPeer(log.Debug().Err(err), peer).Msg("echo failed")
			continue
		}
		s.datagrams.Add(1)
		s.bytes.Add(uint64(n))
		// Checked first so that boxing peer costs nothing per datagram
		// when debug logging is off.
		if e := log.Debug(); e.Enabled() {
			withPeer(e, peer).Int("bytes", n).Msg("datagram echoed")
		}
	}
}

// sendPortable sends answers the faults let go, one datagram each.
func (s *UDP) sendPortable(pc *net.UDPConn, out []outDatagram, log *zerolog.Logger) {
	for _, d := range out {
		if _, err := pc.WriteToUDPAddrPort(d.data, d.to); err != nil {
			s.dropped.Add(1)
			withPeer(log.Debug().Err(err), d.to).Msg("echo failed")
			continue
		}
		s.datagrams.Add(1)
		s.bytes.Add(uint64(len(d.data)))
	}
}
