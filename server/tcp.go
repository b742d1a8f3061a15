package server

import (
	"context"
	"errors"
	"io"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/rs/zerolog"
)

// Each connection echoes through a small buffer of its own, so that
// thousands of idle or chatty connections cost little; a read that fills
// it borrows a bulk buffer from a pool, large enough that a stream moves in
// few system calls, and gives it back when the stream slows. Memory per
// connection never grows with the stream.
const (
	smallBufSize = 2 << 10
	bulkBufSize  = 64 << 10
)

// TCP echoes every byte it reads on a connection back to it, in order.
// Set its fields before Serve; the zero value echoes with no limits and logs
// nothing.
type TCP struct {
	MaxConns     int           // connections beyond this many at once are closed at once; 0: no limit
	IdleTimeout  time.Duration // close a connection with no traffic for this long; 0: never
	DrainTimeout time.Duration // on stop, how long open connections may go on
	Log          zerolog.Logger

	mu    sync.Mutex
	conns map[*tcpConn]struct{}
	stats TCPStats
	bulk  sync.Pool // *[]byte of bulkBufSize
}

// TCPStats counts what a TCP server did; read it with Stats.
type TCPStats struct {
	Accepted, Rejected, BytesIn, BytesOut uint64
}

// Stats returns the counters so far.
func (s *TCP) Stats() TCPStats {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stats
}

// Serve echoes connections accepted on ln until ctx is done, then closes ln,
// lets open connections go on for DrainTimeout, closes the rest, and returns
// once every connection's goroutine has ended. It returns nil after a stop
// through ctx, or the error that ended accepting.
func (s *TCP) Serve(ctx context.Context, ln net.Listener) error {
	s.bulk.New = func() any { b := make([]byte, bulkBufSize); return &b }
	stop := context.AfterFunc(ctx, func() { ln.Close() })
	defer stop()
	var wg sync.WaitGroup
	err := s.accept(ctx, ln, &wg)
	s.drain(&wg)
	return err
}

func (s *TCP) accept(ctx context.Context, ln net.Listener, wg *sync.WaitGroup) error {
	backoff := time.Duration(0)
	for {
		c, err := ln.Accept()
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			if !isTransient(err) {
				return err
			}
			// Out of descriptors or a connection that died in the backlog:
			// wait a little and accept again, as net/http does, instead of
			// spinning or giving up.
			backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
			s.Log.Warn().Err(err).Dur("retry_in", backoff).Msg("accept failed")
			select {
			case <-time.After(backoff):
			case <-ctx.Done():
				return nil
			}
			continue
		}
		backoff = 0
		if tc := s.track(c); tc != nil {
			wg.Go(func() { s.echo(tc) })
		}
	}
}

func isTransient(err error) bool {
	return errors.Is(err, syscall.EMFILE) || errors.Is(err, syscall.ENFILE) ||
		errors.Is(err, syscall.ECONNABORTED) || errors.Is(err, syscall.ENOBUFS) ||
		errors.Is(err, syscall.ENOMEM)
}

// track registers a new connection, or closes it when MaxConns are open.
func (s *TCP) track(c net.Conn) *tcpConn {
	s.mu.Lock()
	full := s.MaxConns > 0 && len(s.conns) >= s.MaxConns
	if full {
		s.stats.Rejected++
	} else {
		s.stats.Accepted++
	}
	tc := &tcpConn{Conn: c, opened: time.Now()}
	if !full {
		if s.conns == nil {
			s.conns = make(map[*tcpConn]struct{})
		}
		s.conns[tc] = struct{}{}
	}
	s.mu.Unlock()
	if full {
		c.Close()
		s.Log.Warn().Str("component", "tcp").Stringer("peer", c.RemoteAddr()).
			Int("max_conns", s.MaxConns).Msg("connection refused: too many open")
		return nil
	}
	return tc
}

// drain waits for open connections for DrainTimeout, then closes them.
func (s *TCP) drain(wg *sync.WaitGroup) {
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	timer := time.NewTimer(s.DrainTimeout)
	defer timer.Stop()
	select {
	case <-done:
		return
	case <-timer.C:
	}
	s.closeAll("drain timeout")
	<-done
}

// CloseAll closes every open connection now; Serve still returns only once
// their goroutines have ended. It is how a second signal stops at once.
func (s *TCP) CloseAll() { s.closeAll("stopped") }

func (s *TCP) closeAll(why string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for tc := range s.conns {
		tc.closeWith(why)
	}
}

// tcpConn is one accepted connection and why it was closed, when the server
// rather than the peer closed it.
type tcpConn struct {
	net.Conn
	opened  time.Time
	in, out uint64
	why     atomic.Pointer[string]
}

func (c *tcpConn) closeWith(why string) {
	c.why.CompareAndSwap(nil, &why)
	c.Conn.Close()
}

// echo copies the connection to itself through one buffer until the peer
// closes its side (a half-close: everything read has been written back by
// then), an error, the idle timeout, or the server closes it.
func (s *TCP) echo(c *tcpConn) {
	log := s.Log.With().Str("component", "tcp").Stringer("peer", c.RemoteAddr()).Logger()
	log.Info().Msg("connection open")
	err := s.copy(c)
	c.Close()
	why := closeReason(c, err)

	s.mu.Lock()
	delete(s.conns, c)
	s.stats.BytesIn += c.in
	s.stats.BytesOut += c.out
	s.mu.Unlock()
	log.Info().Uint64("bytes_in", c.in).Uint64("bytes_out", c.out).
		Dur("duration_ms", time.Since(c.opened)).Str("reason", why).Msg("connection closed")
}

func (s *TCP) copy(c *tcpConn) error {
	small := make([]byte, smallBufSize)
	buf, bulk := small, (*[]byte)(nil)
	defer func() {
		if bulk != nil {
			s.bulk.Put(bulk)
		}
	}()
	for {
		if s.IdleTimeout > 0 {
			// A write that cannot finish because the peer stopped reading is
			// no traffic either, so both directions share the deadline.
			c.SetDeadline(time.Now().Add(s.IdleTimeout))
		}
		n, err := c.Read(buf)
		c.in += uint64(n)
		if n > 0 {
			w, werr := c.Write(buf[:n])
			c.out += uint64(w)
			if werr != nil {
				return werr
			}
		}
		if err != nil {
			return err
		}
		switch {
		case n == len(buf) && bulk == nil: // more may be waiting: a stream
			bulk = s.bulk.Get().(*[]byte)
			buf = *bulk
		case n < smallBufSize && bulk != nil: // the stream slowed down
			s.bulk.Put(bulk)
			buf, bulk = small, nil
		}
	}
}

func closeReason(c *tcpConn, err error) string {
	if why := c.why.Load(); why != nil {
		return *why
	}
	switch {
	case errors.Is(err, io.EOF):
		return "closed by peer"
	case errors.Is(err, os.ErrDeadlineExceeded):
		return "idle timeout"
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE):
		return "reset by peer"
	}
	return err.Error()
}
