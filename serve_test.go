package main

import (
	"encoding/json"
	"errors"
	"io"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"
)

// These tests fail when a serve setting stops reaching the server: the
// listening event reports what the server will use, and the limits are
// checked by their effect on real connections.

// listeningEvent returns the fields of serve's listening event, which is
// written before the ready lines.
func listeningEvent(t *testing.T, s *served) map[string]any {
	t.Helper()
	for line := range strings.SplitSeq(s.stderr.String(), "\n") {
		var e map[string]any
		if json.Unmarshal([]byte(line), &e) == nil && e["message"] == "listening" {
			return e
		}
	}
	t.Fatalf("no listening event before the ready lines:\n%s", s.stderr)
	return nil
}

func TestServeListeningEventHasEverySetting(t *testing.T) {
	t.Parallel()
	portFile := filepath.Join(t.TempDir(), "port")
	s := startServe(t, 2, "--loops", "3", "--max-conns", "7", "--idle-timeout", "300ms", "--drain-timeout", "2s",
		"--duration", "1h", "--port-file", portFile, "--log-level", "debug")
	got := listeningEvent(t, s)
	want := map[string]any{
		"addr": "127.0.0.1:0", "proto": "both", "allow_remote": false, "port_file": portFile,
		"max_conns": 7.0, "idle_timeout": "300ms", "duration": "1h0m0s", "drain_timeout": "2s",
		"log_level": "debug", "log_format": "json", "engine": "goroutines", "loops": 0.0,
	}
	if runtime.GOOS == "linux" {
		want["engine"], want["loops"] = "loops", 3.0
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("listening event has %s = %v (%T), want %v", k, got[k], got[k], v)
		}
	}

	// A flag added to serve and forgotten in the event fails here.
	help, _, _ := runCLI(t, nil, "serve", "--help")
	for _, flag := range regexp.MustCompile(`(?m)^  --([a-z-]+)`).FindAllStringSubmatch(help, -1) {
		if key := strings.ReplaceAll(flag[1], "-", "_"); got[key] == nil {
			t.Errorf("listening event lacks %s, for --%s: %v", key, flag[1], got)
		}
	}
}

// closedWithin reads from c until the server closes it and returns how
// long after start that was; a read that hits the deadline fails the
// test.
func closedWithin(t *testing.T, c io.Reader, start time.Time) time.Duration {
	t.Helper()
	n, err := c.Read(make([]byte, 1))
	took := time.Since(start)
	if n != 0 || !(errors.Is(err, io.EOF) || errors.Is(err, syscall.ECONNRESET)) {
		t.Fatalf("read = %d, %v after %v; want the server to close the connection", n, err, took)
	}
	return took
}

func TestServeMaxConnsClosesTheConnectionBeyond(t *testing.T) {
	t.Parallel()
	s := startServe(t, 1, "--proto", "tcp", "--max-conns", "1", "--log-level", "error")
	first := dial(t, s.tcp)
	echo(t, first, "admitted") // the first is open and counted before the second arrives

	start := time.Now()
	second := dial(t, s.tcp)
	second.SetDeadline(start.Add(time.Second))
	closedWithin(t, second, start)

	echo(t, first, "still served")
}

func TestServeIdleTimeoutClosesAnIdleConnection(t *testing.T) {
	t.Parallel()
	const idle, margin = 300 * time.Millisecond, 250 * time.Millisecond
	s := startServe(t, 1, "--proto", "tcp", "--idle-timeout", idle.String(), "--log-level", "error")
	// Timed from before the dial: the server starts its clock when it
	// accepts, which may come before Dial returns here, and a start taken
	// after Dial could then see the close a little before the timeout.
	start := time.Now()
	c := dial(t, s.tcp)
	c.SetDeadline(start.Add(idle + margin))
	took := closedWithin(t, c, start)
	if took < idle || took >= idle+margin {
		t.Errorf("idle connection closed after %v, want %v to %v", took, idle, idle+margin)
	}
}
