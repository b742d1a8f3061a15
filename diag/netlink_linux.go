//go:build linux

package diag

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"syscall"
)

// The live machine's socket tables are read over netlink (sock_diag), as
// ss reads them, rather than from /proc/net. /proc/net/tcp prints every
// socket of the namespace as text, and the kernel hands it out a page per
// read(2): with 20,000 sockets that was 1,000 reads and 40 ms of kernel
// time before diag had parsed a line, while ss -l asks netlink for the
// listening sockets alone and the kernel never looks at the rest. Netlink
// also filters by port in the kernel, with the bytecode ss compiles for
// `sport = :P or dport = :P`, and sends fixed binary records.
//
// Sizes and numbers from include/uapi/linux/{netlink,sock_diag,inet_diag}.h.
const (
	nlmsgHdrLen         = 16 // struct nlmsghdr
	inetDiagReqLen      = 56 // struct inet_diag_req_v2
	inetDiagMsgLen      = 72 // struct inet_diag_msg
	sockDiagByFamily    = 20 // SOCK_DIAG_BY_FAMILY
	inetDiagReqBytecode = 1  // INET_DIAG_REQ_BYTECODE
	bcJmp               = 1  // INET_DIAG_BC_JMP
	bcSrcEq             = 11 // INET_DIAG_BC_S_EQ, Linux 4.16 and later
	bcDstEq             = 12 // INET_DIAG_BC_D_EQ
	allStates           = 0xffffffff
)

// diagRequest asks for one family and protocol's sockets in the states of
// the bit mask (1<<state), and, when port is not 0, only those whose local
// or remote port it is.
type diagRequest struct {
	family, proto uint8
	states        uint32
	port          uint16
}

// marshal encodes r as a dump request: a header, an inet_diag_req_v2 with
// a zero (wildcard) socket id, and the port filter as an attribute.
func (r diagRequest) marshal() []byte {
	bc := portBytecode(r.port)
	n := nlmsgHdrLen + inetDiagReqLen
	if bc != nil {
		n += 4 + len(bc)
	}
	b := make([]byte, n)
	ne := binary.NativeEndian
	ne.PutUint32(b[0:], uint32(n))
	ne.PutUint16(b[4:], sockDiagByFamily)
	ne.PutUint16(b[6:], syscall.NLM_F_REQUEST|syscall.NLM_F_DUMP)
	ne.PutUint32(b[8:], 1) // sequence number; the port id 0 lets the kernel pick
	b[16], b[17] = r.family, r.proto
	ne.PutUint32(b[20:], r.states)
	if bc != nil {
		a := b[nlmsgHdrLen+inetDiagReqLen:]
		ne.PutUint16(a[0:], uint16(4+len(bc)))
		ne.PutUint16(a[2:], inetDiagReqBytecode)
		copy(a[4:], bc)
	}
	return b
}

// portBytecode is the kernel filter "local port is port, or remote port
// is", nil for port 0. Each op is {code, yes, no}: when the test holds the
// program goes yes bytes on, otherwise no; it accepts a socket when it
// runs exactly off the end. A port test is followed by an op whose no
// holds the port. As ss compiles an "or", the first test's yes lands on a
// jump to the end and its no on the second test, whose no overshoots.
func portBytecode(port uint16) []byte {
	if port == 0 {
		return nil
	}
	op := func(b []byte, code, yes uint8, no uint16) {
		b[0], b[1] = code, yes
		binary.NativeEndian.PutUint16(b[2:], no)
	}
	b := make([]byte, 20)
	op(b[0:], bcSrcEq, 8, 12)
	op(b[4:], 0, 0, port)
	op(b[8:], bcJmp, 4, 12)
	op(b[12:], bcDstEq, 8, 12)
	op(b[16:], 0, 0, port)
	return b
}

// netlinkTables reads the sockets q asks for and every listener, the
// same as readTables gets from /proc/net. The TCP listeners come from
// their own request, which the kernel answers from its listening hash
// alone; UDP tables are small, so they come whole.
func netlinkTables(q query) ([]Socket, listenIndex, error) {
	fd, err := syscall.Socket(syscall.AF_NETLINK, syscall.SOCK_DGRAM|syscall.SOCK_CLOEXEC, syscall.NETLINK_INET_DIAG)
	if err != nil {
		return nil, nil, fmt.Errorf("netlink socket: %w", err)
	}
	defer syscall.Close(fd)
	d := dumper{fd: fd, buf: make([]byte, 64<<10)}
	var out []Socket
	listeners := make(listenIndex)
	for _, family := range []uint8{syscall.AF_INET, syscall.AF_INET6} {
		tcp, udp := diagRequest{family: family, proto: syscall.IPPROTO_TCP}, diagRequest{family: family, proto: syscall.IPPROTO_UDP, states: allStates}
		tcp.states = 1 << stateListen
		err := d.dump(tcp, func(s Socket) {
			listeners.add(s)
			if q.keep(s) {
				out = append(out, s)
			}
		})
		if err == nil && (q.port != 0 || q.timeWait) {
			tcp.states, tcp.port = allStates&^(1<<stateListen), q.port
			if q.port == 0 {
				tcp.states = 1 << stateTimeWait
			}
			err = d.dump(tcp, func(s Socket) {
				if q.keep(s) {
					out = append(out, s)
				}
			})
		}
		if err == nil {
			err = d.dump(udp, func(s Socket) {
				if s.Listening() {
					listeners.add(s)
				}
				if q.keep(s) {
					out = append(out, s)
				}
			})
		}
		if err != nil {
			return nil, nil, err
		}
	}
	return out, listeners, nil
}

// dumper sends dump requests on one netlink socket and reads the answers
// into one buffer.
type dumper struct {
	fd  int
	buf []byte
}

// dump sends r and calls found for each socket in the answer.
func (d *dumper) dump(r diagRequest, found func(Socket)) error {
	if err := syscall.Sendto(d.fd, r.marshal(), 0, &syscall.SockaddrNetlink{Family: syscall.AF_NETLINK}); err != nil {
		return fmt.Errorf("netlink sock_diag request: %w", err)
	}
	proto := "tcp"
	if r.proto == syscall.IPPROTO_UDP {
		proto = "udp"
	}
	if r.family == syscall.AF_INET6 {
		proto += "6"
	}
	for {
		n, _, err := syscall.Recvfrom(d.fd, d.buf, 0)
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			return fmt.Errorf("netlink sock_diag answer: %w", err)
		}
		done, err := parseDiagAnswer(d.buf[:n], proto, found)
		if done || err != nil {
			return err
		}
	}
}

// parseDiagAnswer walks the messages of one datagram. done is true at the
// end of the dump.
func parseDiagAnswer(b []byte, proto string, found func(Socket)) (done bool, err error) {
	ne := binary.NativeEndian
	for len(b) >= nlmsgHdrLen {
		n := int(ne.Uint32(b[0:]))
		if n < nlmsgHdrLen || n > len(b) {
			return true, errors.New("netlink sock_diag: truncated message")
		}
		msg := b[nlmsgHdrLen:n]
		switch ne.Uint16(b[4:]) {
		case syscall.NLMSG_DONE:
			return true, nil
		case syscall.NLMSG_ERROR:
			if len(msg) >= 4 {
				if errno := -int32(ne.Uint32(msg)); errno != 0 {
					return true, fmt.Errorf("netlink sock_diag: %w", syscall.Errno(errno))
				}
			}
			return true, nil
		case sockDiagByFamily:
			if s, ok := parseDiagMsg(msg, proto); ok {
				found(s)
			}
		}
		// Messages are padded to 4 bytes.
		b = b[min((n+3)&^3, len(b)):]
	}
	return false, nil
}

// parseDiagMsg turns an inet_diag_msg into a Socket: family, state, two
// bytes of timer and retransmits, then the socket id (ports and addresses
// in network order), expiry and queues, and the uid and inode.
func parseDiagMsg(m []byte, proto string) (Socket, bool) {
	if len(m) < inetDiagMsgLen {
		return Socket{}, false
	}
	be, ne := binary.BigEndian, binary.NativeEndian
	local, remote := netip.AddrFrom16([16]byte(m[8:24])), netip.AddrFrom16([16]byte(m[24:40]))
	if m[0] == syscall.AF_INET {
		local, remote = netip.AddrFrom4([4]byte(m[8:12])), netip.AddrFrom4([4]byte(m[24:28]))
	}
	st := m[1]
	return Socket{
		Proto:  proto,
		Local:  netip.AddrPortFrom(local, be.Uint16(m[4:])),
		Remote: netip.AddrPortFrom(remote, be.Uint16(m[6:])),
		State:  stateName(proto, st),
		UID:    ne.Uint32(m[64:]),
		Inode:  uint64(ne.Uint32(m[68:])),
		state:  st,
	}, true
}
