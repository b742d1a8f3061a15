package main

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
)

// TestProbeUnixSockets: the probe reads serve's Unix ready lines as URLs
// and measures both sockets as it measures TCP and UDP.
func TestProbeUnixSockets(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	s := startServe(t, 2, "--unix", filepath.Join(dir, "echo.sock"), "--unixgram", filepath.Join(dir, "echo.dgram"))
	for _, url := range []string{s.unix, s.unixgram} {
		got := probeJSON(t, url, "--count", "50")
		proto, path, _ := strings.Cut(url, "://")
		if got["ok"] != true || got["proto"] != proto || fmt.Sprint(got["addr"]) != fmt.Sprint(map[string]any{"path": path}) || got["target"] != url || got["received"] != 50.0 {
			t.Errorf("%s: ok %v, proto %v, addr %v, target %v, received %v; want true, %s, %s, the URL, 50",
				url, got["ok"], got["proto"], got["addr"], got["target"], got["received"], proto, path)
		}
		if _, hasConnect := got["connect_us"]; hasConnect != (proto == "unix") {
			t.Errorf("%s: connect_us present = %v; want it for the stream only", url, hasConnect)
		}
	}
}
