package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/loopback-dev/loopback/config"
	"github.com/loopback-dev/loopback/diag"
)

func TestWhoFindsThisProcessAndExits1OnAFreePort(t *testing.T) {
	t.Parallel()
	s := startServe(t, 2)
	out, stderr, code := runCLI(t, nil, "who", fmt.Sprint(s.port))
	if code != 0 {
		t.Fatalf("who %d: exit %d: %s", s.port, code, stderr)
	}
	for _, proto := range []string{"tcp ", "udp "} {
		want := fmt.Sprintf("127.0.0.1:%d", s.port)
		if !strings.Contains(out, proto) || !strings.Contains(out, want) || !strings.Contains(out, fmt.Sprint(os.Getpid())) {
			t.Errorf("who %d lacks %s%s held by pid %d:\n%s", s.port, proto, want, os.Getpid(), out)
		}
	}

	// A free port may still be the remote port of connections in
	// TIME_WAIT, from whoever listened on it before: those rows may show,
	// but nothing is bound to it.
	free := freePort(t)
	out, stderr, code = runCLI(t, nil, "who", fmt.Sprint(free))
	if code != 1 || !strings.Contains(stderr, fmt.Sprintf("nothing is bound to port %d", free)) {
		t.Errorf("who on a free port: exit %d, stdout %q, stderr %q", code, out, stderr)
	}
	for line := range strings.Lines(out) {
		if f := strings.Fields(line); len(f) > 1 && strings.HasSuffix(f[1], fmt.Sprintf(":%d", free)) {
			t.Errorf("who on a free port lists a socket bound to it: %s", line)
		}
	}
}

func TestWhoJSONOnAFreePortIsAnArray(t *testing.T) {
	t.Parallel()
	free := freePort(t)
	out, stderr, code := runCLI(t, nil, "who", "--json", fmt.Sprint(free))
	var socks []map[string]any
	err := json.Unmarshal([]byte(out), &socks)
	if code != 1 || err != nil || socks == nil || !strings.Contains(stderr, fmt.Sprintf("nothing is bound to port %d", free)) {
		t.Errorf("who --json on a free port: exit %d, stdout %q (%v), stderr %q; want 1, an array and a message", code, out, err, stderr)
	}
	for _, s := range socks {
		if s["side"] != "client" {
			t.Errorf("who --json on a free port lists something other than a client of it: %v", s)
		}
	}
}

// TestWriteSocketsJSONWithNone covers ports --json on a machine with no
// listener, which no test can arrange on the real one.
func TestWriteSocketsJSONWithNone(t *testing.T) {
	t.Parallel()
	for _, socks := range [][]diag.Socket{nil, {}} {
		var b strings.Builder
		if err := writeSockets(&b, socks, true); err != nil {
			t.Fatal(err)
		}
		if b.String() != "[]\n" {
			t.Errorf("writeSockets(%#v, json) = %q, want \"[]\\n\"", socks, b.String())
		}
	}
}

// FuzzWhoArg fuzzes who's one argument, flags included: it is a port from
// 1 to 65535 that reads back as itself, or a usage error (exit 2), or the
// help (exit 0). explain's argument is fuzzed in diag (FuzzExplain).
func FuzzWhoArg(f *testing.F) {
	for _, s := range []string{"7007", "1", "65535", "0", "65536", "-1", "+80", "080", "0x50", "8e1", "http",
		"", " 80", "80 ", "--json", "-h", "--", "-json=maybe", "99999999999999999999",
		"/run/app.sock", "./s", "@abstract", "~/s"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, arg string) {
		c, err := loadWho([]string{arg}, nil, io.Discard, io.Discard)
		if err != nil {
			if code := exitCode(err); code != 2 && !errors.Is(err, config.ErrHelp) {
				t.Fatalf("who %q: exit %d (%v), want 2 for a usage error", arg, code, err)
			}
			return
		}
		if c.Path != "" {
			if c.Path != arg || !diag.IsSocketPath(arg) {
				t.Fatalf("who %q = path %q", arg, c.Path)
			}
			return
		}
		if c.Port == 0 {
			t.Fatalf("who %q accepted port 0", arg)
		}
		back, err := loadWho([]string{strconv.Itoa(int(c.Port))}, nil, io.Discard, io.Discard)
		if err != nil || back.Port != c.Port {
			t.Fatalf("who %q = port %d, which reads back as %d, %v", arg, c.Port, back.Port, err)
		}
	})
}

func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

func TestPortsJSONListsOurListener(t *testing.T) {
	t.Parallel()
	s := startServe(t, 2)
	out, stderr, code := runCLI(t, nil, "ports", "--json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var socks []struct {
		Proto, Family string
		Local         struct {
			IP   string
			Port int
		}
		Remote *struct{}
		PID    *int
	}
	if err := json.Unmarshal([]byte(out), &socks); err != nil {
		t.Fatalf("not a JSON array: %v\n%s", err, out)
	}
	found := 0
	for _, sk := range socks {
		if sk.Local.IP == "127.0.0.1" && sk.Local.Port == s.port && sk.Family == "ipv4" &&
			sk.Remote == nil && sk.PID != nil && *sk.PID == os.Getpid() {
			found++
		}
	}
	if found != 2 {
		t.Errorf("ports --json has %d entries for our tcp and udp listeners, want 2:\n%s", found, out)
	}
}

// TestUnixListenerInPortsAndWho finds a Unix listener of this process in
// ports --json, after every TCP and UDP row, and with who PATH.
func TestUnixListenerInPortsAndWho(t *testing.T) {
	t.Parallel()
	path := t.TempDir() + "/s"
	ln, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })

	out, stderr, code := runCLI(t, nil, "ports", "--json")
	if code != 0 {
		t.Fatalf("ports --json: exit %d: %s", code, stderr)
	}
	var socks []struct {
		Proto  string
		Family *string
		Local  struct{ Path string }
		Remote *struct{}
		State  string
		PID    *int
	}
	if err := json.Unmarshal([]byte(out), &socks); err != nil {
		t.Fatalf("not a JSON array: %v\n%s", err, out)
	}
	found, seenUnix := false, false
	for _, sk := range socks {
		unix := sk.Proto == "unix" || sk.Proto == "unixgram"
		if seenUnix && !unix {
			t.Errorf("ports --json lists %s after a Unix socket:\n%s", sk.Proto, out)
		}
		seenUnix = seenUnix || unix
		found = found || sk.Proto == "unix" && sk.Local.Path == path && sk.Family == nil &&
			sk.Remote == nil && sk.State == "listening" && sk.PID != nil && *sk.PID == os.Getpid()
	}
	if !found {
		t.Errorf("ports --json lacks unix %s listening, held by pid %d:\n%s", path, os.Getpid(), out)
	}

	out, stderr, code = runCLI(t, nil, "who", path)
	if want := fmt.Sprintf("unix   %s  *       listening", path); code != 0 ||
		!strings.Contains(out, want) || !strings.Contains(out, fmt.Sprint(os.Getpid())) {
		t.Errorf("who %s: exit %d, stderr %q, stdout\n%s\nwant a row %q held by pid %d", path, code, stderr, out, want, os.Getpid())
	}
	out, stderr, code = runCLI(t, nil, "who", path+"-none")
	if code != 1 || out != "" || !strings.Contains(stderr, "no Unix socket is bound at") {
		t.Errorf("who on a free path: exit %d, stdout %q, stderr %q; want 1 and a message", code, out, stderr)
	}
}

func TestExplainLoopbackPort(t *testing.T) {
	t.Parallel()
	out, stderr, code := runCLI(t, nil, "explain", "127.0.0.1:62893")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	for _, want := range []string{"127.0.0.1 is loopback", "62893 is in IANA's dynamic range (49152-65535)"} {
		if !strings.Contains(out, want) {
			t.Errorf("explain lacks %q:\n%s", want, out)
		}
	}
	// Scripts get route_localnet as a fact for 127.x, whatever it is here.
	out, stderr, code = runCLI(t, nil, "explain", "--json", "127.0.0.1")
	var e struct {
		Addrs []struct {
			RouteLocalnet *bool `json:"route_localnet"`
		} `json:"addrs"`
	}
	if err := json.Unmarshal([]byte(out), &e); code != 0 || err != nil || len(e.Addrs) != 1 || e.Addrs[0].RouteLocalnet == nil {
		t.Errorf("explain --json 127.0.0.1: exit %d, %v, want an address with route_localnet:\n%s%s", code, err, out, stderr)
	}
	if _, stderr, code := runCLI(t, nil, "explain", "127.0.0.1:99999"); code != 2 {
		t.Errorf("explain of a bad port: exit %d, %s", code, stderr)
	}
}

func TestServeOnATakenPortNamesTheHolder(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	port := ln.Addr().(*net.TCPAddr).Port
	_, stderr, code := runCLI(t, nil, "serve", "--addr", fmt.Sprintf("127.0.0.1:%d", port))
	want := fmt.Sprintf("port %d is already in use, held by pid %d", port, os.Getpid())
	if code != 1 || !strings.Contains(stderr, want) {
		t.Errorf("exit %d, stderr %q; want exit 1 and %q", code, stderr, want)
	}
}
