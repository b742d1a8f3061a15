package server

import (
	"cmp"
	"context"
	"errors"
	"io"
	"net"
	"net/netip"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/loopback-dev/loopback/internal/logfield"
)

// In the goroutine engine each connection has a goroutine that echoes
// through a small buffer of its own and borrows a bulk buffer from the pool
// while a stream flows. It runs wherever Go does, on Go's own poller.
const smallBufSize = 2 << 10

// goroutineRun is the connections open while the goroutine engine serves.
type goroutineRun struct {
	mu    sync.Mutex
	conns map[*tcpConn]struct{}
}

// closeAll closes every open connection, giving why as the reason.
func (r *goroutineRun) closeAll(why string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for tc := range r.conns {
		tc.closeWith(why)
	}
}

// serveGoroutines is Serve with a goroutine per connection.
func (s *TCP) serveGoroutines(ctx context.Context, ln net.Listener) error {
	stop := context.AfterFunc(ctx, func() { ln.Close() })
	defer stop()
	r := &goroutineRun{conns: make(map[*tcpConn]struct{})}
	s.running(r)
	var wg sync.WaitGroup
	err := s.accept(ctx, ln, r, &wg)
	ln.Close() // from here on new connections are refused
	s.drain(&wg)
	s.running(nil)
	return err
}

func (s *TCP) accept(ctx context.Context, ln net.Listener, r *goroutineRun, wg *sync.WaitGroup) error {
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
			backoff = nextBackoff(backoff)
			logfield.Millis(s.Log.Warn().Err(err), "retry_in", backoff).Msg("accept failed")
			select {
			case <-time.After(backoff):
			case <-ctx.Done():
				return nil
			}
			continue
		}
		backoff = 0
		if tc := s.track(c, r); tc != nil {
			wg.Go(func() { s.echo(tc, r) })
		}
	}
}

// track registers a new connection, or closes it when MaxConns are open.
func (s *TCP) track(c net.Conn, r *goroutineRun) *tcpConn {
	peer := peerOf(c.RemoteAddr())
	if !s.admit(peer) {
		c.Close()
		return nil
	}
	tc := &tcpConn{Conn: c, peer: peer, opened: time.Now(), done: make(chan struct{}),
		plan: s.Faults.newPlan(s.chance)}
	r.mu.Lock()
	r.conns[tc] = struct{}{}
	r.mu.Unlock()
	return tc
}

// tcpConn is one accepted connection and why it was closed, when the server
// rather than the peer closed it.
type tcpConn struct {
	net.Conn
	peer    netip.AddrPort
	opened  time.Time
	in, out uint64
	why     atomic.Pointer[string]
	done    chan struct{} // closed when the server closes the connection
	plan    *plan         // its faults; nil for a clean echo
}

func (c *tcpConn) closeWith(why string) {
	if c.why.CompareAndSwap(nil, &why) {
		close(c.done)
	}
	c.Conn.Close()
}

// echo copies the connection to itself until the peer closes its side (a
// half-close: everything read has been written back by then), an error,
// the idle timeout, or the server closes it.
func (s *TCP) echo(c *tcpConn, r *goroutineRun) {
	err := s.copy(c)
	c.Close()
	r.mu.Lock()
	delete(r.conns, c)
	r.mu.Unlock()
	s.closed(c.peer, c.in, c.out, c.opened, closeReason(c, err))
}

func (s *TCP) copy(c *tcpConn) error {
	if c.plan != nil {
		s.counts.faulty.Add(1)
		if c.plan.f.Refuse {
			s.counts.refused.Add(1)
			return &expiredError{why: whyRefused}
		}
	}
	if s.MessageSize > 0 {
		return s.copyMessages(c)
	}
	small := make([]byte, smallBufSize)
	buf, bulk := small, (*[]byte)(nil)
	defer func() {
		if bulk != nil {
			s.putBulk(bulk)
		}
	}()
	for {
		if s.IdleTimeout > 0 {
			c.SetReadDeadline(time.Now().Add(s.IdleTimeout))
		}
		n, err := c.Read(buf)
		c.in += uint64(n)
		if n > 0 && s.Trace {
			traceIO(&s.Log, s.Tracing, "tcp", "read", c.peer, buf[:n], n)
		}
		if n > 0 {
			echo, then := n, goOn
			if c.plan != nil {
				if echo, then, err = s.planned(c, n); err != nil {
					return err
				}
			}
			if err := s.write(c, buf[:echo]); err != nil {
				return err
			}
			if then != goOn {
				return s.carryOut(c, then)
			}
		}
		if err != nil {
			return err
		}
		switch {
		case n == len(buf) && bulk == nil: // more may be waiting: a stream
			bulk = s.getBulk()
			buf = *bulk
		case n < smallBufSize && bulk != nil: // the stream slowed down
			s.putBulk(bulk)
			buf, bulk = small, nil
		}
	}
}

// write echoes p. A write the peer does not take is no traffic either: it
// ends at the write timeout, or at the idle one if that is sooner.
func (s *TCP) write(c *tcpConn, p []byte) error {
	if len(p) == 0 {
		return nil
	}
	limit := min(cmp.Or(s.WriteTimeout, s.IdleTimeout), cmp.Or(s.IdleTimeout, s.WriteTimeout))
	if limit > 0 {
		c.SetWriteDeadline(time.Now().Add(limit))
	}
	w, err := c.Write(p)
	c.out += uint64(w)
	if s.Trace && w > 0 {
		traceIO(&s.Log, s.Tracing, "tcp", "echoed", c.peer, nil, w)
	}
	if errors.Is(err, os.ErrDeadlineExceeded) {
		return &expiredError{why: s.expired(limit, true)}
	}
	return err
}

func closeReason(c *tcpConn, err error) string {
	if why := c.why.Load(); why != nil {
		return *why
	}
	if e, ok := errors.AsType[*expiredError](err); ok {
		return e.why
	}
	switch {
	case errors.Is(err, io.EOF):
		return "closed by peer"
	case errors.Is(err, os.ErrDeadlineExceeded):
		return whyIdle
	}
	return errReason(err)
}

// expiredError ends a connection at a timeout that the write deadline
// enforced, and says which.
type expiredError struct{ why string }

func (e *expiredError) Error() string { return e.why }

// copyMessages answers each whole message of MessageSize bytes once all of
// it has arrived, as a request/response server does: a client that sends
// a message in two writes with Nagle's algorithm on then waits for this
// side's delayed ACK before the second write leaves, which is the stall
// that TCP_NODELAY exists for.
func (s *TCP) copyMessages(c *tcpConn) error {
	msg := make([]byte, s.MessageSize)
	for {
		if s.IdleTimeout > 0 {
			c.SetReadDeadline(time.Now().Add(s.IdleTimeout))
		}
		n, err := io.ReadFull(c, msg)
		c.in += uint64(n)
		if s.Trace && n > 0 {
			traceIO(&s.Log, s.Tracing, "tcp", "read", c.peer, msg[:n], n)
		}
		if err != nil {
			if errors.Is(err, io.ErrUnexpectedEOF) {
				err = io.EOF // a last, partial message is not answered
			}
			return err
		}
		if err := s.write(c, msg); err != nil {
			return err
		}
	}
}
