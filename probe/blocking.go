//go:build unix

package probe

import (
	"fmt"
	"io"
	"net"
	"os"
	"sync/atomic"
	"syscall"
	"time"
)

// blocker reads the way a C client does: the socket is made blocking and
// read(2) sleeps in the kernel until the reply, which wakes this thread
// directly. Through Go's poller a reply instead wakes the poller, which
// then schedules the goroutine: microseconds more per round trip, which a
// latency probe would otherwise report as the loopback stack's.
//
// Writes block in the kernel too. Timeouts are the socket's SO_RCVTIMEO
// and SO_SNDTIMEO, not Go deadlines: setting a deadline arms the runtime's
// timers, a cost on the scale of the round trip itself when paid on every
// one (bench/ compares the probe with a C client). So the first read of
// a round trip waits the run's timeout, already set, and only a later one
// (the rest of a reply, or a UDP read past a stale datagram) pays a
// setsockopt to wait for what is left until the deadline. A stop shuts the
// socket down, which wakes a blocked read or write.
type blocker struct {
	conn     net.Conn
	rc       syscall.RawConn
	stream   bool
	stopped  atomic.Bool
	timeout  time.Duration // the run's: SO_RCVTIMEO for a round trip's first read
	set      time.Duration // SO_RCVTIMEO as last set
	deadline time.Time     // the current round trip's, from arm
	first    bool          // no read yet since arm

	// One read's and one write's arguments and results, in fields so that
	// the callbacks, made once, do not allocate a closure per call.
	buf  []byte
	n    int
	err  error
	fn   func(fd uintptr) bool
	wbuf []byte
	wn   int
	werr error
	wfn  func(fd uintptr) bool
}

// newBlocker makes conn's socket blocking, with timeout on each read and
// write; stream says conn is TCP.
func newBlocker(conn net.Conn, stream bool, timeout time.Duration) (*blocker, error) {
	rc, err := rawConn(conn, "blocking reads")
	if err != nil {
		return nil, err
	}
	b := &blocker{conn: conn, rc: rc, stream: stream, timeout: timeout}
	b.fn, b.wfn = b.read1, b.write1
	var serr error
	err = rc.Control(func(fd uintptr) {
		if serr = syscall.SetNonblock(int(fd), false); serr == nil {
			serr = b.setTimeout(fd, timeout)
		}
		if serr == nil {
			tv := syscall.NsecToTimeval(max(timeout, time.Microsecond).Nanoseconds())
			serr = syscall.SetsockoptTimeval(int(fd), syscall.SOL_SOCKET, syscall.SO_SNDTIMEO, &tv)
		}
	})
	if err == nil {
		err = serr
	}
	if err != nil {
		return nil, fmt.Errorf("blocking reads: %w", err)
	}
	return b, nil
}

// setTimeout sets SO_RCVTIMEO; a zero timeval would mean no timeout.
func (b *blocker) setTimeout(fd uintptr, d time.Duration) error {
	tv := syscall.NsecToTimeval(max(d, time.Microsecond).Nanoseconds())
	b.set = d
	return syscall.SetsockoptTimeval(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVTIMEO, &tv)
}

func (b *blocker) arm(deadline time.Time) error {
	b.deadline, b.first = deadline, true
	return nil
}

// armEarly makes even the first read wait only until deadline, as a later
// read of a round trip does.
func (b *blocker) armEarly(deadline time.Time) error {
	b.deadline, b.first = deadline, false
	return nil
}

// stop shuts the socket down, which wakes a read or write blocked in the
// kernel.
func (b *blocker) stop() {
	b.stopped.Store(true)
	b.rc.Control(func(fd uintptr) { syscall.Shutdown(int(fd), syscall.SHUT_RDWR) })
}

// read reads once; see blocker for how long it waits.
func (b *blocker) read(p []byte) (int, error) {
	wait := b.timeout
	if !b.first {
		if wait = time.Until(b.deadline); wait <= 0 {
			return 0, os.ErrDeadlineExceeded
		}
	}
	b.first = false
	if wait != b.set {
		var serr error
		if err := b.rc.Control(func(fd uintptr) { serr = b.setTimeout(fd, wait) }); err != nil {
			return 0, err
		}
		if serr != nil {
			return 0, serr
		}
	}
	b.buf = p
	if err := b.rc.Read(b.fn); err != nil {
		return 0, err
	}
	return b.n, b.err
}

// read1 is the RawConn callback: one blocking read(2). It always reports
// done, so the runtime never parks the goroutine on the poller.
func (b *blocker) read1(fd uintptr) bool {
	var n int
	var err error
	for {
		n, err = blockingRead(fd, b.buf)
		// The runtime preempts with signals, which interrupt a read that
		// has received nothing yet; read again unless stopping.
		if err != syscall.EINTR || b.stopped.Load() {
			break
		}
	}
	switch {
	case b.stopped.Load():
		b.n, b.err = 0, errStopped
	case err == syscall.EAGAIN:
		b.n, b.err = 0, os.ErrDeadlineExceeded // SO_RCVTIMEO expired
	default:
		b.n, b.err = connResult(n, err, b.stream)
	}
	return true
}

// readFull reads exactly len(p) bytes by the deadline.
func (b *blocker) readFull(p []byte) (int, error) {
	got := 0
	for got < len(p) {
		n, err := b.read(p[got:])
		got += n
		if err != nil {
			if got > 0 && err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return got, err
		}
	}
	return got, nil
}

// write writes all of p by the deadline; each write(2) waits at most the
// run's timeout for room in the socket's buffer. A datagram goes whole in
// one write(2), which the poller's path already makes.
func (b *blocker) write(p []byte) (int, error) {
	if !b.stream {
		return b.conn.Write(p)
	}
	b.wbuf, b.wn, b.werr = p, 0, nil
	if err := b.rc.Write(b.wfn); err != nil {
		return 0, err
	}
	return b.wn, b.werr
}

// write1 is the RawConn callback: blocking write(2)s until p is written.
// Like read1, it always reports done.
func (b *blocker) write1(fd uintptr) bool {
	for b.wn < len(b.wbuf) {
		n, err := syscall.Write(int(fd), b.wbuf[b.wn:])
		b.wn += max(n, 0)
		switch {
		case b.stopped.Load():
			b.werr = errStopped
		case err == nil && b.wn < len(b.wbuf) && time.Now().After(b.deadline):
			// SO_SNDTIMEO ran out after part of p went: a peer that
			// takes a few bytes now and then must not stretch the
			// timeout for ever.
			b.werr = os.ErrDeadlineExceeded
		case err == nil || err == syscall.EINTR:
			continue
		case err == syscall.EAGAIN:
			b.werr = os.ErrDeadlineExceeded // SO_SNDTIMEO expired
		default:
			b.werr = os.NewSyscallError("write", err)
		}
		break
	}
	return true
}

// blockingRead is read(2) told to the scheduler as a system call, so that
// while this thread sleeps in the kernel its P serves other goroutines.
func blockingRead(fd uintptr, b []byte) (int, error) {
	return syscall.Read(int(fd), b)
}
