package probe

import (
	"errors"
	"fmt"
	"net"
	"syscall"
	"testing"
	"time"
)

// TestRunConnectTimeout fills the accept queue of a listener that never
// accepts, so that the kernel drops further SYNs and the probe's connect
// times out.
func TestRunConnectTimeout(t *testing.T) {
	t.Parallel()
	target := fullListener(t)
	const timeout = 200 * time.Millisecond
	r, err := Run(t.Context(), target, Options{Count: 1, Size: 64, Timeout: timeout})
	want := fmt.Sprintf("connect to 127.0.0.1:%d: timed out after 200ms", target.Port)
	if err == nil || err.Error() != want || !errors.Is(err, ErrTimeout) || r != nil {
		t.Fatalf("Run = %v, %v; want nil, %q", r, err, want)
	}
}

// fullListener listens on 127.0.0.1 with a backlog of 0 and connects until
// the accept queue is full: the next connect hangs.
func fullListener(t *testing.T) Target {
	t.Helper()
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { syscall.Close(fd) })
	if err := syscall.Bind(fd, &syscall.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Listen(fd, 0); err != nil {
		t.Fatal(err)
	}
	sa, err := syscall.Getsockname(fd)
	if err != nil {
		t.Fatal(err)
	}
	addr := fmt.Sprintf("127.0.0.1:%d", sa.(*syscall.SockaddrInet4).Port)
	for range 16 {
		c, err := net.DialTimeout("tcp", addr, 100*time.Millisecond)
		if err != nil {
			return Target{Network: "tcp", Host: "127.0.0.1", Port: uint16(sa.(*syscall.SockaddrInet4).Port)}
		}
		t.Cleanup(func() { c.Close() })
	}
	t.Fatal("the accept queue never filled")
	return Target{}
}
