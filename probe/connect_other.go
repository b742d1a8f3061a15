//go:build !linux

package probe

import (
	"context"
	"net"
	"net/netip"
	"time"
)

// connectTCP is net.Dialer's connect elsewhere; the time includes its
// wake-up through Go's poller.
func connectTCP(ctx context.Context, addr netip.AddrPort, timeout time.Duration) (net.Conn, time.Duration, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var d net.Dialer
	start := time.Now()
	c, err := d.DialTCP(ctx, "tcp", netip.AddrPort{}, addr)
	return c, time.Since(start), err
}

// connectUnix is net.Dialer's connect to a Unix stream socket elsewhere.
func connectUnix(ctx context.Context, path string, timeout time.Duration) (net.Conn, time.Duration, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var d net.Dialer
	start := time.Now()
	c, err := d.DialContext(ctx, "unix", path)
	return c, time.Since(start), err
}
