package diag

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"slices"
	"testing"
)

// procNetLine writes s the way the kernel does (net/ipv4/tcp_ipv4.c
// get_tcp4_sock, net/ipv6/tcp_ipv6.c get_tcp6_sock): each 32-bit word of
// the address as a host-order %08X, the port as %04X.
func procNetLine(s Socket, order binary.ByteOrder) string {
	return fmt.Sprintf("%4d: %s %s %02X 00000000:00000000 00:00000000 00000000 %5d        0 %d 1 0000000000000000 100 0 0 10 0\n",
		0, hexAddrPort(s.Local, order), hexAddrPort(s.Remote, order), s.state, s.UID, s.Inode)
}

func hexAddrPort(ap netip.AddrPort, order binary.ByteOrder) string {
	b := ap.Addr().AsSlice()
	out := ""
	for i := 0; i < len(b); i += 4 {
		out += fmt.Sprintf("%08X", order.Uint32(b[i:]))
	}
	return fmt.Sprintf("%s:%04X", out, ap.Port())
}

func TestProcNetLine(t *testing.T) {
	t.Parallel()
	ap := netip.MustParseAddrPort
	tests := []struct {
		name, proto, le, be string
		local, remote       netip.AddrPort
		state               string
	}{
		{"ipv4 listener", "tcp", "0100007F:1B5F 00000000:0000 0A", "7F000001:1B5F 00000000:0000 0A",
			ap("127.0.0.1:7007"), ap("0.0.0.0:0"), "listening"},
		{"ipv4 private", "tcp", "0A01A8C0:20FB 0101A8C0:C350 01", "C0A8010A:20FB C0A80101:C350 01",
			ap("192.168.1.10:8443"), ap("192.168.1.1:50000"), "established"},
		{"ipv6 loopback", "tcp6",
			"00000000000000000000000001000000:1B5F 00000000000000000000000000000000:0000 0A",
			"00000000000000000000000000000001:1B5F 00000000000000000000000000000000:0000 0A",
			ap("[::1]:7007"), ap("[::]:0"), "listening"},
		{"ipv4-mapped", "tcp6",
			"0000000000000000FFFF00000100007F:0050 0000000000000000FFFF00000100007F:C350 06",
			"00000000000000000000FFFF7F000001:0050 00000000000000000000FFFF7F000001:C350 06",
			ap("[::ffff:127.0.0.1]:80"), ap("[::ffff:127.0.0.1]:50000"), "time-wait"},
		{"udp bound", "udp", "00000000:0044 00000000:0000 07", "00000000:0044 00000000:0000 07",
			ap("0.0.0.0:68"), ap("0.0.0.0:0"), "bound"},
		{"udp connected", "udp6",
			"B80D0120000000000000000001000000:0035 B80D0120000000000000000002000000:A000 01",
			"20010DB8000000000000000000000001:0035 20010DB8000000000000000000000002:A000 01",
			ap("[2001:db8::1]:53"), ap("[2001:db8::2]:40960"), "connected"},
	}
	for _, tt := range tests {
		for _, o := range []struct {
			order binary.ByteOrder
			cols  string
		}{{binary.LittleEndian, tt.le}, {binary.BigEndian, tt.be}} {
			t.Run(tt.name+"/"+o.order.String(), func(t *testing.T) {
				t.Parallel()
				line := "   3: " + o.cols + " 00000000:00000000 00:00000000 00000000  1000        0 4242 1 0000000000000000 100 0 0 10 0\n"
				got, ok := parseProcNetLine([]byte(line), tt.proto, o.order)
				if !ok {
					t.Fatalf("parseProcNetLine(%q) failed", line)
				}
				want := Socket{Proto: tt.proto, Local: tt.local, Remote: tt.remote, State: tt.state,
					UID: 1000, Inode: 4242, state: got.state}
				if got.Local != want.Local || got.Remote != want.Remote || got.State != want.State ||
					got.UID != want.UID || got.Inode != want.Inode || got.Proto != want.Proto {
					t.Errorf("got %+v, want %+v", got, want)
				}
			})
		}
	}
}

func TestProcNetRowsSkipsOddLines(t *testing.T) {
	t.Parallel()
	good := "   0: 0100007F:1B5F 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1001 1 0 100 0 0 10 0\n"
	for _, bad := range []string{
		"  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n",
		"",
		"\n",
		"   1: garbage\n",
		"   1: 0100007F:1B5F 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0\n",     // truncated
		"   1: 0100007F 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1 1\n",      // no port
		"   1: 0100007G:1B5F 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1 1\n", // not hex
		"   1: 100007F:1B5F 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1 1\n",  // 7 digits
		"   1: 0100007F:1B5F 00000000000000000000000000000000:0000 0A 0:0 0:0 0 0 0 1 1\n",                 // mixed families
		"   1: 0100007F:1B5F 00000000:0000 0A 00000000:00000000 00:00000000 00000000    -1        0 1 1\n", // negative uid
		"   1: 0100007F:1B5F 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 99999999999999999999 1\n",
		"   1: 0100007F:11B5F 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1 1\n", // 5-digit port
		"   1: 0100007F:1B5F 00000000:0000 A 00000000:00000000 00:00000000 00000000     0        0 1 1\n",   // 1-digit state
	} {
		data := []byte(bad + good + bad)
		var got []string
		for s := range procNetRows(data, "tcp", binary.LittleEndian) {
			got = append(got, s.Local.String())
		}
		if want := []string{"127.0.0.1:7007"}; !slices.Equal(got, want) {
			t.Errorf("procNetRows(%q around a good line) = %q, want %q", bad, got, want)
		}
	}
}

func TestStateName(t *testing.T) {
	t.Parallel()
	tests := []struct {
		proto string
		st    uint8
		want  string
	}{
		{"tcp", 0x0A, "listening"},
		{"tcp6", 0x01, "established"},
		{"tcp", 0x07, "closed"},
		{"tcp", 0x0C, "new-syn-recv"},
		{"udp", 0x07, "bound"},
		{"udp6", 0x01, "connected"},
		{"udp", 0x0A, "listening"},
		{"tcp", 0x00, "state-00"},
		{"tcp", 0xFF, "state-FF"},
	}
	for _, tt := range tests {
		if got := stateName(tt.proto, tt.st); got != tt.want {
			t.Errorf("stateName(%q, %#x) = %q, want %q", tt.proto, tt.st, got, tt.want)
		}
	}
}
