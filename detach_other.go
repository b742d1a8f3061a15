//go:build !unix

package main

import (
	"os/exec"
	"syscall"
)

// newSession: Windows has no sessions to leave; a detached server there
// starts in a new process group, so a Ctrl-C in the console does not
// reach it.
func newSession(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{CreationFlags: 0x00000200} // CREATE_NEW_PROCESS_GROUP
}
