package probe

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestRunUnix: Unix sockets get the round trips, counts and statistics of
// TCP and UDP, in every engine.
func TestRunUnix(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		target func(*testing.T) Target
		o      Options
	}{
		{"stream", func(t *testing.T) Target { return serveUnix(t, tcpEcho) }, Options{}},
		{"stream busy polling", func(t *testing.T) Target { return serveUnix(t, tcpEcho) }, Options{BusyPoll: canSpin}},
		{"datagram", func(t *testing.T) Target { return serveUnixgram(t, unixgramEcho(nil)) }, Options{}},
		{"datagram on a schedule", func(t *testing.T) Target { return serveUnixgram(t, unixgramEcho(nil)) }, Options{Interval: time.Millisecond}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			target := tt.target(t)
			o := tt.o
			o.Count, o.Size, o.Timeout, o.Warmup = 100, 64, 5*time.Second, 5
			r, err := Run(t.Context(), target, o)
			if err != nil {
				t.Fatal(err)
			}
			if !r.OK() || r.Received != 100 || r.Addr.IsValid() {
				t.Errorf("ok %v, received %d, addr %v, aborted %q; want 100 intact, no IP address", r.OK(), r.Received, r.Addr, r.Aborted)
			}
			if stream := target.Network == "unix"; (r.Connect > 0) != stream {
				t.Errorf("connect %v; want a time for a stream only", r.Connect)
			}
			checkOrdered(t, r)
		})
	}
}

// TestRunUnixModes: connect and throughput modes measure Unix streams as
// they measure TCP.
func TestRunUnixModes(t *testing.T) {
	t.Parallel()
	target := serveUnix(t, tcpEcho)
	for _, o := range []Options{
		{Mode: ModeConnect, Count: 20},
		{Mode: ModeThroughput, Duration: 100 * time.Millisecond},
	} {
		t.Run(string(o.Mode), func(t *testing.T) {
			t.Parallel()
			o.Size, o.Timeout = 64, 5*time.Second
			r, err := Run(t.Context(), target, o)
			if err != nil || !r.OK() {
				t.Fatalf("%v, ok %v, aborted %q", err, r.OK(), r.Aborted)
			}
			if o.Mode == ModeConnect && (r.Received != 20 || r.Connects.Count() != 20) {
				t.Errorf("received %d, %d connects; want 20 and 20", r.Received, r.Connects.Count())
			}
		})
	}
}

// TestUnixgramNameIsRemoved: the name the probe binds to be answered at
// goes with the run, directory and all.
func TestUnixgramNameIsRemoved(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	names := map[string]bool{}
	target := serveUnixgram(t, unixgramEcho(func(name string) {
		mu.Lock()
		names[name] = true
		mu.Unlock()
	}))
	r, err := Run(t.Context(), target, Options{Count: 10, Size: 64, Timeout: 5 * time.Second, Concurrency: 2})
	if err != nil || !r.OK() {
		t.Fatalf("%v, ok %v, aborted %q", err, r.OK(), r.Aborted)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(names) != 2 {
		t.Errorf("replies went to %v; want one name per socket, 2", names)
	}
	for name := range names {
		if _, err := os.Lstat(filepath.Dir(name)); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s: its directory is still there after the run (%v)", name, err)
		}
	}
}

// TestRunUnixRefused: nothing at the path, or a socket file nobody serves,
// is a refusal, worded as TCP's is.
func TestRunUnixRefused(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	stale := filepath.Join(dir, "stale.sock")
	ln, err := net.Listen("unix", stale)
	if err != nil {
		t.Skipf("no Unix sockets here: %v", err)
	}
	ln.(*net.UnixListener).SetUnlinkOnClose(false)
	ln.Close()
	missing := filepath.Join(dir, "missing.sock")
	for _, network := range []string{"unix", "unixgram"} {
		for path, want := range map[string]string{
			missing: "connection refused: no socket at " + missing,
			stale:   "connection refused: nothing listening on " + stale,
		} {
			r, err := Run(t.Context(), Target{Network: network, Path: path}, Options{Count: 3, Size: 64, Timeout: time.Second})
			if err == nil || err.Error() != want || ErrorCode(err) != "refused" || r.Sent != 0 {
				t.Errorf("%s://%s: %v (code %q), sent %d; want %q, refused", network, path, err, ErrorCode(err), r.Sent, want)
			}
		}
	}
}

// TestRunUnixWrongType: a stream target that is a datagram socket says
// which scheme would reach it.
func TestRunUnixWrongType(t *testing.T) {
	t.Parallel()
	dgram := serveUnixgram(t, unixgramEcho(nil))
	_, err := Run(t.Context(), Target{Network: "unix", Path: dgram.Path}, Options{Count: 3, Size: 64, Timeout: time.Second})
	if want := fmt.Sprintf("try unixgram://%s)", dgram.Path); err == nil || !strings.HasSuffix(err.Error(), want) {
		t.Errorf("unix:// to a datagram socket: %v; want the hint %q", err, want)
	}
}

// TestRunUnixAbstract: a name in Linux's abstract namespace has no file.
func TestRunUnixAbstract(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("abstract socket names are Linux's")
	}
	t.Parallel()
	name := fmt.Sprintf("@loopback-probe-test-%d-%d", os.Getpid(), time.Now().UnixNano())
	ln, err := net.Listen("unix", name)
	if err != nil {
		t.Fatal(err)
	}
	serveStream(t, ln, tcpEcho)
	target, err := ParseTarget("unix://" + name)
	if err != nil {
		t.Fatal(err)
	}
	r, err := Run(t.Context(), target, Options{Count: 20, Size: 64, Timeout: 5 * time.Second})
	if err != nil || !r.OK() {
		t.Fatalf("%v, ok %v, aborted %q", err, r.OK(), r.Aborted)
	}
}
