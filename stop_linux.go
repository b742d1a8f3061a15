package main

import (
	"time"

	"golang.org/x/sys/unix"
)

// waitGone waits until pid has exited, or timeout: a pidfd becomes
// readable when its process exits, so nothing polls.
func waitGone(pid int, timeout time.Duration) bool {
	fd, err := unix.PidfdOpen(pid, 0)
	if err != nil {
		return err == unix.ESRCH // already gone
	}
	defer unix.Close(fd)
	fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
	deadline := time.Now().Add(timeout)
	for {
		left := time.Until(deadline)
		if left <= 0 {
			return false
		}
		n, err := unix.Poll(fds, int(max(left.Milliseconds(), 1)))
		if err == unix.EINTR {
			continue
		}
		return n > 0
	}
}
