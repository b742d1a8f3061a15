package server

import (
	"context"
	"errors"
	"net"
	"sync/atomic"

	"github.com/rs/zerolog"

	"github.com/loopback-dev/loopback/internal/logfield"
)

// UnixGram echoes datagrams on a Unix datagram socket to the socket that
// sent them. A sender must have bound a name of its own to be answered
// (an unnamed socket has no address to reply to), and a datagram from the
// server's own name is never answered, so that it cannot echo itself.
type UnixGram struct {
	Log zerolog.Logger

	datagrams, bytes, dropped atomic.Uint64
}

// Stats counts what the server did, in UDPStats' terms: answered
// datagrams and their bytes, and those dropped (unnamed or own sender, or
// a failed reply).
func (s *UnixGram) Stats() UDPStats {
	return UDPStats{Datagrams: s.datagrams.Load(), Bytes: s.bytes.Load(), Dropped: s.dropped.Load()}
}

// Serve echoes datagrams on pc until ctx is done, then closes pc and
// returns nil.
func (s *UnixGram) Serve(ctx context.Context, pc *net.UnixConn) error {
	stop := context.AfterFunc(ctx, func() { pc.Close() })
	defer stop()
	log := logfield.AddrCtx(s.Log.With().Str("component", "unixgram"), "addr", pc.LocalAddr()).Logger()
	own := pc.LocalAddr().String()
	buf := make([]byte, udpBufSize)
	for {
		n, _, flags, from, err := pc.ReadMsgUnix(buf, nil)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			if errors.Is(err, net.ErrClosed) {
				return err
			}
			log.Debug().Err(err).Msg("read failed")
			continue
		}
		if flags&msgTrunc != 0 || from == nil || from.Name == "" || from.Name == own {
			s.dropped.Add(1)
			continue
		}
		if _, err := pc.WriteToUnix(buf[:n], from); err != nil {
			s.dropped.Add(1)
			logfield.Path(log.Debug().Err(err), "peer", from.Name).Msg("echo failed")
			continue
		}
		s.datagrams.Add(1)
		s.bytes.Add(uint64(n))
	}
}
