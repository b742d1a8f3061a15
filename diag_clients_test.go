package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"regexp"
	"runtime"
	"strings"
	"testing"
	"time"
)

// connPair is both ends of a loopback connection this test opened.
type connPair struct {
	client, server *net.TCPConn
}

// ports is the client's and the server's port.
func (p connPair) ports() (client, server uint16) {
	return netip.MustParseAddrPort(p.client.LocalAddr().String()).Port(),
		netip.MustParseAddrPort(p.server.LocalAddr().String()).Port()
}

// dialPair connects to ln and accepts the connection, both ends with a
// deadline; they are closed when t ends.
func dialPair(t *testing.T, ln *net.TCPListener) connPair {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	var d net.Dialer
	c, err := d.DialContext(ctx, "tcp4", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	deadline, _ := ctx.Deadline()
	ln.SetDeadline(deadline)
	s, err := ln.AcceptTCP() // the handshake is done: this returns at once
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	for _, conn := range []net.Conn{c, s} {
		conn.SetDeadline(time.Now().Add(10 * time.Second))
	}
	return connPair{c.(*net.TCPConn), s}
}

// closeFirst closes the connection from first's end, then from last's,
// and returns once first's end is in TIME_WAIT: a read that sees last's
// FIN returns after the kernel has moved first's socket there. No sleep.
func closeFirst(t *testing.T, first, last *net.TCPConn) {
	t.Helper()
	if err := first.CloseWrite(); err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadAll(last); err != nil { // first's FIN
		t.Fatal(err)
	}
	if err := last.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadAll(first); err != nil { // last's FIN: TIME_WAIT now
		t.Fatal(err)
	}
	first.Close()
}

// TestWhoShowsClientsAndTimeWait: who PORT lists the server's sockets,
// then the connections whose remote port is PORT, each with its side, and
// the TIME_WAIT each side leaves when it closes first; ports --all shows
// that TIME_WAIT, and explain says what it is.
func TestWhoShowsClientsAndTimeWait(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("who reads Linux's socket tables")
	}
	t.Parallel()
	lc := net.ListenConfig{}
	l, err := lc.Listen(t.Context(), "tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	ln := l.(*net.TCPListener)
	open := dialPair(t, ln)
	clientFirst, serverFirst := dialPair(t, ln), dialPair(t, ln)
	closeFirst(t, clientFirst.client, clientFirst.server)
	closeFirst(t, serverFirst.server, serverFirst.client)

	port := netip.MustParseAddrPort(ln.Addr().String()).Port()
	openClient, _ := open.ports()
	twClient, _ := clientFirst.ports()
	twServerPeer, _ := serverFirst.ports()
	// PROTO LOCAL REMOTE STATE SIDE ...: the columns that tell the rows apart.
	want := []string{
		fmt.Sprintf("tcp 127.0.0.1:%d * listening -", port),
		fmt.Sprintf("tcp 127.0.0.1:%d 127.0.0.1:%d established server", port, openClient),
		fmt.Sprintf("tcp 127.0.0.1:%d 127.0.0.1:%d time-wait server", port, twServerPeer),
		fmt.Sprintf("tcp 127.0.0.1:%d 127.0.0.1:%d established client", openClient, port),
		fmt.Sprintf("tcp 127.0.0.1:%d 127.0.0.1:%d time-wait client", twClient, port),
	}
	out, stderr, code := runCLI(t, nil, "who", fmt.Sprint(port))
	if code != 0 {
		t.Fatalf("who %d: exit %d: %s", port, code, stderr)
	}
	checkRows(t, "who", out, want)
	if n := strings.Count(out, fmt.Sprintf(" %d ", os.Getpid())); n < 3 {
		t.Errorf("who %d names this process (pid %d) %d times, want 3 (the listener and both ends):\n%s", port, os.Getpid(), n, out)
	}
	for _, w := range []string{"TIME_WAIT, server side (its port", "TIME_WAIT, client side (the other end's port"} {
		if !strings.Contains(out, w) {
			t.Errorf("who %d says nothing like %q:\n%s", port, w, out)
		}
	}

	out, stderr, code = runCLI(t, nil, "ports", "--all")
	if code != 0 {
		t.Fatalf("ports --all: exit %d: %s", code, stderr)
	}
	checkRows(t, "ports --all", out, []string{want[0], want[2], want[4]})

	out, stderr, code = runCLI(t, nil, "who", "--json", fmt.Sprint(port))
	if code != 0 {
		t.Fatalf("who --json %d: exit %d: %s", port, code, stderr)
	}
	var socks []struct {
		Local      struct{ Port uint16 }
		Remote     *struct{ Port uint16 }
		State      string
		Side, Note *string
		PID, Inode *int
	}
	if err := json.Unmarshal([]byte(out), &socks); err != nil {
		t.Fatalf("who --json: %v\n%s", err, out)
	}
	sides := map[string]int{}
	for _, s := range socks {
		if s.Remote == nil || s.Side == nil {
			continue
		}
		sides[s.State+" "+*s.Side]++
		if s.State == "time-wait" && (s.PID != nil || s.Inode != nil || s.Note == nil) {
			t.Errorf("who --json: a TIME_WAIT row with pid %v, inode %v, note %v; want null, null and a note", s.PID, s.Inode, s.Note)
		}
		if *s.Side == "client" && s.Remote.Port != port || *s.Side == "server" && s.Local.Port != port {
			t.Errorf("who --json %d: a %s row from port %d to %d", port, *s.Side, s.Local.Port, s.Remote.Port)
		}
	}
	for _, k := range []string{"established server", "established client", "time-wait server", "time-wait client"} {
		if sides[k] == 0 {
			t.Errorf("who --json %d has no %s row: %v\n%s", port, k, sides, out)
		}
	}

	// The listener's port was someone's before (it is ephemeral), and may
	// have TIME_WAIT of theirs too: at least ours, then.
	out, stderr, code = runCLI(t, nil, "explain", fmt.Sprintf("127.0.0.1:%d", port))
	m := regexp.MustCompile(`time-wait  \d+ connections using this port are in TIME_WAIT \((\d+) client side, (\d+) server side[,)]`).FindStringSubmatch(out)
	if code != 0 || m == nil || m[1] == "0" || m[2] == "0" {
		t.Errorf("explain: exit %d, %s; want a time-wait line with both sides:\n%s", code, stderr, out)
	}
	out, stderr, code = runCLI(t, nil, "explain", "--json", fmt.Sprintf("127.0.0.1:%d", port))
	var e struct {
		Now struct {
			TimeWait *bool   `json:"time_wait"`
			Note     *string `json:"note"`
			Clients  []any
		}
	}
	if err := json.Unmarshal([]byte(out), &e); code != 0 || err != nil || e.Now.TimeWait == nil || !*e.Now.TimeWait ||
		e.Now.Note == nil || !strings.Contains(*e.Now.Note, "TIME_WAIT") || len(e.Now.Clients) < 2 {
		t.Errorf("explain --json: exit %d, %v, %s; want time_wait true, a note and the clients:\n%s", code, err, stderr, out)
	}
}

// checkRows checks that the table out has a row starting with each of
// want's columns.
func checkRows(t *testing.T, cmd, out string, want []string) {
	t.Helper()
	var rows []string
	for line := range strings.Lines(out) {
		rows = append(rows, strings.Join(strings.Fields(line), " "))
	}
	for _, w := range want {
		found := false
		for _, r := range rows {
			found = found || strings.HasPrefix(r, w+" ")
		}
		if !found {
			t.Errorf("%s has no row %q:\n%s", cmd, w, out)
		}
	}
}
