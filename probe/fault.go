package probe

import (
	"errors"
	"fmt"
	"io"
	"syscall"
)

// What the probe calls each way a stream can fail once round trips have
// started, so that a server's fault (serve --reset-after, --close-after,
// --stall-after, --no-reply) reads back under its own name: reset, closed
// early, stalled, timed out, or no reply when nothing ever came back. The
// text names it first; the kind (errors.go) names it for machines.

// failReason says why an I/O error stopped the run, and how far it got.
func (s *session) failReason(err error) string {
	what := err.Error()
	switch {
	case errors.Is(err, syscall.ECONNRESET):
		what = "reset: the server reset the connection (RST)"
	case errors.Is(err, io.ErrUnexpectedEOF):
		what = fmt.Sprintf("closed early: the server closed the connection (FIN) mid-reply (%d of %d bytes)", s.got, len(s.out))
	case errors.Is(err, io.EOF):
		what = "closed early: the server closed the connection (FIN)"
	case errors.Is(err, syscall.EPIPE):
		what = "closed early: the server closed the connection (broken pipe)"
	case errors.Is(err, syscall.ECONNREFUSED):
		what = "connection refused: the echo server went away"
	}
	return what + " " + s.progress()
}

// cameBack says how many bytes of a stream had come back when it failed:
// the figure that a server's --reset-after or --close-after counts. Every
// round trip before the current one read all its reply, or the run would
// have stopped there.
func (s *session) cameBack() string {
	if s.dgram || !s.replied {
		return ""
	}
	return fmt.Sprintf("; %d bytes had come back", s.seq*uint64(len(s.out))+uint64(s.got))
}

// timeoutError says why a stream run stopped at a timeout: stalled when
// the server stopped taking what was sent (a write that could not finish
// in time, or bytes still waiting in the socket's buffers once the reply's
// time was up), no reply when nothing ever came back, and else timed out.
// A stream cannot resynchronise after any of them, so the run ends.
func (l *loop) timeoutError() error {
	n, what := l.seq-l.t.warmup+1, "request"
	if !l.t.counted(l.seq) {
		n, what = l.seq+1, "warm-up request"
	}
	arrived := ""
	if l.got > 0 {
		arrived = fmt.Sprintf(" (%d of %d bytes of the reply came back)", l.got, len(l.out))
	}
	if l.writing {
		return fmt.Errorf("%w: %s %d could not be sent within %v (%d of %d bytes went)",
			ErrStalled, what, n, l.o.Timeout, l.wrote, len(l.out))
	}
	if waiting, ok := unsent(l.conn); ok && waiting > 0 {
		held := "some of it"
		if l.res.Target.Network == "tcp" {
			held = fmt.Sprintf("%d of its %d bytes", waiting, len(l.out))
		}
		return fmt.Errorf("%w: %s %d went out, and %v later %s still waited in the socket buffers%s",
			ErrStalled, what, n, l.o.Timeout, held, arrived)
	}
	if !l.replied {
		return fmt.Errorf("%w (%s %d sent, no reply within %v)", ErrNoReply, what, n, l.o.Timeout)
	}
	return withKind(ErrTimeout, fmt.Errorf("timed out: reply %d did not come within %v%s; the stream cannot resynchronise",
		n, l.o.Timeout, arrived))
}
