package probe

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"runtime"
	"strings"
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
	if err == nil || err.Error() != want || !errors.Is(err, ErrTimeout) || r.Sent != 0 || r.Connect != 0 {
		t.Fatalf("Run = %+v, %v; want nothing measured, %q", r, err, want)
	}
}

// TestRunConnectStopsAtOnceWhenInterrupted: a connect waiting on a full
// backlog ends as soon as the run is stopped, not when --timeout runs out.
func TestRunConnectStopsAtOnceWhenInterrupted(t *testing.T) {
	t.Parallel()
	target := fullListener(t)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	type result struct {
		r   *Result
		err error
	}
	done := make(chan result, 1)
	go func() {
		r, err := Run(ctx, target, Options{Count: 1, Size: 64, Timeout: time.Minute})
		done <- result{r, err}
	}()
	waitForSynSent(t, target.Port)
	cancel()
	select {
	case got := <-done:
		want := fmt.Sprintf("interrupted while connecting to tcp://127.0.0.1:%d: context canceled", target.Port)
		if got.err == nil || got.err.Error() != want || !errors.Is(got.err, context.Canceled) || ErrorCode(got.err) != "interrupted" || !got.r.Interrupted {
			t.Fatalf("Run = %+v, %v; want an interrupted Result, %q", got.r, got.err, want)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("Run still connecting 30 s after it was stopped (timeout 1 m)")
	}
}

// waitForSynSent waits until the kernel lists a connection to port on
// 127.0.0.1 in SYN_SENT: the probe's connect is waiting for an answer.
func waitForSynSent(t *testing.T, port uint16) {
	t.Helper()
	want := fmt.Sprintf("0100007F:%04X", port)
	for range 10000 {
		b, err := os.ReadFile("/proc/net/tcp")
		if err != nil {
			t.Skipf("no /proc/net/tcp: %v", err)
		}
		for _, line := range strings.Split(string(b), "\n") {
			if f := strings.Fields(line); len(f) > 3 && f[2] == want && f[3] == "02" {
				return
			}
		}
		runtime.Gosched()
	}
	t.Fatal("the probe never got to connect")
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
		c.SetDeadline(time.Now().Add(connDeadline)) // never read, but bounded all the same
		t.Cleanup(func() { c.Close() })
	}
	t.Fatal("the accept queue never filled")
	return Target{}
}
