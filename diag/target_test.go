package diag

import (
	"net/netip"
	"strings"
	"testing"
)

func TestParseTarget(t *testing.T) {
	t.Parallel()
	addr := netip.MustParseAddr
	tests := []struct {
		in   string
		want target
	}{
		{"127.0.0.1", target{addr: addr("127.0.0.1")}},
		{"127.0.0.1:62893", target{addr: addr("127.0.0.1"), hasPort: true, port: 62893}},
		{" 127.0.0.1:80 ", target{addr: addr("127.0.0.1"), hasPort: true, port: 80}},
		{"::1", target{addr: addr("::1")}},
		{"[::1]", target{addr: addr("::1")}},
		{"[::1]:7007", target{addr: addr("::1"), hasPort: true, port: 7007}},
		{"::1:80", target{addr: addr("::1:80")}}, // an address, not a port
		{"[::ffff:127.0.0.1]:0", target{addr: addr("::ffff:127.0.0.1"), hasPort: true}},
		{"fe80::1%eth0", target{addr: addr("fe80::1%eth0")}},
		{"[fe80::1%eth0]:22", target{addr: addr("fe80::1%eth0"), hasPort: true, port: 22}},
		{"0.0.0.0:65535", target{addr: addr("0.0.0.0"), hasPort: true, port: 65535}},
		{"8080", target{hasPort: true, port: 8080}},
		{":8080", target{hasPort: true, port: 8080}},
		{"0", target{hasPort: true}},
		{"localhost", target{host: "localhost"}},
		{"localhost.", target{host: "localhost."}},
		{"localhost:7007", target{host: "localhost", hasPort: true, port: 7007}},
		{"example.test:http", target{host: "example.test", hasPort: true, portName: "http"}},
		{"[::1]:http", target{addr: addr("::1"), hasPort: true, portName: "http"}},
		{"127.0.0.1:http-alt", target{addr: addr("127.0.0.1"), hasPort: true, portName: "http-alt"}},
		{"_srv.my-host.example", target{host: "_srv.my-host.example"}},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			t.Parallel()
			got, err := parseTarget(tt.in)
			if err != nil {
				t.Fatalf("parseTarget(%q): %v", tt.in, err)
			}
			if got != tt.want {
				t.Errorf("parseTarget(%q) = %+v, want %+v", tt.in, got, tt.want)
			}
			again, err := parseTarget(got.String())
			if err != nil || again != got {
				t.Errorf("parseTarget(%q) = %+v, %v; want %+v", got.String(), again, err, got)
			}
		})
	}
}

func TestParseTargetErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in, want string
	}{
		{"", "nothing to explain"},
		{"   ", "nothing to explain"},
		{"65536", "out of range"},
		{"127.0.0.1:65536", "out of range"},
		{"localhost:99999999999999999999", "out of range"},
		{"localhost:", "missing port"},
		{"localhost:ht tp", "not a port number or service name"},
		{"localhost:-1", "not a port number or service name"},
		{"exa mple", "not an address, port or host name"},
		{"a..b", "not an address, port or host name"},
		{"1.2.3.4:5:6", "not an address, port or host name"},
		{"[::1", "not an address, port or host name"},
		{"[fe80::1%eth 0]:80", "not an interface name"},
		{"fe80::1%\x01", "not an interface name"},
		{"http://localhost:8080", "is a URL"},
		{"-" + strings.Repeat("a", 600), "too long"},
		{strings.Repeat("a", 64) + ".com", "not an address, port or host name"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			t.Parallel()
			got, err := parseTarget(tt.in)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("parseTarget(%q) = %+v, %v; want error containing %q", tt.in, got, err, tt.want)
			}
		})
	}
}
