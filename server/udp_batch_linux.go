package server

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"time"
	"unsafe"

	"github.com/rs/zerolog"

	"github.com/loopback-dev/loopback/internal/logfield"
	"golang.org/x/sys/unix"
)

// On Linux the UDP echo moves datagrams in batches: one recvmmsg(2) takes
// every datagram queued, up to udpBatch, and one sendmmsg(2) answers them
// all, where a recvfrom/sendto loop spends two system calls per datagram.
// golang.org/x/net/ipv4 offers the same calls, but hands each datagram's
// source back as a new net.Addr; these headers are set up once and reused,
// so an echo allocates nothing. The socket has an epoll set and a
// goroutine of its own, like a TCP loop.
const udpBatch = 64

// mmsghdr is struct mmsghdr of <sys/socket.h>: a message header and the
// length the kernel received or sent.
type mmsghdr struct {
	hdr unix.Msghdr
	n   uint32
}

// udpBatchBufs is the memory of one batch. A slot's buffer holds the
// largest datagram; only the pages a datagram touches become resident, so
// 64 slots of small datagrams cost 256 KiB, not 4 MiB.
type udpBatchBufs struct {
	recv    [udpBatch]mmsghdr
	recvIov [udpBatch]unix.Iovec
	send    [udpBatch]mmsghdr
	sendIov [udpBatch]unix.Iovec
	names   [udpBatch]unix.RawSockaddrInet6
	data    []byte     // udpBatch slots of udpBufSize
	faults  *udpFaults // nil for a clean echo
}

// sendDue sends the held answers whose time has come, and sets the timer
// for the next.
func (s *UDP) sendDue(fd int, u *udpFaults, p *poller, log *zerolog.Logger) error {
	s.sendEach(fd, u.due(p.now), log)
	if at, ok := u.next(); ok {
		return p.wakeAt(at)
	}
	return nil
}

// sendEach sends answers the faults let go, one sendto each.
func (s *UDP) sendEach(fd int, out []outDatagram, log *zerolog.Logger) {
	for _, d := range out {
		if err := unix.Sendto(fd, d.data, unix.MSG_NOSIGNAL, sockaddr(d.to)); err != nil {
			s.dropped.Add(1)
			withPeer(log.Debug().Err(err), d.to).Msg("echo failed")
			continue
		}
		s.datagrams.Add(1)
		s.bytes.Add(uint64(len(d.data)))
	}
}

// sockaddr is a in the form sendto takes.
func sockaddr(a netip.AddrPort) unix.Sockaddr {
	if a.Addr().Is4() {
		return &unix.SockaddrInet4{Addr: a.Addr().As4(), Port: int(a.Port())}
	}
	return &unix.SockaddrInet6{Addr: a.Addr().As16(), Port: int(a.Port())}
}

func newUDPBatch() *udpBatchBufs {
	b := &udpBatchBufs{data: make([]byte, udpBatch*udpBufSize)}
	for i := range b.recv {
		b.recvIov[i].Base = &b.data[i*udpBufSize]
		b.recvIov[i].SetLen(udpBufSize)
		h := &b.recv[i].hdr
		h.Name = (*byte)(unsafe.Pointer(&b.names[i]))
		h.Iov = &b.recvIov[i]
		h.SetIovlen(1)
	}
	b.resetRecv(udpBatch)
	return b
}

// resetRecv readies the first n headers, which the last recvmmsg filled,
// for the next one.
func (b *udpBatchBufs) resetRecv(n int) {
	for i := range n {
		b.recv[i].hdr.Namelen = unix.SizeofSockaddrInet6
		b.recv[i].hdr.Flags = 0
		b.recv[i].n = 0
	}
}

// recvmmsg reads what is queued on the non-blocking socket fd, up to
// udpBatch datagrams. Like the TCP loops' recv and send, it returns at
// once, so it skips the runtime's bookkeeping for calls that may block.
func (b *udpBatchBufs) recvmmsg(fd int) (int, error) {
	r, _, e := unix.RawSyscall6(unix.SYS_RECVMMSG, uintptr(fd), uintptr(unsafe.Pointer(&b.recv[0])), udpBatch, 0, 0, 0)
	if e != 0 {
		return 0, e
	}
	return int(r), nil
}

// sendmmsg sends send[from:to] and returns how many went.
func (b *udpBatchBufs) sendmmsg(fd, from, to int) (int, error) {
	r, _, e := unix.RawSyscall6(unix.SYS_SENDMMSG, uintptr(fd), uintptr(unsafe.Pointer(&b.send[from])), uintptr(to-from), 0, 0, 0)
	if e != 0 {
		return 0, e
	}
	return int(r), nil
}

// peer is the address in h: the source of a received datagram, or where
// its reply goes.
func (b *udpBatchBufs) peer(h *unix.Msghdr) netip.AddrPort {
	switch sa := (*unix.RawSockaddrInet6)(unsafe.Pointer(h.Name)); sa.Family {
	case unix.AF_INET:
		sa4 := (*unix.RawSockaddrInet4)(unsafe.Pointer(sa))
		return netip.AddrPortFrom(netip.AddrFrom4(sa4.Addr), ntohs(sa4.Port))
	case unix.AF_INET6:
		return netip.AddrPortFrom(netip.AddrFrom16(sa.Addr), ntohs(sa.Port))
	}
	return netip.AddrPort{}
}

// ntohs reads a port as the kernel stores it: in network byte order.
func ntohs(p uint16) uint16 {
	b := (*[2]byte)(unsafe.Pointer(&p))
	return uint16(b[0])<<8 | uint16(b[1])
}

// serveBatch is Serve in recvmmsg/sendmmsg batches.
func (s *UDP) serveBatch(ctx context.Context, pc *net.UDPConn) error {
	log := logfield.AddrCtx(s.Log.With().Str("component", "udp"), "addr", pc.LocalAddr()).Logger()
	fd, err := detach(pc)
	if err != nil {
		pc.Close()
		return fmt.Errorf("udp: %w", err)
	}
	defer unix.Close(fd)
	p, err := newPoller()
	if err != nil {
		return fmt.Errorf("udp: %w", err)
	}
	defer p.release()
	if err := p.watch(fd, unix.EPOLL_CTL_ADD, unix.EPOLLIN); err != nil {
		return fmt.Errorf("udp: %w", err)
	}
	stop := context.AfterFunc(ctx, p.post)
	defer stop()
	others := watchInstances(ctx, s.Instances)
	defer others.wait()
	g := newGuard(s, pc.LocalAddr().(*net.UDPAddr).AddrPort(), others)
	b := newUDPBatch()
	b.faults = newUDPFaults(s.Faults, &s.faults)
	for {
		events, err := p.wait(-1)
		if err != nil {
			return fmt.Errorf("udp: %w", err)
		}
		for _, ev := range events {
			switch int(ev.Fd) {
			case p.wake:
				return nil
			case p.timer:
				p.isTimer(p.timer) // held answers are due; sent below
			default:
				s.echoQueued(fd, b, g, p.now, log)
			}
		}
		if b.faults != nil {
			if err := s.sendDue(fd, b.faults, p, &log); err != nil {
				return fmt.Errorf("udp: %w", err)
			}
		}
	}
}

// echoQueued answers what is queued on fd, a batch at a time, until the
// queue is empty or a few batches have gone, so that a flood cannot keep
// the loop from seeing a stop.
func (s *UDP) echoQueued(fd int, b *udpBatchBufs, g *guard, now time.Duration, log zerolog.Logger) {
	for range 16 {
		n, err := b.recvmmsg(fd)
		switch {
		case err == unix.EAGAIN || err == unix.EINTR:
			return
		case err != nil:
			// An ICMP error queued by an earlier send, or a transient
			// shortage: the socket itself is still good.
			log.Debug().Err(err).Msg("read failed")
			continue
		}
		s.send(fd, b, s.replies(fd, b, n, g, now, log), log)
		b.resetRecv(n)
		if n < udpBatch {
			return
		}
	}
}

// replies sets up a reply for each of the n datagrams received, in send,
// and returns how many there are: a datagram cut short by the buffer gets
// none, nor does one the guard refuses.
func (s *UDP) replies(fd int, b *udpBatchBufs, n int, g *guard, now time.Duration, log zerolog.Logger) int {
	m := 0
	for i := range n {
		r := &b.recv[i]
		src := b.peer(&r.hdr)
		if r.hdr.Flags&unix.MSG_TRUNC != 0 {
			s.tooLarge(src, &log)
			continue
		}
		data := b.data[i*udpBufSize : i*udpBufSize+int(r.n)]
		if s.Trace {
			traceIO(&log, s.Tracing, "udp", "datagram", src, data, len(data))
		}
		if v := g.check(src, data, now); v != answer {
			s.refuse(v, src, &log)
			continue
		}
		if b.faults != nil {
			// Faults take the slow road, a datagram at a time: the batch
			// is for a clean echo.
			s.sendEach(fd, b.faults.answer(src, data, now), &log)
			continue
		}
		b.sendIov[m] = unix.Iovec{Base: b.recvIov[i].Base}
		b.sendIov[m].SetLen(int(r.n))
		w := &b.send[m].hdr
		w.Name, w.Namelen = r.hdr.Name, r.hdr.Namelen
		w.Iov = &b.sendIov[m]
		w.SetIovlen(1)
		m++
	}
	return m
}

// send sends the replies set up in send[:todo]. A reply the kernel
// refuses, or cannot take now, is counted as dropped and the rest still go,
// as UDP allows.
func (s *UDP) send(fd int, b *udpBatchBufs, todo int, log zerolog.Logger) {
	for off := 0; off < todo; {
		n, err := b.sendmmsg(fd, off, todo)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			// sendmmsg reports an error only for the first datagram it
			// was given: drop that one and go on with the next.
			s.dropped.Add(1)
			if e := log.Debug(); e.Enabled() {
				withPeer(e.Err(err), b.peer(&b.send[off].hdr)).Msg("echo failed")
			}
			off++
			continue
		}
		for _, w := range b.send[off : off+n] {
			s.datagrams.Add(1)
			s.bytes.Add(uint64(w.n))
			// Checked first so that boxing the peer costs nothing per
			// datagram when debug logging is off.
			if e := log.Debug(); e.Enabled() {
				withPeer(e, b.peer(&w.hdr)).Uint32("bytes", w.n).Msg("datagram echoed")
			}
		}
		off += n
	}
}
