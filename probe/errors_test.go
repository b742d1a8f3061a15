package probe

import (
	"errors"
	"fmt"
	"io"
	"syscall"
	"testing"
)

func TestErrorCode(t *testing.T) {
	t.Parallel()
	tests := []struct {
		err  error
		want string
	}{
		{nil, ""},
		{errors.New("disk full"), "failed"},
		{refused("127.0.0.1:9"), "refused"},
		{fmt.Errorf("connect to x: %w after 1s", ErrTimeout), "timeout"},
		{withKind(ErrUnresolvable, errors.New("lookup x: no such host")), "unresolvable"},
		{withKind(connectKind(syscall.ENETUNREACH), syscall.ENETUNREACH), "unreachable"},
		{withKind(ioKind(io.EOF), errors.New("server closed the connection")), "closed"},
		{withKind(ioKind(syscall.ECONNRESET), errors.New("reset")), "reset"},
		{fmt.Errorf("%w: request 1 could not be sent", ErrStalled), "stalled"},
		{withKind(ErrNoReply, errors.New("reply 1 timed out")), "no_reply"},
		{withKind(ErrLost, errors.New("1 of 3 lost")), "lost"},
		{withKind(ErrCorrupt, errors.New("0 of 3 lost, 1 corrupt")), "corrupt"},
		{withKind(ErrAssertion, errors.New("assert p99<1ms failed")), "assertion"},
		// An interruption is named as such whatever it cut short.
		{withKind(ErrInterrupted, fmt.Errorf("interrupted while connecting: %w", refused("127.0.0.1:9"))), "interrupted"},
	}
	for _, tt := range tests {
		if got := ErrorCode(tt.err); got != tt.want {
			t.Errorf("ErrorCode(%v) = %q, want %q", tt.err, got, tt.want)
		}
	}
	// The kind does not change the words.
	if err := withKind(ErrNoReply, errors.New("reply 1 timed out")); err.Error() != "reply 1 timed out" {
		t.Errorf("text %q", err)
	}
	// A named kind is still the broader one it was before it had a name.
	if !errors.Is(ioKind(syscall.ECONNRESET), ErrClosed) || !errors.Is(ErrStalled, ErrTimeout) {
		t.Error("a reset is no longer a close, or a stall no longer a timeout")
	}
	if withKind(nil, io.EOF) != io.EOF || withKind(ErrLost, nil) != nil {
		t.Error("withKind of no kind or no error changed it")
	}
}
