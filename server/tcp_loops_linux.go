package server

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/loopback-dev/loopback/internal/logfield"
)

// In the event-loop engine, connections are served by a few event loops
// rather than a goroutine each. A loop waits in epoll_wait on every
// connection it owns and answers what is readable with one recv(2) and one
// send(2) from a buffer it shares with them, as a C echo server does. It
// saves the scheduler's park and wake-up per message, and an idle
// connection is a small struct instead of a goroutine's stack and buffer.

// acceptBatch is how many connections one loop accepts per wake-up, so
// that the others get some.
const acceptBatch = 32

// loopsRun is the event loops while they serve.
type loopsRun []*loop

// closeAll has every loop close its connections, giving why as the reason.
func (r loopsRun) closeAll(why string) {
	for _, l := range r {
		l.closeWhy.CompareAndSwap(nil, &why)
		l.post()
	}
}

// serveLoops is Serve on event loops.
func (s *TCP) serveLoops(ctx context.Context, ln net.Listener) error {
	sc, ok := ln.(interface {
		syscall.Conn
		Close() error
	})
	if !ok {
		ln.Close()
		return fmt.Errorf("tcp: %T has no socket to serve", ln)
	}
	lfd, err := detach(sc)
	if err != nil {
		sc.Close()
		return fmt.Errorf("tcp: %w", err)
	}
	loops := make([]*loop, s.loops())
	for i := range loops {
		if loops[i], err = newLoop(s, lfd); err != nil {
			for _, l := range loops[:i] {
				l.release()
			}
			unix.Close(lfd)
			return err
		}
	}
	failed := make(chan error, len(loops))
	var accepting, running sync.WaitGroup
	// Recorded before any loop runs: a loop serves as soon as it starts,
	// and a CloseAll that found no engine would be lost.
	s.running(loopsRun(loops))
	for _, l := range loops {
		accepting.Add(1)
		l.failed, l.notAccepting = failed, accepting.Done
		running.Go(l.run)
	}

	select {
	case <-ctx.Done():
		err = nil
	case err = <-failed:
	}
	for _, l := range loops {
		l.stop.Store(true)
		l.post()
	}
	accepting.Wait()
	unix.Close(lfd) // from here on new connections are refused
	s.drain(&running)

	s.running(nil)
	for _, l := range loops {
		l.release()
	}
	return err
}

// loop is one event loop and the connections it owns. Only its own
// goroutine touches its fields, except stop and closeWhy, which others set
// before waking it through its eventfd.
type loop struct {
	*poller
	s     *TCP
	lfd   int     // listening socket in the set; -1 once the loop stops accepting
	conns []*conn // by descriptor
	open  int     // connections in conns
	buf   *[]byte // read buffer of every connection; echoed from at once

	nextScan     time.Duration // when to look for idle connections
	paused       bool          // accepting paused after a transient error,
	resume       time.Duration // until then
	backoff      time.Duration
	failed       chan<- error // where an error that ends accepting goes
	notAccepting func()       // called once the loop no longer accepts

	held heldEchoes // faulty connections' echoes, by when they may go

	stop     atomic.Bool            // stop accepting, and end once no connection is left
	closeWhy atomic.Pointer[string] // close every connection, with this reason
}

// conn is one connection. pending holds what the peer has not yet taken of
// an echo, borrowed from the pool only until it is written.
type conn struct {
	fd       int
	peer     netip.AddrPort
	opened   time.Time
	active   time.Duration // loop time of the last traffic
	in, out  uint64
	pending  *[]byte
	off, end int

	// Only for a connection that gets faults: its plan, what to do once
	// the pending echo has gone, when it may go, and whether the
	// connection has sent its FIN and now only reads and discards.
	plan      *plan
	then      after
	heldUntil time.Duration
	draining  bool
}

func newLoop(s *TCP, lfd int) (*loop, error) {
	p, err := newPoller()
	if err != nil {
		return nil, fmt.Errorf("tcp: %w", err)
	}
	l := &loop{poller: p, s: s, lfd: lfd, buf: s.getBulk()}
	if err := l.watchListener(); err != nil {
		l.release()
		return nil, fmt.Errorf("tcp: %w", err)
	}
	return l, nil
}

// release closes the loop's epoll set and returns its read buffer, once
// the loop has ended.
func (l *loop) release() {
	l.s.putBulk(l.buf)
	l.poller.release()
}

// watchListener adds the listening socket to the set. With several loops
// each has it in its set; EPOLLEXCLUSIVE wakes one of them per connection
// rather than all.
func (l *loop) watchListener() error {
	return l.watch(l.lfd, unix.EPOLL_CTL_ADD, unix.EPOLLIN|unix.EPOLLEXCLUSIVE)
}

// run serves until the loop has stopped accepting and has no connection
// left.
func (l *loop) run() {
	for l.lfd >= 0 || l.open > 0 {
		events, err := l.wait(l.timeout())
		if err != nil {
			// Nothing in a broken epoll set can be served any more.
			l.closeAll(err.Error())
			l.stopAccepting(fmt.Errorf("tcp: %w", err))
			return
		}
		for _, ev := range events {
			switch fd := int(ev.Fd); fd {
			case l.wake:
				l.command()
			case l.lfd:
				l.accept()
			case l.timer:
				l.isTimer(fd) // the held echoes' time; timers() follows
			default:
				if c := l.conns[fd]; c != nil {
					l.serve(c)
				}
			}
		}
		l.timers()
	}
}

// timeout is how long epoll_wait may sleep: until the next idle scan or the
// end of an accept pause, or for ever.
func (l *loop) timeout() int {
	next := time.Duration(-1)
	if l.s.scanEvery() > 0 && l.open > 0 {
		next = l.nextScan
	}
	if l.paused && (next < 0 || l.resume < next) {
		next = l.resume
	}
	if next < 0 {
		return -1
	}
	d := next - time.Since(l.epoch)
	if d <= 0 {
		return 0
	}
	return int((d + time.Millisecond - 1) / time.Millisecond)
}

func (l *loop) timers() {
	l.releaseHeld()
	if l.paused && l.now >= l.resume && l.lfd >= 0 {
		l.paused = false
		if err := l.watchListener(); err != nil {
			l.stopAccepting(err)
		}
	}
	if l.s.scanEvery() > 0 && l.open > 0 && l.now >= l.nextScan {
		l.closeExpired()
	}
}

// closeExpired closes the connections past the idle or the write timeout
// (TCP.expired). The scan runs every TCP.scanEvery, so a connection is
// closed at most an eighth of its timeout late, and a scan is a walk over
// a slice, cheap beside the timeout.
func (l *loop) closeExpired() {
	for _, c := range l.conns {
		if c == nil {
			continue
		}
		// A held echo is not the peer's doing: its time counts from
		// when it could go.
		quiet := l.now - max(c.active, c.heldUntil)
		if why := l.s.expired(quiet, c.pending != nil && c.heldUntil <= l.now); why != "" {
			l.close(c, why)
		}
	}
	l.nextScan = l.now + l.s.scanEvery()
}

func (l *loop) command() {
	l.woken()
	if l.stop.Load() {
		l.stopAccepting(nil)
	}
	if why := l.closeWhy.Swap(nil); why != nil {
		l.closeAll(*why)
	}
}

// stopAccepting takes the listening socket out of the loop's set, once;
// err, if any, is why accepting ended.
func (l *loop) stopAccepting(err error) {
	if l.lfd < 0 {
		return
	}
	if !l.paused {
		l.unwatch(l.lfd)
	}
	// A pause ends with the listener: left set, its resume time would lie
	// in the past for ever, and timeout would have epoll_wait spin.
	l.lfd, l.paused = -1, false
	if err != nil {
		l.failed <- err // buffered for one error per loop
	}
	l.notAccepting()
}

func (l *loop) accept() {
	for range acceptBatch {
		fd, sa, err := unix.Accept4(l.lfd, unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC)
		switch {
		case err == nil:
			l.backoff = 0
			l.add(fd, sa)
			continue
		case err == unix.EAGAIN || err == unix.EINTR:
			// Drained, or another loop took it.
		case isTransient(err):
			// Out of descriptors, or a connection that died in the
			// backlog: the listener stays readable, so stop watching it
			// for a while instead of spinning on it.
			l.backoff = nextBackoff(l.backoff)
			logfield.Millis(l.s.Log.Warn().Err(err), "retry_in", l.backoff).Msg("accept failed")
			l.unwatch(l.lfd)
			l.paused, l.resume = true, l.now+l.backoff
		default:
			l.stopAccepting(fmt.Errorf("tcp: accept: %w", err))
		}
		return
	}
}

func (l *loop) add(fd int, sa unix.Sockaddr) {
	peer := addrPort(sa)
	if !l.s.admit(peer) {
		unix.Close(fd)
		return
	}
	c := &conn{fd: fd, peer: peer, opened: time.Now(), active: l.now, plan: l.s.Faults.newPlan(l.s.chance)}
	// Echoes are written as soon as they are read: with Nagle's algorithm
	// a small echo could wait for the peer's delayed ACK of the last one.
	unix.SetsockoptInt(fd, unix.IPPROTO_TCP, unix.TCP_NODELAY, 1)
	if err := l.watch(fd, unix.EPOLL_CTL_ADD, unix.EPOLLIN); err != nil {
		unix.Close(fd)
		l.s.closed(peer, 0, 0, c.opened, err.Error())
		return
	}
	for fd >= len(l.conns) {
		l.conns = append(l.conns[:cap(l.conns)], nil)
	}
	l.conns[fd] = c
	l.open++
	if c.plan != nil {
		l.s.counts.faulty.Add(1)
		if c.plan.f.Refuse {
			l.s.counts.refused.Add(1)
			l.close(c, whyRefused)
		}
	}
}

func addrPort(sa unix.Sockaddr) netip.AddrPort {
	switch a := sa.(type) {
	case *unix.SockaddrInet4:
		return netip.AddrPortFrom(netip.AddrFrom4(a.Addr), uint16(a.Port))
	case *unix.SockaddrInet6:
		return netip.AddrPortFrom(netip.AddrFrom16(a.Addr), uint16(a.Port))
	}
	return netip.AddrPort{}
}

// serve answers a readable connection with one read and one write, or goes
// on writing an echo the peer was not ready for. While such an echo is
// pending the connection is not read: a peer that stops reading is not
// echoed any further, as a blocking server would behave.
func (l *loop) serve(c *conn) {
	if c.pending != nil {
		l.flush(c)
		return
	}
	buf := *l.buf
	n, err := recv(c.fd, buf)
	switch {
	case n > 0:
	case err == unix.EAGAIN || err == unix.EINTR:
		return
	case err == nil && c.draining: // the peer has seen our FIN and closed too
		l.close(c, whyEarly)
		return
	case err == nil: // end of stream: the peer has had every byte back
		l.close(c, "closed by peer")
		return
	default:
		l.close(c, errReason(err))
		return
	}
	c.in += uint64(n)
	c.active = l.now
	if l.s.Trace {
		traceIO(&l.s.Log, l.s.Tracing, "tcp", "read", c.peer, buf[:n], n)
	}
	if c.plan != nil {
		l.serveFaulty(c, n)
		return
	}
	w, err := send(c.fd, buf[:n])
	w = max(w, 0)
	c.out += uint64(w)
	if l.s.Trace && w > 0 {
		traceIO(&l.s.Log, l.s.Tracing, "tcp", "echoed", c.peer, nil, w)
	}
	if w == n {
		return
	}
	if err != nil && err != unix.EAGAIN && err != unix.EINTR {
		l.close(c, errReason(err))
		return
	}
	// The rest waits in the buffer it was read into, which the connection
	// keeps; the loop reads into another. Copying it out instead would add
	// a copy of up to 64 KiB to every echo of a stream the peer reads
	// slower than it writes.
	c.pending, l.buf = l.buf, l.s.getBulk()
	c.off, c.end = w, n
	if err := l.watch(c.fd, unix.EPOLL_CTL_MOD, unix.EPOLLOUT); err != nil {
		l.close(c, err.Error())
	}
}

// flush writes what is pending, and reads again once it is all written.
func (l *loop) flush(c *conn) {
	for c.off < c.end {
		w, err := send(c.fd, (*c.pending)[c.off:c.end])
		switch {
		case w > 0:
			c.off += w
			c.out += uint64(w)
			c.active = l.now
			if l.s.Trace {
				traceIO(&l.s.Log, l.s.Tracing, "tcp", "echoed", c.peer, nil, w)
			}
		case err == unix.EAGAIN:
			return
		case err == unix.EINTR:
		default:
			l.close(c, errReason(err))
			return
		}
	}
	l.s.putBulk(c.pending)
	c.pending = nil
	if c.then != goOn {
		l.carryOut(c)
		return
	}
	if err := l.watch(c.fd, unix.EPOLL_CTL_MOD, unix.EPOLLIN); err != nil {
		l.close(c, err.Error())
	}
}

// close closes c, which also takes it out of the epoll set.
func (l *loop) close(c *conn, why string) {
	l.conns[c.fd] = nil
	l.open--
	unix.Close(c.fd)
	if c.pending != nil {
		l.s.putBulk(c.pending)
		c.pending = nil
	}
	l.s.closed(c.peer, c.in, c.out, c.opened, why)
}

func (l *loop) closeAll(why string) {
	for _, c := range l.conns {
		if c != nil {
			l.close(c, why)
		}
	}
}

// recv and send are recv(2) and send(2) on a non-blocking socket, which
// return at once, so they are made as raw system calls: the runtime's
// bookkeeping for a call that might block would cost more than the call
// itself here. send passes MSG_NOSIGNAL: a peer gone away is an error to
// log, not a SIGPIPE.
func recv(fd int, p []byte) (int, error) {
	n, _, e := unix.RawSyscall6(unix.SYS_RECVFROM, uintptr(fd), uintptr(unsafe.Pointer(unsafe.SliceData(p))), uintptr(len(p)), 0, 0, 0)
	if e != 0 {
		return -1, e
	}
	return int(n), nil
}

func send(fd int, p []byte) (int, error) {
	n, _, e := unix.RawSyscall6(unix.SYS_SENDTO, uintptr(fd), uintptr(unsafe.Pointer(unsafe.SliceData(p))), uintptr(len(p)), unix.MSG_NOSIGNAL, 0, 0)
	if e != 0 {
		return -1, e
	}
	return int(n), nil
}

// defaultEngine is the fastest engine this system has.
const defaultEngine = EngineLoops
