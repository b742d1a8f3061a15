package server

import (
	"context"
	"errors"
	"net/netip"
	"strings"
	"testing"
)

// FuzzResolve fuzzes the loopback policy, the host of --addr as Resolve
// gets it: any IP literal resolves to itself (IPv4-mapped ones as IPv4),
// and one outside 127.0.0.0/8 and ::1 is refused with ErrNotLoopback unless
// remote addresses are allowed. What it accepts reads back as itself.
//
// Only literals are tried. Resolve sends anything netip.ParseAddr refuses
// to DNS, and a fuzz test must never leave the machine; the same check
// here keeps every input on the literal path, and the context is canceled
// so that a lookup, should one ever happen, fails at once instead.
// Run it with go test -run '^$' -fuzz FuzzResolve -fuzztime 30s ./server/
func FuzzResolve(f *testing.F) {
	for _, s := range []string{"127.0.0.1", "127.255.255.254", "::1", "::ffff:127.0.0.1", "::ffff:7f00:1",
		"0.0.0.0", "::", "::ffff:0.0.0.0", "192.168.1.10", "8.8.8.8", "fe80::1%eth0", "::1%lo", "[::1]",
		"0::0:1", "::0.0.0.1", "2001:db8::1", "ff02::1", "224.0.0.1", "127.1", "localhost", "", "1.2.3.4%eth0"} {
		f.Add(s, false)
		f.Add(s, true)
	}
	f.Fuzz(func(t *testing.T, host string, allowRemote bool) {
		lit, err := netip.ParseAddr(host)
		if err != nil {
			return
		}
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		got, err := Resolve(ctx, host, allowRemote)
		want := lit.Unmap()
		if !allowRemote && !want.IsLoopback() {
			if !errors.Is(err, ErrNotLoopback) || !strings.Contains(err.Error(), want.String()) ||
				!strings.Contains(err.Error(), "--allow-remote") {
				t.Fatalf("Resolve(%q, false) = %v, %v; want ErrNotLoopback naming %s and --allow-remote", host, got, err, want)
			}
			return
		}
		if err != nil || got != want {
			t.Fatalf("Resolve(%q, %v) = %v, %v; want %v", host, allowRemote, got, err, want)
		}
		if back, err := Resolve(ctx, got.String(), allowRemote); err != nil || back != got {
			t.Fatalf("Resolve(%q) = %v, whose text resolves to %v, %v", host, got, back, err)
		}
	})
}
