//go:build unix

package server

import (
	"io/fs"
	"os"
	"syscall"
)

// alive reports whether a process with this PID exists; a process of
// another user still counts (EPERM).
func alive(pid int) bool {
	err := syscall.Kill(pid, 0)
	return err == nil || err == syscall.EPERM
}

// isOwner reports whether this process's user owns the file.
func isOwner(st fs.FileInfo) bool {
	sys, ok := st.Sys().(*syscall.Stat_t)
	return ok && int(sys.Uid) == os.Getuid()
}
