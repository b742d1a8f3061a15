package probe

import (
	"errors"
	"io"
	"net"
	"runtime"
	"time"
)

// reader is how a session moves its payloads through the socket. It is
// chosen once per session (see pickReaders): the blocking kernel reader
// (blocking.go) by default, the spinner (busypoll.go) to busy poll, and
// netReader, on Go's own net.Conn, wherever those are not available.
//
// The deadline is set apart from the reads, once per round trip, for two
// reasons: the caller checks for a cancellation after setting it, so that
// a stop cannot be overwritten by a later deadline; and a reader that sets
// a Go deadline per call would arm the runtime's timers several times per
// round trip, which costs microseconds.
type reader interface {
	// arm sets the deadline of the reads and writes that follow; the
	// blocker takes it to be the run's Timeout away, and lets a round
	// trip's first read wait that long.
	arm(deadline time.Time) error
	// armEarly is arm for a deadline sooner than the run's Timeout, which
	// every read honours.
	armEarly(deadline time.Time) error
	// read reads once: one datagram, or what a stream has.
	read(p []byte) (int, error)
	// readFull reads exactly len(p) bytes from a stream.
	readFull(p []byte) (int, error)
	// write writes all of p.
	write(p []byte) (int, error)
	// stop makes a read or write blocked in the reader, and every later
	// one, return at once. It may be called from another goroutine, once
	// the session is over too.
	stop()
}

// errStopped ends a read the reader gave up because the run was stopped;
// the caller sees ctx.Err() and reports the interruption.
var errStopped = errors.New("stopped")

// noBusyPoll is the error for Options.BusyPoll where the probe cannot
// spin: it reads with read(2) on a non-blocking descriptor, which only
// Unix systems have. It wraps errors.ErrUnsupported.
func noBusyPoll() error {
	return &OptionError{Field: "BusyPoll", Why: "spinning on a socket needs a Unix system, not " + runtime.GOOS, Err: errors.ErrUnsupported}
}

// netReader reads through Go's poller with Go deadlines: it works on any
// system and any net.Conn, pipes included.
type netReader struct {
	conn   net.Conn
	stream bool
}

func (r *netReader) arm(deadline time.Time) error {
	if r.stream {
		// The write gets the deadline too: a server that never reads would
		// otherwise block a large write for ever.
		return r.conn.SetDeadline(deadline)
	}
	return r.conn.SetReadDeadline(deadline)
}

func (r *netReader) armEarly(deadline time.Time) error { return r.arm(deadline) }

func (r *netReader) read(p []byte) (int, error)     { return r.conn.Read(p) }
func (r *netReader) readFull(p []byte) (int, error) { return io.ReadFull(r.conn, p) }
func (r *netReader) write(p []byte) (int, error)    { return r.conn.Write(p) }

// stop sets a past deadline, which wakes a blocked read or write at once.
// It fails only once conn is closed, when nothing is blocked.
func (r *netReader) stop() { _ = r.conn.SetDeadline(time.Unix(1, 0)) }

// Labels for Result.Reads.
const (
	readsBlocking = "by blocking read(2), as a C client does"
	readsSpinning = "by busy polling"
	readsPoller   = "through the Go poller"
	readsFlow     = "through the Go poller, spinning before each send"
)

// pickReaders chooses how the session reads, once. Busy polling spins
// throughout; UDP on a schedule waits in the poller and spins only just
// before a send is due (near), since it must send on time while replies
// are pending; everything else blocks in the kernel as a C client does.
// Where the spinner or the blocking reader cannot work (not Unix, or a
// connection without a descriptor) the session uses netReader.
func (s *session) pickReaders() error {
	switch {
	case s.o.BusyPoll:
		sp, err := newSpinner(s.conn, !s.dgram, false)
		if err != nil {
			return err
		}
		s.rd, s.near, s.res.Reads = sp, sp, readsSpinning
	case s.dgram && s.o.Interval > 0:
		nr := &netReader{conn: s.conn}
		s.rd, s.near, s.res.Reads = nr, nr, readsPoller
		if sp, err := newSpinner(s.conn, false, true); err == nil {
			s.near, s.res.Reads = sp, readsFlow
		} else {
			s.log.Debug().Err(err).Msg("no spinning before sends")
		}
	default:
		b, err := newBlocker(s.conn, !s.dgram, s.o.Timeout)
		if err == nil {
			s.rd, s.res.Reads = b, readsBlocking
			return nil
		}
		s.log.Debug().Err(err).Msg("reads go through the poller")
		s.rd, s.res.Reads = &netReader{conn: s.conn, stream: !s.dgram}, readsPoller
	}
	return nil
}
