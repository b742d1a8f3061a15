package server

import (
	"container/heap"
	"time"

	"golang.org/x/sys/unix"
)

// The event loops carry out a faulty connection's plan with what they
// already have for a peer that is not reading: an echo waits in the
// buffer it was read into, and the connection is not read meanwhile, so
// bytes keep their order and nothing is held per byte. A delayed echo
// waits on the loop's timer (epoll_wait's timeout) instead of EPOLLOUT.

// serveFaulty does with n bytes just read what the connection's plan says.
func (l *loop) serveFaulty(c *conn, n int) {
	if c.draining {
		return // after our FIN the peer's bytes are read and dropped
	}
	st := c.plan.read(n, l.now)
	c.then = st.then
	if st.echo == 0 {
		if st.then != goOn {
			l.carryOut(c)
		}
		return
	}
	c.pending, l.buf = l.buf, l.s.getBulk()
	c.off, c.end = 0, st.echo
	if st.at > l.now {
		l.s.counts.delayed.Add(1)
		c.heldUntil = st.at
		heap.Push(&l.held, c)
		if l.held[0] == c {
			if err := l.wakeAt(st.at); err != nil {
				l.close(c, err.Error())
				return
			}
		}
		// Not read, not written, until the echo may go.
		if err := l.watch(c.fd, unix.EPOLL_CTL_MOD, 0); err != nil {
			l.close(c, err.Error())
		}
		return
	}
	l.sendHeld(c)
}

// releaseHeld lets go the echoes whose time has come, and sets the timer
// for the next.
func (l *loop) releaseHeld() {
	for {
		at, ok := l.held.next()
		if !ok {
			return
		}
		if at > l.now {
			l.wakeAt(at)
			return
		}
		c := heap.Pop(&l.held).(*conn)
		if c.fd >= 0 && l.conns[c.fd] == c && c.pending != nil {
			l.sendHeld(c)
		}
	}
}

// sendHeld writes the echo as soon as the socket takes it, by the same
// path as an echo the peer was not ready for.
func (l *loop) sendHeld(c *conn) {
	if err := l.watch(c.fd, unix.EPOLL_CTL_MOD, unix.EPOLLOUT); err != nil {
		l.close(c, err.Error())
	}
}

// carryOut does what the plan says once an echo has gone.
func (l *loop) carryOut(c *conn) {
	switch c.then {
	case resetIt:
		l.s.counts.reset.Add(1)
		// A zero linger makes close send an RST, as a crashed peer's
		// kernel does, instead of a FIN.
		unix.SetsockoptLinger(c.fd, unix.SOL_SOCKET, unix.SO_LINGER, &unix.Linger{Onoff: 1, Linger: 0})
		l.close(c, whyReset)
	case closeIt:
		l.s.counts.closedEarly.Add(1)
		unix.Shutdown(c.fd, unix.SHUT_WR)
		c.draining, c.then = true, goOn
		if err := l.watch(c.fd, unix.EPOLL_CTL_MOD, unix.EPOLLIN); err != nil {
			l.close(c, err.Error())
		}
	case stallIt:
		l.s.counts.stalled.Add(1)
		c.then = goOn
		// Watched for nothing: the peer's bytes pile up in the buffers
		// until its writes block; the idle timeout ends it.
		if err := l.watch(c.fd, unix.EPOLL_CTL_MOD, 0); err != nil {
			l.close(c, err.Error())
		}
	}
}

// heldEchoes is a loop's delayed echoes, earliest first.
type heldEchoes []*conn

func (h heldEchoes) Len() int           { return len(h) }
func (h heldEchoes) Less(i, j int) bool { return h[i].heldUntil < h[j].heldUntil }
func (h heldEchoes) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *heldEchoes) Push(x any)        { *h = append(*h, x.(*conn)) }
func (h *heldEchoes) Pop() any {
	old := *h
	c := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	return c
}

// next is when the earliest held echo may go.
func (h heldEchoes) next() (at time.Duration, ok bool) {
	if len(h) == 0 {
		return 0, false
	}
	return h[0].heldUntil, true
}
