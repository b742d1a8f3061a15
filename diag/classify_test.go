package diag

import (
	"net/netip"
	"strings"
	"testing"
)

func TestClassifyAddr(t *testing.T) {
	t.Parallel()
	tests := []struct {
		addr, class, mentions string
	}{
		{"127.0.0.1", ClassLoopback, "on Linux the whole /8 answers, on macOS only 127.0.0.1"},
		{"127.0.0.2", ClassLoopback, "sudo ifconfig lo0 alias 127.0.0.2"},
		{"127.255.255.254", ClassLoopback, "127.0.0.0/8"},
		{"::1", ClassLoopback, "single address"},
		{"0.0.0.0", ClassUnspecified, "every IPv4 interface"},
		{"::", ClassUnspecified, "IPv4 too unless IPV6_V6ONLY"},
		{"10.1.2.3", ClassPrivate, "10.0.0.0/8, RFC 1918"},
		{"172.31.0.1", ClassPrivate, "172.16.0.0/12"},
		{"192.168.1.10", ClassPrivate, "192.168.0.0/16"},
		{"fd00::1", ClassPrivate, "fc00::/7"},
		{"100.100.100.100", ClassShared, "Tailscale"},
		{"169.254.169.254", ClassLinkLocal, "metadata"},
		{"fe80::1", ClassLinkLocal, "needs a zone"},
		{"fe80::1%eth0", ClassLinkLocal, "the zone %eth0"},
		{"224.0.0.251", ClassMulticast, "224.0.0.0/4): one datagram reaches every member of a group, limited to the local link"},
		{"239.1.2.3", ClassMulticast, "never a TCP listener"},
		{"ff02::fb", ClassMulticast, "ff00::/8"},
		{"255.255.255.255", ClassBroadcast, "limited broadcast"},
		{"192.0.2.7", ClassDocumentation, "192.0.2.0/24"},
		{"2001:db8::1", ClassDocumentation, "2001:db8::/32"},
		{"0.1.2.3", ClassReserved, "this network"},
		{"240.0.0.1", ClassReserved, "240.0.0.0/4"},
		{"::2", ClassReserved, "::/8"},
		{"8.8.8.8", ClassPublic, "leaves this machine"},
		{"2606:4700::1111", ClassPublic, "leaves this machine"},
	}
	for _, tt := range tests {
		t.Run(tt.addr, func(t *testing.T) {
			t.Parallel()
			got := classifyAddr(netip.MustParseAddr(tt.addr))
			if got.Class != tt.class || !strings.Contains(got.Summary, tt.mentions) {
				t.Errorf("classifyAddr(%s) = %q, %q; want %q mentioning %q",
					tt.addr, got.Class, got.Summary, tt.class, tt.mentions)
			}
			if !strings.HasPrefix(got.Summary, tt.addr+" is ") {
				t.Errorf("summary %q does not start with the address", got.Summary)
			}
		})
	}
}

func TestClassifyAddrMapped(t *testing.T) {
	t.Parallel()
	got := classifyAddr(netip.MustParseAddr("::ffff:127.0.0.1"))
	if got.Class != ClassIPv4Mapped || got.IPv4 == nil || got.IPv4.Class != ClassLoopback {
		t.Fatalf("classifyAddr(::ffff:127.0.0.1) = %+v, want ipv4-mapped around loopback", got)
	}
	if want := "IPv4 address 127.0.0.1"; !strings.Contains(got.Summary, want) {
		t.Errorf("summary %q does not mention %q", got.Summary, want)
	}
}

func TestClassifyPort(t *testing.T) {
	t.Parallel()
	start := func(n int) *int { return &n }
	linux := portFacts{unprivStart: start(1024), ephemeral: &PortRange{32768, 60999}}
	docker := portFacts{unprivStart: start(0), ephemeral: &PortRange{32768, 60999}}
	tests := []struct {
		name       string
		port       uint16
		facts      portFacts
		rng        string
		privileged bool
		ephemeral  bool
		summary    string
		ephText    string
	}{
		{"zero", 0, linux, RangeAny, false, false, "asks the kernel to pick", "picks from this machine's ephemeral range (32768-60999)"},
		{"ssh", 22, linux, RangeWellKnown, true, false, "needs root or CAP_NET_BIND_SERVICE here (net.ipv4.ip_unprivileged_port_start=1024)", "without racing"},
		{"1023", 1023, linux, RangeWellKnown, true, false, "IANA system ports 0-1023", "outside"},
		{"1024", 1024, linux, RangeRegistered, false, false, "any user may bind it", "outside"},
		{"docker 80", 80, docker, RangeWellKnown, false, false, "yet any user may bind it here (net.ipv4.ip_unprivileged_port_start=0)", "outside"},
		{"client side", 41234, linux, RangeRegistered, false, true, "IANA user ports 1024-49151", "client side"},
		{"first ephemeral", 32768, linux, RangeRegistered, false, true, "registered", "inside"},
		{"last ephemeral", 60999, linux, RangeDynamic, false, true, "dynamic", "inside"},
		{"macos client", 62893, linux, RangeDynamic, false, false, "IANA's dynamic range (49152-65535)", "macOS and Windows"},
		{"max", 65535, linux, RangeDynamic, false, false, "dynamic", "outside"},
		{"unknown machine low", 80, portFacts{}, RangeWellKnown, true, false, "usually needs root", "unknown"},
		{"unknown machine high", 8080, portFacts{}, RangeRegistered, false, false, "any user may bind it", "unknown"},
		{"high start", 2000, portFacts{unprivStart: start(4096)}, RangeRegistered, true, false, "ip_unprivileged_port_start=4096", "unknown"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := classifyPort(tt.port, tt.facts)
			if got.Range != tt.rng || got.Privileged != tt.privileged || got.InEphemeralRange != tt.ephemeral {
				t.Errorf("classifyPort(%d) = range %q privileged %v ephemeral %v; want %q %v %v",
					tt.port, got.Range, got.Privileged, got.InEphemeralRange, tt.rng, tt.privileged, tt.ephemeral)
			}
			if !strings.Contains(got.Summary, tt.summary) {
				t.Errorf("summary %q does not mention %q", got.Summary, tt.summary)
			}
			if !strings.Contains(got.EphemeralNote, tt.ephText) {
				t.Errorf("ephemeral %q does not mention %q", got.EphemeralNote, tt.ephText)
			}
		})
	}
}

func TestCovers(t *testing.T) {
	t.Parallel()
	tests := []struct {
		listen, dst string
		want        bool
	}{
		{"127.0.0.1", "127.0.0.1", true},
		{"127.0.0.1", "127.0.0.2", false},
		{"127.0.0.1", "::1", false},
		{"0.0.0.0", "127.0.0.2", true},
		{"0.0.0.0", "::1", false},
		{"::", "::1", true},
		{"::", "127.0.0.1", true}, // dual-stack
		{"::1", "127.0.0.1", false},
		{"::ffff:127.0.0.1", "127.0.0.1", true},
		{"fe80::1", "fe80::1%eth0", true},
	}
	for _, tt := range tests {
		got := covers(netip.MustParseAddr(tt.listen), netip.MustParseAddr(tt.dst))
		if got != tt.want {
			t.Errorf("covers(%s, %s) = %v, want %v", tt.listen, tt.dst, got, tt.want)
		}
	}
}
