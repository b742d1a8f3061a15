package probe

import (
	"errors"
	"io"
	"syscall"
)

// The kinds of failure a run can end in. Run's error, Result.Err and
// Result.Assert wrap one of them, so that a caller can branch with
// errors.Is, and ErrorCode names each for machines.
var (
	// ErrRefused means nothing was listening on the target address.
	ErrRefused = errors.New("connection refused")
	// ErrTimeout means the connection could not be set up within
	// Options.Timeout, or a TCP reply (or the stream's echo) did not come
	// within it.
	ErrTimeout = errors.New("timed out")
	// ErrUnresolvable means the target's host name did not resolve.
	ErrUnresolvable = errors.New("host name not resolved")
	// ErrUnreachable means the target's address could not be reached: no
	// route, no such local address, or a firewall.
	ErrUnreachable = errors.New("address unreachable")
	// ErrNoReply means the target took the connection or the datagrams but
	// nothing came back: no echo server there.
	ErrNoReply = errors.New("nothing came back: is it an echo server?")
	// ErrInterrupted means the run's context was cancelled: a signal, in
	// the command.
	ErrInterrupted = errors.New("interrupted")
	// ErrClosed means the server closed or reset the connection, or went
	// away, once round trips had started. A close with a FIN is "closed
	// early" in words; ErrReset names a reset.
	ErrClosed = errors.New("connection closed")
	// ErrReset means the server reset the connection (a TCP RST, as a
	// crashed peer's kernel sends) once round trips had started. It is
	// also an ErrClosed, for callers that branch on any close.
	ErrReset error = &kinded{ErrClosed, errors.New("connection reset")}
	// ErrStalled means the server stopped reading: a request could not be
	// sent within Options.Timeout, or after it what was sent still waited
	// in the socket's buffers. It is also an ErrTimeout, the kind a stall
	// had before it had a name.
	ErrStalled error = &kinded{ErrTimeout, errors.New("stalled: the server stopped reading")}
	// ErrLost means round trips went unanswered within their timeout (UDP).
	ErrLost = errors.New("round trips lost")
	// ErrCorrupt means replies came back that differ from what was sent.
	ErrCorrupt = errors.New("corrupt reply")
	// ErrMaxErrors means the run ended early, once Options.MaxErrors round
	// trips had failed.
	ErrMaxErrors = errors.New("max errors reached")
	// ErrAssertion means a condition of Result.Assert did not hold.
	ErrAssertion = errors.New("assertion failed")
)

// codes name the kinds for machines, in order of precedence: an
// interruption is named as such whatever it cut short.
var codes = [...]struct {
	kind error
	code string
}{
	{ErrInterrupted, "interrupted"},
	{ErrRefused, "refused"},
	{ErrUnresolvable, "unresolvable"},
	{ErrUnreachable, "unreachable"},
	{ErrNoReply, "no_reply"},
	{ErrStalled, "stalled"},
	{ErrTimeout, "timeout"},
	{ErrReset, "reset"},
	{ErrClosed, "closed"},
	{ErrMaxErrors, "max_errors"},
	{ErrLost, "lost"},
	{ErrCorrupt, "corrupt"},
	{ErrAssertion, "assertion"},
}

// ErrorCode returns a stable, machine-readable name for the kind of
// failure err is: interrupted, refused, unresolvable, unreachable,
// no_reply, stalled, timeout, reset, closed, max_errors, lost, corrupt or
// assertion, and "failed" for an error of no kind above. It returns ""
// for nil. A kind that is also a broader one (ErrReset is an ErrClosed)
// gets its own, narrower code.
func ErrorCode(err error) string {
	if err == nil {
		return ""
	}
	for _, c := range codes {
		if errors.Is(err, c.kind) {
			return c.code
		}
	}
	return "failed"
}

// kinded is an error of one of the kinds above, in words of its own: its
// text is err's, and errors.Is finds both the kind and what err wraps.
type kinded struct{ kind, err error }

func (k *kinded) Error() string   { return k.err.Error() }
func (k *kinded) Unwrap() []error { return []error{k.kind, k.err} }

// withKind returns err as an error of kind: its text unchanged, and
// errors.Is finding both. A nil kind leaves err as it is.
func withKind(kind, err error) error {
	if kind == nil || err == nil {
		return err
	}
	return &kinded{kind, err}
}

// closing are the errors of a server that closed, reset or went away.
var closing = [...]error{io.EOF, io.ErrUnexpectedEOF, syscall.ECONNRESET, syscall.EPIPE, syscall.ECONNREFUSED}

// ioKind is the kind of an I/O error once round trips have started:
// ErrReset when the server reset the connection, ErrClosed when it closed
// it or went away; nil for others.
func ioKind(err error) error {
	if errors.Is(err, syscall.ECONNRESET) {
		return ErrReset
	}
	for _, e := range closing {
		if errors.Is(err, e) {
			return ErrClosed
		}
	}
	return nil
}

// unreachable are the errors of an address that cannot be reached.
var unreachable = [...]error{syscall.EHOSTUNREACH, syscall.ENETUNREACH, syscall.EHOSTDOWN, syscall.ENETDOWN,
	syscall.EADDRNOTAVAIL, syscall.EACCES, syscall.EPERM}

// connectKind is the kind of an error that kept a connection from being
// set up, other than a refusal or a timeout: ErrUnreachable for no route,
// no such local address, or a firewall; nil for others.
func connectKind(err error) error {
	for _, e := range unreachable {
		if errors.Is(err, e) {
			return ErrUnreachable
		}
	}
	return nil
}
