// Package diag explains what an address and port mean on this machine and
// finds which process holds a port.
//
// Everything reads the machine through a System, so tests can point it at a
// recorded tree under testdata/ instead of the live /proc and /etc. On Linux
// the socket tables come from /proc/net/{tcp,tcp6,udp,udp6} and owners from
// the socket inodes under /proc/PID/fd, the way ss and lsof find them; other
// systems get errors.ErrUnsupported with the native command to run instead.
package diag

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"io/fs"
	"net"
	"net/netip"
	"os"
	"strconv"
)

// System is where diag reads this machine's state from. The zero value reads
// the running machine: "/" for files, the kernel's byte order, and the
// default DNS resolver.
type System struct {
	// Root holds proc/ and etc/ (paths inside it have no leading slash).
	// nil means os.DirFS("/"). One root rather than a path per file lets a
	// test swap the whole machine for a tree in testdata/, or wrap it to
	// return errors that a root-owned test can't produce on disk.
	Root fs.FS

	// ByteOrder is the order in which the kernel wrote addresses in
	// /proc/net: it prints each 32-bit word of the network-order address as
	// a host-order integer. nil means binary.NativeEndian; set it only to
	// read a tree recorded on a machine of the other endianness.
	ByteOrder binary.ByteOrder

	// LookupIP resolves a host name for Explain. nil means
	// net.DefaultResolver; tests set it so they never touch DNS.
	LookupIP func(ctx context.Context, host string) ([]netip.Addr, error)

	// asUID is the uid diag runs as, which decides how to explain a
	// process it may not see; nil means os.Geteuid(). Tests set it to play
	// another user against a recorded tree.
	asUID *uint32
}

func (s System) root() fs.FS {
	if s.Root == nil {
		return os.DirFS("/")
	}
	return s.Root
}

func (s System) byteOrder() binary.ByteOrder {
	if s.ByteOrder == nil {
		return binary.NativeEndian
	}
	return s.ByteOrder
}

func (s System) uid() uint32 {
	if s.asUID == nil {
		return uint32(os.Geteuid())
	}
	return *s.asUID
}

func (s System) lookupIP(ctx context.Context, host string) ([]netip.Addr, error) {
	if s.LookupIP != nil {
		return s.LookupIP(ctx, host)
	}
	addrs, err := net.DefaultResolver.LookupNetIP(ctx, "ip", host)
	// The resolver can hand back IPv4 answers as IPv4-mapped IPv6; the user
	// asked about a name, not a dual-stack socket, so show them as IPv4.
	for i, a := range addrs {
		addrs[i] = a.Unmap()
	}
	return addrs, err
}

// Paths inside System.Root. They are also the names shown to users, with a
// leading slash, so messages point at the real file to look at.
const (
	pathPortRange   = "proc/sys/net/ipv4/ip_local_port_range"
	pathUnprivStart = "proc/sys/net/ipv4/ip_unprivileged_port_start"
	pathServices    = "etc/services"
	pathPasswd      = "etc/passwd"
)

// PortRange is an inclusive range of ports.
type PortRange struct {
	First uint16 `json:"first"`
	Last  uint16 `json:"last"`
}

// Contains reports whether p lies in r.
func (r PortRange) Contains(p uint16) bool { return r.First <= p && p <= r.Last }

// String formats r the way the kernel and IANA write ranges, "32768-60999".
func (r PortRange) String() string { return fmt.Sprintf("%d-%d", r.First, r.Last) }

// ephemeralRange reads the range the kernel picks local ports from for
// connect and bind(0). ok is false when the file is missing (not Linux) or
// odd, so callers can say "unknown" instead of guessing.
func ephemeralRange(sys System) (r PortRange, ok bool) {
	data, err := fs.ReadFile(sys.root(), pathPortRange)
	if err != nil {
		return r, false
	}
	f := bytes.Fields(data)
	if len(f) != 2 {
		return r, false
	}
	first, err1 := strconv.ParseUint(string(f[0]), 10, 16)
	last, err2 := strconv.ParseUint(string(f[1]), 10, 16)
	if err1 != nil || err2 != nil || first > last {
		return r, false
	}
	return PortRange{First: uint16(first), Last: uint16(last)}, true
}

// unprivilegedStart reads the lowest port an unprivileged process may bind.
// Linux has made it a sysctl since 4.11; containers often set it to 0.
func unprivilegedStart(sys System) (start int, ok bool) {
	data, err := fs.ReadFile(sys.root(), pathUnprivStart)
	if err != nil {
		return 1024, false
	}
	n, err := strconv.Atoi(string(bytes.TrimSpace(data)))
	if err != nil || n < 0 || n > 65536 {
		return 1024, false
	}
	return n, true
}
