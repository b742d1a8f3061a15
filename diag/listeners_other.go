//go:build !linux

package diag

import (
	"errors"
	"strings"
)

// readTables has no native implementation here yet: macOS and the BSDs keep
// their socket tables behind sysctl and libproc, and Windows behind
// GetExtendedTcpTable. Who and Ports turn this into the native command to
// run instead.
func readTables(System, query) ([]Socket, listenIndex, error) {
	return nil, nil, errors.ErrUnsupported
}

func readUnix(System, func(Socket) bool) ([]Socket, error) { return nil, errors.ErrUnsupported }

func startOwnerScan(System) func([]Socket) { return func([]Socket) {} }

// isAddrInUse matches the message rather than the errno: not every system
// defines syscall.EADDRINUSE (plan9 doesn't), and Windows reports its own
// WSAEADDRINUSE, whose text is the second phrase.
func isAddrInUse(err error) bool {
	if err == nil {
		return false
	}
	msg := err.Error()
	return strings.Contains(msg, "address already in use") ||
		strings.Contains(msg, "Only one usage of each socket address")
}
