package main

import (
	"io"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"testing"
	"time"
)

// TestServeTraceNarratesASession: a client connects, sends a line, reads
// the echo and closes; a datagram follows. The narration, with times and
// ports masked, is the golden file.
func TestServeTraceNarratesASession(t *testing.T) {
	t.Parallel()
	s := startServe(t, 2, "--hexdump")
	c, err := net.DialTimeout("tcp", s.tcp[len("tcp://"):], 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	c.SetDeadline(time.Now().Add(5 * time.Second))
	c.Write([]byte("hello\n"))
	io.ReadFull(c, make([]byte, 6))
	c.(*net.TCPConn).CloseWrite()
	io.ReadAll(c) // the server's FIN: it has closed too
	c.Close()
	// The close is told just after the FIN; the datagram comes after it.
	s.stderr.waitFor(t, "so we closed ours")
	u, err := net.Dial("udp", s.udp[len("udp://"):])
	if err != nil {
		t.Fatal(err)
	}
	defer u.Close()
	u.SetDeadline(time.Now().Add(5 * time.Second))
	u.Write([]byte("ping\n"))
	u.Read(make([]byte, 8))
	// The answer is told just after it is sent; the stop comes after that.
	s.stderr.waitFor(t, "echoed it")
	if err := s.shutdown(t); err != nil {
		t.Fatal(err)
	}
	got := regexp.MustCompile(`\d\d:\d\d:\d\d\.\d{3}`).ReplaceAllString(s.stderr.String(), "HH:MM:SS.mmm")
	got = regexp.MustCompile(`127\.0\.0\.1:\d+`).ReplaceAllString(got, "127.0.0.1:PORT")
	got = regexp.MustCompile(`open [0-9.]+ m?s`).ReplaceAllString(got, "open N ms")
	got = regexp.MustCompile(`stopped after [^:]+:`).ReplaceAllString(got, "stopped after N:")
	golden := filepath.Join("testdata", "trace.golden")
	if *update {
		os.WriteFile(golden, []byte(got), 0o644)
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if got != string(want) {
		t.Errorf("narration differs from %s (go test -run %s -update to rewrite):\n%s", golden, t.Name(), got)
	}
}
