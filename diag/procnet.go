package diag

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"iter"
	"net/netip"
	"strconv"
)

// The parser below is pure and has no build tag so that it is tested and
// fuzzed on every system, not only where /proc exists.
//
// A line of /proc/net/tcp looks like
//
//	0: 0100007F:1B5F 00000000:0000 0A 00000000:00000000 00:00000000 00000000  1000  0 34567 1 ...
//
// sl, local, remote, state, tx:rx queues, timer, retransmits, uid, timeout,
// inode. udp has the same first ten columns. The kernel prints each 32-bit
// word of the network-order address with %08X, that is as a host-order
// integer, so 127.0.0.1 reads 0100007F on little-endian machines and
// 7F000001 on big-endian ones; ports are already converted with ntohs.

// Column indexes in a /proc/net/{tcp,udp}{,6} line.
const (
	colLocal  = 1
	colRemote = 2
	colState  = 3
	colUID    = 7
	colInode  = 9
)

// tcpStates names the kernel's TCP states (include/net/tcp_states.h).
var tcpStates = [...]string{
	1: "established", 2: "syn-sent", 3: "syn-recv", 4: "fin-wait-1",
	5: "fin-wait-2", 6: "time-wait", 7: "closed", 8: "close-wait",
	9: "last-ack", 10: "listening", 11: "closing", 12: "new-syn-recv",
}

// Kernel state numbers that diag asks for or reads; UDP reuses the first
// two.
const (
	stateEstablished = 1
	stateClose       = 7
	stateTimeWait    = 6
	stateListen      = 10
)

// stateName turns a kernel state number into the word shown to users. UDP
// reuses TCP's numbers: TCP_CLOSE is an unconnected socket, which for UDP
// means merely bound, and TCP_ESTABLISHED a connected one.
func stateName(proto string, st uint8) string {
	if proto == "udp" || proto == "udp6" {
		switch st {
		case stateClose:
			return "bound"
		case stateEstablished:
			return "connected"
		}
	}
	if int(st) < len(tcpStates) && tcpStates[st] != "" {
		return tcpStates[st]
	}
	return fmt.Sprintf("state-%02X", st)
}

// procNetRows yields the sockets of a whole /proc/net/{tcp,tcp6,udp,udp6}
// file. Lines it can't read are skipped rather than failing the whole
// table: a diagnostic that dies on one odd line helps nobody.
func procNetRows(data []byte, proto string, order binary.ByteOrder) iter.Seq[Socket] {
	return func(yield func(Socket) bool) {
		for line := range bytes.Lines(data) {
			s, ok := parseProcNetLine(line, proto, order)
			if ok && !yield(s) {
				return
			}
		}
	}
}

// parseProcNetLine parses one line; ok is false for the header and for
// anything malformed.
func parseProcNetLine(line []byte, proto string, order binary.ByteOrder) (s Socket, ok bool) {
	var fields [colInode + 1][]byte
	f := splitFields(line, fields[:0])
	// The header's first field is "sl"; data lines start with "N:".
	if len(f) <= colInode || !bytes.HasSuffix(f[0], []byte(":")) {
		return s, false
	}
	local, ok1 := parseHexAddrPort(f[colLocal], order)
	remote, ok2 := parseHexAddrPort(f[colRemote], order)
	st, ok3 := parseHex(f[colState], 2)
	uid, err1 := strconv.ParseUint(string(f[colUID]), 10, 32)
	inode, err2 := strconv.ParseUint(string(f[colInode]), 10, 64)
	if !ok1 || !ok2 || !ok3 || err1 != nil || err2 != nil {
		return s, false
	}
	// Both ends of one socket are of the same family; a mix means a
	// corrupt line, not a socket.
	if local.Addr().Is4() != remote.Addr().Is4() {
		return s, false
	}
	return Socket{
		Proto:  proto,
		Local:  local,
		Remote: remote,
		State:  stateName(proto, uint8(st)),
		UID:    uint32(uid),
		Inode:  inode,
		state:  uint8(st),
	}, true
}

// splitFields appends to f the space-separated fields of line, up to
// cap(f) of them, without allocating: bytes.Fields allocated a slice per
// line, tens of thousands per scan.
func splitFields(line []byte, f [][]byte) [][]byte {
	for len(f) < cap(f) {
		i := 0
		for i < len(line) && isSpace(line[i]) {
			i++
		}
		line = line[i:]
		if len(line) == 0 {
			break
		}
		j := 0
		for j < len(line) && !isSpace(line[j]) {
			j++
		}
		f, line = append(f, line[:j]), line[j:]
	}
	return f
}

func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'
}

// parseHexAddrPort parses "0100007F:1F90" (IPv4) or 32 hex digits and a
// port (IPv6).
func parseHexAddrPort(b []byte, order binary.ByteOrder) (netip.AddrPort, bool) {
	a, p, found := bytes.Cut(b, []byte(":"))
	if !found {
		return netip.AddrPort{}, false
	}
	port, ok := parseHex(p, 4)
	if !ok {
		return netip.AddrPort{}, false
	}
	var buf [16]byte
	switch len(a) {
	case 8, 32:
	default:
		return netip.AddrPort{}, false
	}
	for i := 0; i < len(a)/8; i++ {
		w, ok := parseHex(a[i*8:i*8+8], 8)
		if !ok {
			return netip.AddrPort{}, false
		}
		putWord(buf[i*4:i*4+4], uint32(w), order)
	}
	addr := netip.AddrFrom16(buf)
	if len(a) == 8 {
		addr = netip.AddrFrom4([4]byte(buf[:4]))
	}
	return netip.AddrPortFrom(addr, uint16(port)), true
}

// putWord stores w in b in order. The usual orders are written without
// calling through the interface, which would move buf to the heap: an
// allocation per address, two per line.
func putWord(b []byte, w uint32, order binary.ByteOrder) {
	switch {
	case order == binary.BigEndian || order == binary.NativeEndian && nativeBig:
		binary.BigEndian.PutUint32(b, w)
	case order == binary.LittleEndian || order == binary.NativeEndian:
		binary.LittleEndian.PutUint32(b, w)
	default:
		var word [4]byte // escapes, but only here
		order.PutUint32(word[:], w)
		copy(b, word[:])
	}
}

// nativeBig reports whether this machine is big-endian.
var nativeBig = binary.NativeEndian.Uint16([]byte{0, 1}) == 1

// parseHex parses exactly n hex digits without allocating, since a busy
// machine has tens of thousands of these per scan.
func parseHex(b []byte, n int) (uint64, bool) {
	if len(b) != n {
		return 0, false
	}
	var v uint64
	for _, c := range b {
		switch {
		case '0' <= c && c <= '9':
			c -= '0'
		case 'A' <= c && c <= 'F':
			c -= 'A' - 10
		case 'a' <= c && c <= 'f':
			c -= 'a' - 10
		default:
			return 0, false
		}
		v = v<<4 | uint64(c)
	}
	return v, true
}

// statusUIDs returns the real, effective, saved and file-system uids from
// /proc/PID/status ("Uid:\t1000\t1000\t1000\t1000").
func statusUIDs(status []byte) []uint32 {
	var uids []uint32
	for line := range bytes.Lines(status) {
		rest, ok := bytes.CutPrefix(line, []byte("Uid:"))
		if !ok {
			continue
		}
		for _, f := range bytes.Fields(rest) {
			if uid, err := strconv.ParseUint(string(f), 10, 32); err == nil {
				uids = append(uids, uint32(uid))
			}
		}
	}
	return uids
}
