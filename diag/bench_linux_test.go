package diag

import (
	"flag"
	"net"
	"os/exec"
	"syscall"
	"testing"
)

var benchSockets = flag.Int("diag.sockets", 10000, "sockets the benchmarks open (bounded by RLIMIT_NOFILE)")

// openSockets opens about n sockets on loopback, a mix like a busy machine:
// a fifth TCP listeners, a fifth bound UDP sockets, the rest both ends of
// established connections to those listeners.
func openSockets(b *testing.B, n int) {
	b.Helper()
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		b.Fatal(err)
	}
	if uint64(n)+200 > lim.Cur {
		b.Skipf("%d sockets need RLIMIT_NOFILE above %d; try -diag.sockets=%d", n, lim.Cur, lim.Cur-200)
	}
	var lc net.ListenConfig
	var lns []net.Listener
	closeLater := func(c interface{ Close() error }) { b.Cleanup(func() { c.Close() }) }
	for range n / 5 {
		ln, err := lc.Listen(b.Context(), "tcp4", "127.0.0.1:0")
		if err != nil {
			b.Fatal(err)
		}
		closeLater(ln)
		lns = append(lns, ln)
		pc, err := lc.ListenPacket(b.Context(), "udp4", "127.0.0.1:0")
		if err != nil {
			b.Fatal(err)
		}
		closeLater(pc)
	}
	var d net.Dialer
	for i := range (n - 2*(n/5)) / 2 {
		ln := lns[i%len(lns)]
		c, err := d.DialContext(b.Context(), "tcp4", ln.Addr().String())
		if err != nil {
			b.Fatal(err)
		}
		closeLater(c)
		s, err := ln.Accept() // the kernel finished the handshake already
		if err != nil {
			b.Fatal(err)
		}
		closeLater(s)
	}
}

// BenchmarkPorts times Ports and Who on a machine with -diag.sockets open
// sockets, next to `ss -tulpn`, which does the same job (netlink for the
// tables, then /proc/*/fd for the processes), timed in the same run.
func BenchmarkPorts(b *testing.B) {
	openSockets(b, *benchSockets)
	b.Run("Ports", func(b *testing.B) {
		for b.Loop() {
			if _, err := Ports(false, System{}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("PortsAll", func(b *testing.B) {
		for b.Loop() {
			if _, err := Ports(true, System{}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("Who", func(b *testing.B) {
		for b.Loop() {
			if _, err := Who(22, System{}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("ss-tulpn", func(b *testing.B) {
		if _, err := exec.LookPath("ss"); err != nil {
			b.Skip("ss not installed")
		}
		for b.Loop() {
			if err := exec.Command("ss", "-tulpn").Run(); err != nil {
				b.Fatal(err)
			}
		}
	})
}
