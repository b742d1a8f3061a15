package server

import (
	"errors"
	"io"
	"net"
	"time"
)

// The goroutine engine carries out a faulty connection's plan in the
// connection's own goroutine: it waits before the write, and does what
// the plan says after it.

// planned asks the plan what to do with n bytes just read, waits until the
// echo may go, and returns how much of it to echo and what then; the
// error is set when the server closed the connection meanwhile.
func (s *TCP) planned(c *tcpConn, n int) (echo int, then after, err error) {
	st := c.plan.read(n, time.Since(c.opened))
	if st.echo == 0 {
		return 0, st.then, nil
	}
	if wait := st.at - time.Since(c.opened); wait > 0 {
		s.counts.delayed.Add(1)
		t := time.NewTimer(wait)
		defer t.Stop()
		select {
		case <-t.C:
		case <-c.done:
			return 0, goOn, net.ErrClosed
		}
	}
	return st.echo, st.then, nil
}

// carryOut does what the plan says once an echo has gone, and returns the
// error that ends the connection.
func (s *TCP) carryOut(c *tcpConn, then after) error {
	switch then {
	case resetIt:
		s.counts.reset.Add(1)
		if tc, ok := c.Conn.(*net.TCPConn); ok {
			tc.SetLinger(0) // close sends an RST, as a crashed peer's kernel does
		}
		return &expiredError{why: whyReset}
	case closeIt:
		s.counts.closedEarly.Add(1)
		if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
			cw.CloseWrite()
		}
		// The peer reads the end of the stream; what it still sends is
		// read and dropped until it closes too.
		io.Copy(io.Discard, c.Conn)
		return &expiredError{why: whyEarly}
	case stallIt:
		s.counts.stalled.Add(1)
		// Not read any more: the peer's writes block once the buffers
		// fill, until the idle timeout or a stop ends the connection.
		var idle <-chan time.Time
		if s.IdleTimeout > 0 {
			t := time.NewTimer(s.IdleTimeout)
			defer t.Stop()
			idle = t.C
		}
		select {
		case <-idle:
			return &expiredError{why: whyIdle}
		case <-c.done:
			return net.ErrClosed
		}
	}
	return errors.New("unknown fault")
}
