package diag

import (
	"bufio"
	"errors"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// bound is a socket a test opened, and who should be found holding it.
type bound struct {
	proto   string // "tcp", "tcp6", "udp", "udp6"
	addr    netip.AddrPort
	pid     int
	process string // a prefix of the comm name
	argv    string // a substring of the command line
}

// listenSelf opens TCP and UDP sockets on 127.0.0.1:0 and [::1]:0 in this
// process and closes them when the test ends.
func listenSelf(t *testing.T) []bound {
	t.Helper()
	comm, err := os.ReadFile("/proc/self/comm")
	if err != nil {
		t.Fatal(err)
	}
	var lc net.ListenConfig
	var out []bound
	for _, n := range []struct{ network, proto, addr string }{
		{"tcp4", "tcp", "127.0.0.1:0"}, {"tcp6", "tcp6", "[::1]:0"},
		{"udp4", "udp", "127.0.0.1:0"}, {"udp6", "udp6", "[::1]:0"},
	} {
		var addr net.Addr
		if strings.HasPrefix(n.network, "tcp") {
			ln, err := lc.Listen(t.Context(), n.network, n.addr)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { ln.Close() })
			addr = ln.Addr()
		} else {
			pc, err := lc.ListenPacket(t.Context(), n.network, n.addr)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { pc.Close() })
			addr = pc.LocalAddr()
		}
		ap := netip.MustParseAddrPort(addr.String())
		out = append(out, bound{n.proto, ap, os.Getpid(), strings.TrimSpace(string(comm)), os.Args[0]})
	}
	return out
}

// startChild runs a server that binds port 0 and reads its ready line
// (never a sleep) to learn the port: ready captures the address and the
// port. The child is killed when the test ends.
func startChild(t *testing.T, proto string, ready *regexp.Regexp, name string, args ...string) bound {
	t.Helper()
	if _, err := exec.LookPath(name); err != nil {
		t.Skipf("%s not installed", name)
	}
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.CommandContext(t.Context(), name, args...)
	// One *os.File for both streams: exec copies nothing, so no goroutine.
	cmd.Stdout, cmd.Stderr = w, w
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	w.Close()
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		r.Close()
	})
	// A child that never gets ready is killed, which ends the scan below.
	timer := time.AfterFunc(10*time.Second, func() { cmd.Process.Kill() })
	defer timer.Stop()
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		m := ready.FindStringSubmatch(sc.Text())
		if m == nil {
			continue
		}
		addr, err1 := netip.ParseAddr(m[1])
		port, err2 := strconv.ParseUint(m[2], 10, 16)
		if err1 != nil || err2 != nil {
			t.Fatalf("%s ready line %q: %v", name, sc.Text(), errors.Join(err1, err2))
		}
		return bound{proto, netip.AddrPortFrom(addr, uint16(port)), cmd.Process.Pid, name, ""}
	}
	t.Fatalf("%s exited before it was ready: %v", name, sc.Err())
	return bound{}
}

func startSocat(t *testing.T, proto, address string) bound {
	// "N listening on AF=2 127.0.0.1:PORT", or with "UDP " and "[0000:...:0001]".
	ready := regexp.MustCompile(`listening on (?:UDP )?AF=\d+ \[?([0-9a-fA-F.:]+?)\]?:(\d+)$`)
	b := startChild(t, proto, ready, "socat", "-d", "-d", address, "PIPE")
	b.argv = address
	return b
}

func startPython(t *testing.T) bound {
	ready := regexp.MustCompile(`^Serving HTTP on (\S+) port (\d+)`)
	b := startChild(t, "tcp", ready, "python3", "-u", "-m", "http.server", "0", "--bind", "127.0.0.1")
	b.process, b.argv = "python", "http.server"
	return b
}

// find returns the row of who for b, checking it is held by b's process.
func find(t *testing.T, b bound, socks []Socket) {
	t.Helper()
	for _, s := range socks {
		if s.Proto != b.proto || s.Local != b.addr || !s.Listening() {
			continue
		}
		argv := strings.Join(s.Cmdline, " ")
		if s.PID != b.pid || !strings.HasPrefix(s.Process, b.process) || !strings.Contains(argv, b.argv) {
			t.Errorf("%s %s: got pid %d %q %q, want pid %d %q... with %q",
				b.proto, b.addr, s.PID, s.Process, argv, b.pid, b.process, b.argv)
		}
		if s.UID != uint32(os.Geteuid()) || s.Note != "" {
			t.Errorf("%s %s: got uid %d note %q, want uid %d and no note", b.proto, b.addr, s.UID, s.Note, os.Geteuid())
		}
		return
	}
	t.Errorf("%s %s (pid %d) not found in\n%s", b.proto, b.addr, b.pid, strings.Join(rows(socks), "\n"))
}

func TestWhoLive(t *testing.T) {
	t.Parallel()
	all := listenSelf(t)
	all = append(all,
		startSocat(t, "tcp", "TCP4-LISTEN:0,bind=127.0.0.1,fork"),
		startSocat(t, "tcp6", "TCP6-LISTEN:0,bind=[::1],fork"),
		startSocat(t, "udp", "UDP4-LISTEN:0,bind=127.0.0.1"),
		startPython(t),
	)
	for _, b := range all {
		socks, err := Who(b.addr.Port(), System{})
		if err != nil {
			t.Fatalf("Who(%d): %v", b.addr.Port(), err)
		}
		find(t, b, socks)
	}
	ports, err := Ports(false, System{})
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range all {
		find(t, b, ports)
	}
}

// TestWhoLiveConnection checks both ends of a connection, found from
// either end's port with their sides, and that the client's port is
// explained as one the kernel picked.
func TestWhoLiveConnection(t *testing.T) {
	t.Parallel()
	var lc net.ListenConfig
	ln, err := lc.Listen(t.Context(), "tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var d net.Dialer
	client, err := d.DialContext(t.Context(), "tcp4", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	server, err := ln.Accept() // the handshake is done: this returns at once
	if err != nil {
		t.Fatal(err)
	}
	defer server.Close()

	local := netip.MustParseAddrPort(client.LocalAddr().String())
	remote := netip.MustParseAddrPort(client.RemoteAddr().String())
	u := users{}
	me := Socket{Proto: "tcp", State: "established", UID: uint32(os.Geteuid()),
		User: u.name(uint32(os.Geteuid())), PID: os.Getpid()}
	clientEnd, serverEnd := me, me
	clientEnd.Local, clientEnd.Remote, clientEnd.Side = local, remote, SideClient
	serverEnd.Local, serverEnd.Remote, serverEnd.Side = remote, local, SideServer
	// Who lists the port's own sockets first, then those whose remote
	// port it is.
	for _, tt := range []struct {
		port uint16
		want []Socket
	}{
		{local.Port(), []Socket{clientEnd, serverEnd}},
		{remote.Port(), []Socket{serverEnd, clientEnd}},
	} {
		socks, err := Who(tt.port, System{})
		if err != nil {
			t.Fatal(err)
		}
		// Both ports are ephemeral: earlier connections on this machine
		// may have left them in TIME_WAIT, which is not this test's
		// business.
		var got []string
		for _, s := range socks {
			if s.TimeWait() || s.Listening() {
				continue
			}
			s.Process, s.Cmdline = "", nil // checked in TestWhoLive
			got = append(got, row(s))
		}
		if want := rows(tt.want); !slices.Equal(got, want) {
			t.Errorf("Who(%d) = %q, want %q", tt.port, got, want)
		}
	}

	e, err := Explain(t.Context(), client.LocalAddr().String(), System{})
	if err != nil {
		t.Fatal(err)
	}
	if r, ok := ephemeralRange(System{}); ok && r.Contains(local.Port()) && !e.Port.InEphemeralRange {
		t.Errorf("Explain(%s): port not in the ephemeral range %s", local, r)
	}
	live := 0
	for _, c := range e.Now.Connections {
		if c.State != "time-wait" {
			live++
		}
	}
	if e.Now == nil || len(e.Now.Listening) != 0 || live != 1 {
		t.Errorf("Explain(%s).Now = %+v, want no listener and one connection", local, e.Now)
	}
}
