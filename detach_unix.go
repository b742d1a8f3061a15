//go:build unix

package main

import (
	"os/exec"
	"syscall"
)

// newSession starts cmd in a session of its own, so that it outlives the
// shell and the terminal that started it, and a Ctrl-C there.
func newSession(cmd *exec.Cmd) { cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true} }
