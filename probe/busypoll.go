//go:build unix

package probe

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"
)

// canSpin says this system has the spinner.
const canSpin = true

// spinner reads by spinning on a non-blocking socket instead of parking
// the goroutine until the runtime's poller wakes it, which takes a few
// microseconds of scheduler work on every reply. It costs a core for the
// whole run and is meant for the lowest-overhead measurement. Writes go
// through the poller, which a non-blocking socket needs.
type spinner struct {
	conn    net.Conn
	rc      syscall.RawConn
	stream  bool // TCP: a read of 0 bytes is the end of the stream
	stopped atomic.Bool
	// yield gives the core away between attempts, for spinning that is
	// not the user's choice: on a small machine the peer that is to
	// answer may be waiting for this very core.
	yield bool

	// One read's arguments and results, in fields so that the callback,
	// made once, does not allocate a closure per read.
	buf      []byte
	deadline time.Time
	n        int
	err      error
	fn       func(fd uintptr) bool
}

func newSpinner(conn net.Conn, stream, yield bool) (*spinner, error) {
	rc, err := rawConn(conn, "busy poll")
	if err != nil {
		return nil, err
	}
	sp := &spinner{conn: conn, rc: rc, stream: stream, yield: yield}
	sp.fn = sp.spin
	return sp, nil
}

func (sp *spinner) arm(deadline time.Time) error {
	sp.deadline = deadline
	if sp.stream {
		// Writes go through the poller, and a server that never reads
		// would block a large one for ever.
		return sp.conn.SetDeadline(deadline)
	}
	return nil
}

func (sp *spinner) armEarly(deadline time.Time) error { return sp.arm(deadline) }

// stop ends a spin, which never parks and so never sees a Go deadline,
// and wakes a write waiting in the poller.
func (sp *spinner) stop() {
	sp.stopped.Store(true)
	_ = sp.conn.SetDeadline(time.Unix(1, 0))
}

func (sp *spinner) write(p []byte) (int, error) { return sp.conn.Write(p) }

// read reads into b, spinning until data, the deadline or a stop.
func (sp *spinner) read(b []byte) (int, error) {
	sp.buf = b
	if err := sp.rc.Read(sp.fn); err != nil {
		return 0, err
	}
	return sp.n, sp.err
}

// spin is the RawConn callback: it always reports done, so the runtime
// never parks the goroutine on the poller.
func (sp *spinner) spin(fd uintptr) bool {
	for i := 0; ; i++ {
		n, err := rawRead(fd, sp.buf)
		switch {
		case err == syscall.EAGAIN || err == syscall.EINTR:
			if sp.yield {
				schedYield()
			}
			// Reading the clock costs more than a failed read; look at it,
			// and at the stop flag, only now and then.
			if i%16 != 0 {
				continue
			}
			if sp.stopped.Load() {
				sp.n, sp.err = 0, errStopped
				return true
			}
			if !time.Now().Before(sp.deadline) {
				sp.n, sp.err = 0, os.ErrDeadlineExceeded
				return true
			}
			continue
		}
		sp.n, sp.err = connResult(n, err, sp.stream)
		return true
	}
}

// connResult is what one read(2) means to a reader of a net.Conn: on a
// stream, reading nothing means the peer closed its side.
func connResult(n int, err error, stream bool) (int, error) {
	switch {
	case err != nil:
		return 0, err
	case n == 0 && stream:
		return 0, io.EOF
	}
	return n, nil
}

// readFull reads exactly len(b) bytes by spinning, as io.ReadFull does.
func (sp *spinner) readFull(b []byte) (int, error) {
	got := 0
	for got < len(b) {
		n, err := sp.read(b[got:])
		got += n
		if err != nil {
			if got > 0 && errors.Is(err, io.EOF) {
				err = io.ErrUnexpectedEOF
			}
			return got, err
		}
	}
	return got, nil
}

// rawRead is read(2) without telling the scheduler: on a non-blocking
// socket it never blocks, and skipping the scheduler's bookkeeping for a
// system call is most of what makes spinning cheap.
func rawRead(fd uintptr, b []byte) (int, error) {
	if len(b) == 0 {
		return 0, nil
	}
	n, _, errno := syscall.RawSyscall(syscall.SYS_READ, fd, uintptr(unsafe.Pointer(&b[0])), uintptr(len(b)))
	if errno != 0 {
		return 0, errno
	}
	return int(n), nil
}

// rawConn is conn's descriptor, for reads that bypass the poller; what
// names the reader in errors.
func rawConn(conn net.Conn, what string) (syscall.RawConn, error) {
	sc, ok := conn.(syscall.Conn)
	if !ok {
		return nil, fmt.Errorf("%s: %T has no file descriptor", what, conn)
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	return rc, nil
}
