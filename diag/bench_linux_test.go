package diag

import (
	"context"
	"flag"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

var (
	benchConns = flag.Int("diag.conns", 5000, "loopback connections the benchmarks open: two sockets each, plus a listener")
	// benchCLI makes the test binary play `loopback ports` or `loopback
	// who PORT` (its value is "ports", "ports-all" or a port) and exit, so
	// that BenchmarkVersusSS times a process against a process.
	benchCLI = flag.String("diag.cli", "", "as BenchmarkVersusSS's child: print ports, ports-all or who PORT and exit")
)

// openConnections opens a listener on 127.0.0.1 and n connections to it,
// 2n+1 sockets, the shape of the harness that found ports slower than ss:
// one busy server. It returns the listener's port. Everything is closed
// when b ends.
func openConnections(b *testing.B, n int) uint16 {
	b.Helper()
	raiseFileLimit(b, 2*n+200)
	ctx, cancel := context.WithTimeout(b.Context(), time.Minute)
	defer cancel()
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp4", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { ln.Close() })
	deadline, _ := ctx.Deadline()
	ln.(*net.TCPListener).SetDeadline(deadline)
	d := net.Dialer{Deadline: deadline}
	for range n {
		c, err := d.DialContext(ctx, "tcp4", ln.Addr().String())
		if err != nil {
			b.Fatal(err)
		}
		s, err := ln.Accept() // the kernel finished the handshake already
		if err != nil {
			b.Fatal(err)
		}
		for _, conn := range []net.Conn{c, s} {
			// Closed with a reset: 5,000 connections left in TIME_WAIT
			// would weigh on the next run, and on everything else here.
			conn.(*net.TCPConn).SetLinger(0)
			conn.SetDeadline(deadline)
			b.Cleanup(func() { conn.Close() })
		}
	}
	return netip.MustParseAddrPort(ln.Addr().String()).Port()
}

// raiseFileLimit lifts RLIMIT_NOFILE to the hard limit, and skips b when
// that still holds fewer than n files.
func raiseFileLimit(b *testing.B, n int) {
	b.Helper()
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		b.Fatal(err)
	}
	if lim.Cur < lim.Max {
		lim.Cur = lim.Max
		if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
			b.Fatal(err)
		}
	}
	if uint64(n) > lim.Cur {
		b.Skipf("%d files need RLIMIT_NOFILE above its hard limit %d; try -diag.conns=%d", n, lim.Cur, (lim.Cur-200)/2)
	}
}

// BenchmarkPorts times Ports and Who in this process, with -diag.conns
// connections open: run it with -cpuprofile to see where the time goes.
func BenchmarkPorts(b *testing.B) {
	port := openConnections(b, *benchConns)
	for _, bb := range []struct {
		name string
		f    func() ([]Socket, error)
	}{
		{"Ports", func() ([]Socket, error) { return Ports(false, System{}) }},
		{"PortsAll", func() ([]Socket, error) { return Ports(true, System{}) }},
		{"Who", func() ([]Socket, error) { return Who(port, System{}) }},
		// The same from /proc/net and fs.FS, as without netlink.
		{"PortsProcNet", func() ([]Socket, error) { return Ports(false, System{Root: os.DirFS("/")}) }},
		{"WhoProcNet", func() ([]Socket, error) { return Who(port, System{Root: os.DirFS("/")}) }},
	} {
		b.Run(bb.name, func(b *testing.B) {
			for b.Loop() {
				if _, err := bb.f(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkVersusSS times `loopback ports`, `ports --all` and `who PORT`
// as processes (this test binary playing the command, see -diag.cli)
// against `ss -tulpn`, `ss -tanp` and who's question put to ss, `ss -tanp
// '( sport = :PORT or dport = :PORT )'`, with -diag.conns connections open.
// Each iteration runs every command once, in turn, so that whatever else
// the machine does falls on all of them alike; the medians are reported in
// ms, and each command's ratio to ss -tulpn.
//
//	go test -run '^$' -bench VersusSS -benchtime 15x ./diag/
func BenchmarkVersusSS(b *testing.B) {
	if _, err := exec.LookPath("ss"); err != nil {
		b.Skip("ss not installed")
	}
	port := openConnections(b, *benchConns)
	cmds := []struct {
		name, path string
		args       []string
	}{
		{"ports", os.Args[0], []string{"-diag.cli=ports"}},
		{"ports-all", os.Args[0], []string{"-diag.cli=ports-all"}},
		{"who", os.Args[0], []string{"-diag.cli=" + strconv.Itoa(int(port))}},
		{"ss-tulpn", "ss", []string{"-tulpn"}},
		{"ss-tanp", "ss", []string{"-tanp"}},
		// who's own question, put to ss: the connections on the port, either end.
		{"ss-who", "ss", []string{"-tanp", fmt.Sprintf("( sport = :%d or dport = :%d )", port, port)}},
	}
	times := make([][]time.Duration, len(cmds))
	for b.Loop() {
		for i, c := range cmds {
			ctx, cancel := context.WithTimeout(b.Context(), time.Minute)
			cmd := exec.CommandContext(ctx, c.path, append(c.args, "-test.run=^TestCLIChild$")...)
			if c.path == "ss" {
				cmd = exec.CommandContext(ctx, c.path, c.args...)
			}
			start := time.Now()
			out, err := cmd.Output()
			times[i] = append(times[i], time.Since(start))
			cancel()
			if err != nil || len(out) == 0 {
				b.Fatalf("%s: %v, %d bytes of output", c.name, err, len(out))
			}
		}
	}
	ss, ssWho := median(times[3]), median(times[5])
	for i, c := range cmds {
		m := median(times[i])
		b.ReportMetric(float64(m)/float64(time.Millisecond), c.name+"-ms")
		if i < 3 {
			b.ReportMetric(float64(m)/float64(ss), c.name+"/ss-tulpn")
		}
	}
	b.ReportMetric(float64(median(times[2]))/float64(ssWho), "who/ss-who")
}

func median(ds []time.Duration) time.Duration {
	ds = slices.Clone(ds)
	slices.Sort(ds)
	return ds[len(ds)/2]
}

// TestCLIChild is BenchmarkVersusSS's child: with -diag.cli it does what
// the CLI command does, table included, and writes to stdout; without it,
// it does nothing.
func TestCLIChild(t *testing.T) {
	if *benchCLI == "" {
		t.Skip("only a child of BenchmarkVersusSS")
	}
	var socks []Socket
	var err error
	switch *benchCLI {
	case "ports":
		socks, err = Ports(false, System{})
	case "ports-all":
		socks, err = Ports(true, System{})
	default:
		port, perr := strconv.ParseUint(*benchCLI, 10, 16)
		if perr != nil {
			t.Fatal(perr)
		}
		socks, err = Who(uint16(port), System{})
	}
	if err != nil {
		t.Fatal(err)
	}
	if err := WriteSockets(os.Stdout, socks); err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(os.Stderr, "%s: %d rows\n", strings.TrimSpace(*benchCLI), len(socks))
}
