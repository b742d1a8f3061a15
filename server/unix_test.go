package server

import (
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"syscall"
	"testing"
	"time"
)

func TestListenUnixReplacesOnlyAStaleFile(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, "s")
	// A file left by a server killed with SIGKILL: a socket nobody serves.
	stale, err := net.Listen("unix", path)
	if err != nil {
		t.Skipf("no Unix sockets here: %v", err)
	}
	stale.(*net.UnixListener).SetUnlinkOnClose(false)
	stale.Close()
	l, err := ListenUnix(t.Context(), path, "", 0o600)
	if err != nil {
		t.Fatalf("a stale socket file was not replaced: %v", err)
	}
	if st, err := os.Stat(path); err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("socket file mode = %v, %v; want 0600", st.Mode().Perm(), err)
	}
	// While it is served, a second server must not take it over.
	if _, err := ListenUnix(t.Context(), path, "", 0o600); !errors.Is(err, ErrSocketInUse) {
		t.Errorf("a live socket was replaced, or: %v", err)
	}
	l.Close()
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Errorf("the socket file is still there after Close: %v", err)
	}
	// Nor is a file that is no socket.
	plain := filepath.Join(dir, "plain")
	os.WriteFile(plain, []byte("data"), 0o644)
	if _, err := ListenUnix(t.Context(), plain, "", 0o600); err == nil {
		t.Error("a regular file was replaced by a socket")
	}
}

func TestUnixStreamAndDatagramEcho(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	l, err := ListenUnix(t.Context(), filepath.Join(dir, "st"), filepath.Join(dir, "dg"), 0o600)
	if err != nil {
		t.Skipf("no Unix sockets here: %v", err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	tcp, gram := &TCP{}, &UnixGram{}
	errc := make(chan error, 2)
	go func() { errc <- tcp.Serve(ctx, l.Stream) }()
	go func() { errc <- gram.Serve(ctx, l.Datagram) }()
	defer func() {
		cancel()
		for range 2 {
			if err := <-errc; err != nil {
				t.Errorf("Serve: %v", err)
			}
		}
		l.Remove()
	}()
	c := dialUnix(t, "unix", nil, filepath.Join(dir, "st"))
	roundTrip(t, c, "stream")
	// A datagram sender must have a name to be answered.
	named := dialUnix(t, "unixgram", &net.UnixAddr{Name: filepath.Join(dir, "client"), Net: "unixgram"}, filepath.Join(dir, "dg"))
	roundTrip(t, named, "datagram")
	unnamed := dialUnix(t, "unixgram", nil, filepath.Join(dir, "dg"))
	unnamed.Write([]byte("nobody"))
	unnamed.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
	if _, err := unnamed.Read(make([]byte, 8)); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Errorf("an unnamed sender got %v; want no answer", err)
	}
}

func TestUnixAbstractName(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("abstract socket names are Linux's")
	}
	t.Parallel()
	name := "@loopback-test-" + t.Name() + "-" + time.Now().Format("150405.000000000")
	l, err := ListenUnix(t.Context(), name, "", 0o600)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	errc := make(chan error, 1)
	go func() { errc <- (&TCP{}).Serve(ctx, l.Stream) }()
	roundTrip(t, dialUnix(t, "unix", nil, name), "abstract")
	cancel()
	if err := <-errc; err != nil {
		t.Error(err)
	}
}

func dialUnix(t *testing.T, network string, local *net.UnixAddr, path string) *net.UnixConn {
	t.Helper()
	c, err := net.DialUnix(network, local, &net.UnixAddr{Name: path, Net: network})
	if err != nil {
		if errors.Is(err, syscall.EPROTONOSUPPORT) {
			t.Skipf("%s: %v", network, err)
		}
		t.Fatal(err)
	}
	t.Cleanup(func() {
		c.Close()
		if local != nil {
			os.Remove(local.Name)
		}
	})
	c.SetDeadline(time.Now().Add(10 * time.Second))
	return c
}
