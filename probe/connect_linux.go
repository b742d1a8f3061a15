package probe

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"syscall"
	"time"
)

// connectTCP opens a TCP connection with a blocking connect(2), timed on
// its own: on loopback the handshake completes inside the call, so this is
// the kernel's set-up time, without the wake-up through Go's poller and the
// socket options that net.Dialer adds around it (several hundred
// microseconds on a small machine, against about 15 for the handshake).
func connectTCP(ctx context.Context, addr netip.AddrPort, timeout time.Duration) (net.Conn, time.Duration, error) {
	family, sa := sockaddr(addr)
	c, took, err := connectStream(ctx, family, syscall.IPPROTO_TCP, sa, "tcp "+addr.String(), timeout)
	if err != nil {
		return nil, 0, err
	}
	// Go gives its own connections TCP_NODELAY; a latency probe needs it,
	// or Nagle would hold back small payloads.
	if err := c.(*net.TCPConn).SetNoDelay(true); err != nil {
		c.Close()
		return nil, 0, fmt.Errorf("connect to %s: %w", addr, err)
	}
	return c, took, nil
}

// connectUnix connects a Unix stream socket to path the same way, timed
// alone: no handshake goes over a wire, the kernel links the two sockets
// inside connect(2).
func connectUnix(ctx context.Context, path string, timeout time.Duration) (net.Conn, time.Duration, error) {
	c, took, err := connectStream(ctx, syscall.AF_UNIX, 0, &syscall.SockaddrUnix{Name: path}, "unix "+path, timeout)
	if errors.Is(err, syscall.EAGAIN) {
		// The server's backlog stayed full until SO_SNDTIMEO ran out.
		err = os.ErrDeadlineExceeded
	}
	return c, took, err
}

// connectStream opens a stream socket of family and connects it to sa
// with a blocking connect(2), timed alone; name names the descriptor.
//
// A stop through ctx shuts the socket down, which wakes a connect(2) that
// waits on a full backlog (the kernel drops the SYN and retries after 1 s,
// 3 s, ...) at once instead of after the timeout.
func connectStream(ctx context.Context, family, proto int, sa syscall.Sockaddr, name string, timeout time.Duration) (net.Conn, time.Duration, error) {
	fd, err := syscall.Socket(family, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, proto)
	if err != nil {
		return nil, 0, os.NewSyscallError("socket", err)
	}
	tv := syscall.NsecToTimeval(timeout.Nanoseconds())
	if err := syscall.SetsockoptTimeval(fd, syscall.SOL_SOCKET, syscall.SO_SNDTIMEO, &tv); err != nil {
		syscall.Close(fd)
		return nil, 0, os.NewSyscallError("setsockopt", err)
	}
	interrupted := make(chan struct{})
	stop := context.AfterFunc(ctx, func() {
		syscall.Shutdown(fd, syscall.SHUT_RDWR)
		close(interrupted)
	})
	start := time.Now()
	err = connectFD(fd, sa, start.Add(timeout))
	took := time.Since(start)
	if !stop() {
		<-interrupted // the descriptor is closed only once nothing else uses it
		syscall.Close(fd)
		return nil, 0, ctx.Err()
	}
	if err != nil {
		syscall.Close(fd)
		return nil, 0, err
	}
	f := os.NewFile(uintptr(fd), name)
	defer f.Close() // FileConn holds a duplicate
	c, err := net.FileConn(f)
	if err != nil {
		return nil, 0, fmt.Errorf("connect to %s: %w", name, err)
	}
	return c, took, nil
}

// connectFD connects a blocking socket by deadline. A signal can interrupt
// connect(2) while the handshake goes on in the kernel; asking again waits
// for it once more, with a fresh SO_SNDTIMEO, and says EALREADY if that
// runs out too. So each retry gets what is left of the time, and the
// deadline ends the retries: without it, a SYN the kernel keeps dropping
// kept the connect going for its two minutes of retransmissions.
func connectFD(fd int, sa syscall.Sockaddr, deadline time.Time) error {
	for {
		err := syscall.Connect(fd, sa)
		switch err {
		case nil, syscall.EISCONN:
			return nil
		case syscall.EINTR, syscall.EALREADY:
			left := time.Until(deadline)
			if left <= 0 {
				return os.ErrDeadlineExceeded
			}
			tv := syscall.NsecToTimeval(left.Nanoseconds())
			if err := syscall.SetsockoptTimeval(fd, syscall.SOL_SOCKET, syscall.SO_SNDTIMEO, &tv); err != nil {
				return os.NewSyscallError("setsockopt", err)
			}
			continue
		case syscall.EINPROGRESS: // SO_SNDTIMEO ran out
			return os.ErrDeadlineExceeded
		}
		return os.NewSyscallError("connect", err)
	}
}

func sockaddr(addr netip.AddrPort) (int, syscall.Sockaddr) {
	if a := addr.Addr(); a.Is4() {
		return syscall.AF_INET, &syscall.SockaddrInet4{Port: int(addr.Port()), Addr: a.As4()}
	}
	a := addr.Addr()
	var zone uint32
	if z := a.Zone(); z != "" {
		if ifi, err := net.InterfaceByName(z); err == nil {
			zone = uint32(ifi.Index)
		}
	}
	return syscall.AF_INET6, &syscall.SockaddrInet6{Port: int(addr.Port()), Addr: a.As16(), ZoneId: zone}
}
