package server

import (
	"context"
	"errors"
	"net"
	"time"
)

// servePortable is Serve with one goroutine reading and answering a
// datagram at a time, on Go's own poller: the engine for systems without
// recvmmsg.
func (s *UDP) servePortable(ctx context.Context, pc *net.UDPConn) error {
	stop := context.AfterFunc(ctx, func() { pc.Close() })
	defer stop()
	log := s.Log.With().Str("component", "udp").Stringer("addr", pc.LocalAddr()).Logger()
	buf := make([]byte, udpBufSize)
	others := watchInstances(ctx, s.Instances)
	defer others.wait()
	g := newGuard(s, pc.LocalAddr().(*net.UDPAddr).AddrPort(), others)
	start := time.Now()
	for {
		n, _, flags, peer, err := pc.ReadMsgUDPAddrPort(buf, nil)
		if err != nil {
			if ctx.Err() != nil {
				return nil
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
		if v := g.check(peer, buf[:n], time.Since(start)); v != answer {
			s.refuse(v, peer, &log)
			continue
		}
		if _, err := pc.WriteToUDPAddrPort(buf[:n], peer); err != nil {
			s.dropped.Add(1)
			log.Debug().Err(err).Str("peer", peer.String()).Msg("echo failed")
			continue
		}
		s.datagrams.Add(1)
		s.bytes.Add(uint64(n))
		// Checked first so that boxing peer costs nothing per datagram
		// when debug logging is off.
		if e := log.Debug(); e.Enabled() {
			e.Stringer("peer", peer).Int("bytes", n).Msg("datagram echoed")
		}
	}
}
