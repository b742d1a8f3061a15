package diag

import (
	"context"
	"encoding/binary"
	"io"
	"net"
	"net/netip"
	"os"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestNetlinkMatchesProcNet holds the netlink reader to /proc/net, the
// kernel's other account of the same tables: for sockets this test opens
// (listeners of both protocols and families, a connection, and a TIME_WAIT
// of each side), both must find the same rows with the same sides, for
// each kind of query.
func TestNetlinkMatchesProcNet(t *testing.T) {
	t.Parallel()
	listeners := listenSelf(t)
	var tcp4 bound
	for _, b := range listeners {
		if b.proto == "tcp" {
			tcp4 = b
		}
	}
	// Ours are the listeners this test bound, and the connections it made,
	// by both ends: other processes' sockets come and go, and may reuse an
	// ephemeral port of ours towards another address, or leave a TIME_WAIT
	// from an earlier run that expires between the two reads.
	c := connectAndClose(t, tcp4.addr)
	ends := map[string]bool{"tcp " + c.listener.String(): true}
	for _, b := range listeners {
		ends[transport(b.proto)+" "+b.addr.String()] = true
	}
	for _, e := range c.ends {
		ends["tcp "+e[0].String()+" "+e[1].String()] = true
	}
	ours := func(s Socket) bool {
		if s.Listening() {
			return ends[transport(s.Proto)+" "+s.Local.String()]
		}
		return ends[transport(s.Proto)+" "+s.Local.String()+" "+s.Remote.String()]
	}
	proc := System{Root: os.DirFS("/")}
	for _, q := range []query{
		{port: tcp4.addr.Port(), keep: func(s Socket) bool {
			return s.Local.Port() == tcp4.addr.Port() || s.Remote.Port() == tcp4.addr.Port()
		}},
		{keep: func(s Socket) bool { return s.Listening() }},
		{timeWait: true, keep: func(s Socket) bool { return s.Listening() || s.TimeWait() }},
	} {
		viaNetlink, nlListeners, err := netlinkTables(q)
		if err != nil {
			t.Fatalf("netlink: %v", err) // every kernel since 4.16 answers
		}
		viaProc, procListeners, err := procTables(proc, q)
		if err != nil {
			t.Fatal(err)
		}
		markSides(viaNetlink, nlListeners, q.port)
		markSides(viaProc, procListeners, q.port)
		got, want := oursSorted(viaNetlink, ours), oursSorted(viaProc, ours)
		if !slices.Equal(got, want) || len(got) == 0 {
			t.Errorf("query %+v: netlink found\n%s\n/proc/net found\n%s", q, strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
	}
}

func oursSorted(socks []Socket, ours func(Socket) bool) []string {
	var out []string
	for _, s := range socks {
		if ours(s) {
			out = append(out, row(s)+" inode="+strconv.FormatUint(s.Inode, 10))
		}
	}
	slices.Sort(out)
	return out
}

// opened is what connectAndClose made: a listener, and each connection's
// ends as {local, remote}, both ends of each connection.
type opened struct {
	listener netip.AddrPort
	ends     [][2]netip.AddrPort
}

// connectAndClose opens a connection to addr that stays open, and two to
// a listener of its own that close, one from each end, so that both sides
// leave a TIME_WAIT. A read that sees the last FIN returns once the kernel
// has moved the first closer to TIME_WAIT: no sleep.
func connectAndClose(t *testing.T, addr netip.AddrPort) opened {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	var lc net.ListenConfig
	l, err := lc.Listen(ctx, "tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	ln := l.(*net.TCPListener)
	deadline, _ := ctx.Deadline()
	ln.SetDeadline(deadline)
	d := net.Dialer{Deadline: deadline}
	open, err := d.DialContext(ctx, "tcp4", addr.String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { open.Close() })
	open.SetDeadline(deadline)
	o := opened{listener: netip.MustParseAddrPort(ln.Addr().String())}
	o.ends = append(o.ends, [2]netip.AddrPort{local(open), addr}, [2]netip.AddrPort{addr, local(open)})
	for _, clientFirst := range []bool{true, false} {
		c, err := d.DialContext(ctx, "tcp4", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		s, err := ln.AcceptTCP()
		if err != nil {
			t.Fatal(err)
		}
		o.ends = append(o.ends, [2]netip.AddrPort{local(c), o.listener}, [2]netip.AddrPort{o.listener, local(c)})
		first, last := c.(*net.TCPConn), s
		if !clientFirst {
			first, last = s, c.(*net.TCPConn)
		}
		for _, conn := range []net.Conn{first, last} {
			conn.SetDeadline(deadline)
		}
		first.CloseWrite()
		io.ReadAll(last)
		last.Close()
		if _, err := io.ReadAll(first); err != nil {
			t.Fatal(err)
		}
		first.Close()
	}
	return o
}

func local(c interface{ LocalAddr() net.Addr }) netip.AddrPort {
	return netip.MustParseAddrPort(c.LocalAddr().String())
}

// FuzzDiagAnswer feeds arbitrary datagrams to the netlink answer parser:
// it must never panic, and every socket it yields has valid addresses.
func FuzzDiagAnswer(f *testing.F) {
	msg := make([]byte, nlmsgHdrLen+inetDiagMsgLen)
	binary.NativeEndian.PutUint32(msg, uint32(len(msg)))
	binary.NativeEndian.PutUint16(msg[4:], sockDiagByFamily)
	msg[nlmsgHdrLen], msg[nlmsgHdrLen+1] = syscall.AF_INET, stateListen
	f.Add(msg)
	f.Add(append(slices.Clone(msg), 20, 0, 0, 0, 3, 0, 0, 0))
	f.Add([]byte{16, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xf2, 0xff, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, b []byte) {
		parseDiagAnswer(b, "tcp", func(s Socket) {
			if !s.Local.IsValid() || !s.Remote.IsValid() || s.State == "" {
				t.Fatalf("parseDiagAnswer yielded %+v", s)
			}
		})
	})
}
