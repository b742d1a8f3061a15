package probe

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"syscall"
	"time"
)

// dialUnix connects to a Unix socket target. A stream connect is timed
// alone, as TCP's is. A datagram socket first binds a name of its own, in
// a fresh private directory: a Unix datagram server can answer only a
// sender with a name. The directory goes when the connection is closed.
func dialUnix(ctx context.Context, t Target, timeout time.Duration) (net.Conn, time.Duration, error) {
	if t.Network == "unix" {
		if ctx.Err() != nil {
			return nil, 0, ctx.Err()
		}
		c, connect, err := connectUnix(ctx, t.Path, timeout)
		if err != nil {
			return nil, 0, unixError(t, err, timeout)
		}
		return c, connect, nil
	}
	dir, err := os.MkdirTemp("", "loopback-probe-")
	if err != nil {
		return nil, 0, fmt.Errorf("a name to be answered at: %w", err)
	}
	local := &net.UnixAddr{Name: filepath.Join(dir, "probe.sock"), Net: "unixgram"}
	c, err := net.DialUnix("unixgram", local, &net.UnixAddr{Name: t.Path, Net: "unixgram"})
	if err != nil {
		os.RemoveAll(dir)
		return nil, 0, unixError(t, err, timeout)
	}
	return &boundConn{UnixConn: c, dir: dir}, 0, nil
}

// unixError words a failed connect to a Unix socket as TCP's are worded,
// with the kind that fits.
func unixError(t Target, err error, timeout time.Duration) error {
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		return refused(t.Path)
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("%w: no socket at %s", ErrRefused, t.Path)
	case errors.Is(err, os.ErrDeadlineExceeded) || errors.Is(err, context.DeadlineExceeded):
		return fmt.Errorf("connect to %s: %w after %v", t.Path, ErrTimeout, timeout)
	case errors.Is(err, syscall.EPROTOTYPE):
		// A stream socket cannot connect to a datagram one, nor the reverse.
		other := map[string]string{"unix": "unixgram", "unixgram": "unix"}[t.Network]
		return fmt.Errorf("connect to %s: %w (is it a %s socket? try %s://%s)", t.Path, err, other, other, t.Path)
	}
	return withKind(connectKind(err), fmt.Errorf("connect to %s: %w", t.Path, err))
}

// boundConn is a Unix datagram socket bound to a name in a directory of
// its own, which it removes when closed. Embedding keeps SyscallConn, so
// the readers still reach the descriptor.
type boundConn struct {
	*net.UnixConn
	dir string
}

// Close closes the socket and removes its name; closing twice is harmless.
func (c *boundConn) Close() error {
	err := c.UnixConn.Close()
	os.RemoveAll(c.dir)
	return err
}
