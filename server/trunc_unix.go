//go:build unix

package server

import "syscall"

// msgTrunc is the flag with which a read says the datagram was longer than
// the buffer.
const msgTrunc = syscall.MSG_TRUNC
