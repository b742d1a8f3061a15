package main

import (
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestServeUnixSockets(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	st, dg := filepath.Join(dir, "echo.sock"), filepath.Join(dir, "echo.dgram")
	// A file left by a server killed with SIGKILL is replaced.
	stale, err := net.Listen("unix", st)
	if err != nil {
		t.Skipf("no Unix sockets here: %v", err)
	}
	stale.(*net.UnixListener).SetUnlinkOnClose(false)
	stale.Close()

	s := startServe(t, 2, "--unix", st, "--unixgram", dg)
	if s.unix != "unix://"+st || s.unixgram != "unixgram://"+dg {
		t.Errorf("ready lines %q %q; want unix://%s and unixgram://%s", s.unix, s.unixgram, st, dg)
	}
	for _, path := range []string{st, dg} {
		if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
			t.Errorf("%s: mode %v, %v; want 0600", path, fi.Mode().Perm(), err)
		}
	}
	c, err := net.DialTimeout("unix", st, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	echoOnce(t, c, "stream")
	local := &net.UnixAddr{Name: filepath.Join(dir, "client"), Net: "unixgram"}
	g, err := net.DialUnix("unixgram", local, &net.UnixAddr{Name: dg, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	echoOnce(t, g, "datagram")

	// A second server on a live socket is refused, and leaves it alone.
	_, stderr, code := runCLI(t, nil, "serve", "--unix", st)
	if code != 1 || !strings.Contains(stderr, "another process is listening there") {
		t.Errorf("second serve on a live socket: exit %d, %q", code, stderr)
	}
	if err := s.shutdown(t); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{st, dg} {
		if _, err := os.Stat(path); !os.IsNotExist(err) {
			t.Errorf("%s left behind after the stop: %v", path, err)
		}
	}
}

func echoOnce(t *testing.T, c net.Conn, msg string) {
	t.Helper()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.Write([]byte(msg)); err != nil {
		t.Fatal(err)
	}
	got := make([]byte, len(msg))
	n, err := c.Read(got)
	if err != nil || string(got[:n]) != msg {
		t.Errorf("echo = %q, %v; want %q", got[:n], err, msg)
	}
}
