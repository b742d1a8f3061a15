//go:build unix

package probe

import (
	"errors"
	"io"
	"net"
	"regexp"
	"runtime"
	"testing"
	"time"
)

// TestRunStalledServer: a server that stops reading is named as such,
// whether the request cannot even be written in time or it went out and
// then waited in the socket's buffers.
func TestRunStalledServer(t *testing.T) {
	t.Parallel()
	// A Unix stream's writer holds what it wrote until the reader takes
	// it, so a megabyte to a server that reads nothing blocks the write.
	stall := func(c net.Conn) { <-t.Context().Done() }
	r, err := Run(t.Context(), serveUnix(t, stall), Options{Count: 1, Size: MaxTCPSize, Timeout: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	want := regexp.MustCompile(`^stalled: the server stopped reading: request 1 could not be sent within 200ms \(\d+ of 1048576 bytes went\)$`)
	if !want.MatchString(r.Aborted) || ErrorCode(r.Err()) != "stalled" || !errors.Is(r.Err(), ErrTimeout) {
		t.Errorf("aborted %q, code %q; want a write that could not finish named stalled, and still a timeout", r.Aborted, ErrorCode(r.Err()))
	}

	if runtime.GOOS != "linux" {
		return
	}
	// A stream: the echo stops once the server stops reading.
	some := func(c net.Conn) { io.CopyN(c, c, 1<<20); <-t.Context().Done() }
	r, err = Run(t.Context(), serveUnix(t, some), Options{Mode: ModeThroughput, Duration: time.Second, Size: 64, Timeout: 200 * time.Millisecond})
	want = regexp.MustCompile(`^stalled: the server stopped reading: the echo stopped after 1048576 bytes, and 200ms later what was written still waited in the socket buffers$`)
	if err != nil || !want.MatchString(r.Aborted) || ErrorCode(r.Err()) != "stalled" {
		t.Errorf("stream: %v, aborted %q, code %q; want the stall named", err, r.Aborted, ErrorCode(r.Err()))
	}

	// Loopback TCP on Linux sizes a new connection's send buffer for ten
	// 64 KiB segments, so a megabyte is written whole; only the kernel's
	// count of bytes the server never took tells a stall from a slow echo.
	waited := serveTCP(t, func(c net.Conn) {
		io.ReadFull(c, make([]byte, 64<<10))
		c.Write(make([]byte, 100))
		<-t.Context().Done()
	})
	r, err = Run(t.Context(), waited, Options{Count: 1, Size: MaxTCPSize, Timeout: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	want = regexp.MustCompile(`^stalled: the server stopped reading: request 1 went out, and 200ms later \d+ of its 1048576 bytes still waited in the socket buffers \(100 of 1048576 bytes of the reply came back\)$`)
	if !want.MatchString(r.Aborted) || ErrorCode(r.Err()) != "stalled" {
		t.Errorf("aborted %q, code %q; want bytes left waiting named stalled", r.Aborted, ErrorCode(r.Err()))
	}
}
