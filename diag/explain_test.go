package diag

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"net"
	"runtime"
	"strings"
	"testing"
)

// TestExplainGolden runs Explain against the fake machine and compares its
// text with testdata/explain/*.golden; -update rewrites them.
func TestExplainGolden(t *testing.T) {
	t.Parallel()
	if runtime.GOOS != "linux" {
		t.Skip("the fake machine's sockets are read with the Linux /proc reader")
	}
	inputs := []string{
		"127.0.0.1:62893", // the example from the issue
		"localhost:7007",  // a name, both families listening
		"localhost:8443",  // listening only on another address
		"127.0.0.2:7007",  // loopback, but nothing on that address
		":41234",          // a client port: no listener, one connection
		"22",              // well-known, on 0.0.0.0
		"[::ffff:127.0.0.1]:80",
		"0.0.0.0",
		"::",
		"fe80::1%eth0",
		"example.test:http", // documentation address, service name
		"224.0.0.251:5353",
		"localhost:0",
	}
	sys := fakeSystem("root-le", binary.LittleEndian, nil)
	var all bytes.Buffer
	for _, in := range inputs {
		e, err := Explain(t.Context(), in, sys)
		if err != nil {
			t.Fatalf("Explain(%q): %v", in, err)
		}
		if err := e.WriteText(&all); err != nil {
			t.Fatal(err)
		}
		all.WriteString("\n")
	}
	golden(t, "explain/text.golden", all.String())

	e, err := Explain(t.Context(), "localhost:8443", sys)
	if err != nil {
		t.Fatal(err)
	}
	js, err := json.MarshalIndent(e, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "explain/localhost_8443.json.golden", string(js)+"\n")
}

func TestExplainAddressOnly(t *testing.T) {
	t.Parallel()
	// Without a port Explain reads nothing but the resolver, on any system.
	sys := System{LookupIP: fakeLookup}
	e, err := Explain(t.Context(), "localhost", sys)
	if err != nil {
		t.Fatal(err)
	}
	if e.Host != "localhost" || len(e.Addrs) != 2 || e.Port != nil || e.Now != nil {
		t.Fatalf("Explain(localhost) = %+v, want two addresses and no port", e)
	}
	if e.Addrs[0].Class != ClassLoopback || e.Addrs[1].Class != ClassLoopback {
		t.Errorf("classes %q, %q; want loopback twice", e.Addrs[0].Class, e.Addrs[1].Class)
	}
}

func TestExplainErrors(t *testing.T) {
	t.Parallel()
	sys := fakeSystem("root-le", nil, nil)
	tests := []struct {
		in, want string
	}{
		{"", "nothing to explain"},
		{"nosuch.test", "resolve nosuch.test: lookup nosuch.test: no such host"},
		{"empty.test:80", "resolve empty.test: no addresses"},
		{"localhost:nosuchservice", `no service "nosuchservice" in /etc/services`},
		{"not a host", "is not an address"},
	}
	for _, tt := range tests {
		_, err := Explain(t.Context(), tt.in, sys)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Explain(%q) error = %v, want one containing %q", tt.in, err, tt.want)
		}
	}
	var dnsErr *net.DNSError
	if _, err := Explain(t.Context(), "nosuch.test", sys); !errors.As(err, &dnsErr) {
		t.Errorf("Explain(nosuch.test) error %v does not wrap the *net.DNSError", err)
	}
}

func TestExplainUnsupported(t *testing.T) {
	t.Parallel()
	if runtime.GOOS == "linux" {
		t.Skip("listeners are supported on linux")
	}
	e, err := Explain(t.Context(), "127.0.0.1:7007", System{})
	if err != nil {
		t.Fatal(err)
	}
	if e.Now == nil || !strings.Contains(e.Now.Error, "not supported on "+runtime.GOOS) {
		t.Errorf("Now = %+v, want a not-supported note", e.Now)
	}
}
