package probe

import (
	"net"

	"golang.org/x/sys/unix"
)

// unsent is how much of what was written on conn the peer has not taken
// yet, and whether the kernel could say: for TCP, the bytes it has not
// acknowledged, which on loopback means its receive buffer is full; for a
// Unix stream, the memory our writes still hold in its queue. It is asked
// only once a run has failed.
func unsent(conn net.Conn) (int, bool) {
	rc, err := rawConn(conn, "unsent")
	if err != nil {
		return 0, false
	}
	n, ierr := 0, error(nil)
	if err := rc.Control(func(fd uintptr) { n, ierr = unix.IoctlGetInt(int(fd), unix.SIOCOUTQ) }); err != nil || ierr != nil {
		return 0, false
	}
	return n, true
}
