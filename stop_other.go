//go:build !linux

package main

import (
	"os"
	"syscall"
	"time"
)

// waitGone waits until pid has exited, or timeout. Without pidfds there is
// nothing to wait on but the process's existence, asked every 20 ms.
func waitGone(pid int, timeout time.Duration) bool {
	for deadline := time.Now().Add(timeout); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		p, err := os.FindProcess(pid)
		if err != nil || p.Signal(syscall.Signal(0)) != nil {
			return true
		}
	}
	return false
}
