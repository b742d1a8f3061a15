//go:build !unix

package probe

import (
	"fmt"
	"net"
	"runtime"
	"time"
)

// canSpin says this system has no spinner: it reads with read(2) on a
// non-blocking descriptor, which only Unix systems have.
const canSpin = false

// newSpinner reports that busy polling is a Unix feature; Options.check
// refuses BusyPoll here before anything connects.
func newSpinner(net.Conn, bool, bool) (reader, error) {
	return nil, noBusyPoll()
}

// newBlocker reports that blocking kernel reads are a Unix feature here:
// sessions read through Go's poller instead.
func newBlocker(net.Conn, bool, time.Duration) (reader, error) {
	return nil, fmt.Errorf("blocking reads: not on %s", runtime.GOOS)
}
