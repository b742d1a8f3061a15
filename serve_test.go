package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/loopback-dev/loopback/config"
)

func TestServeAnnouncesOnePortForBothAndStopsCleanly(t *testing.T) {
	t.Parallel()
	portFile := filepath.Join(t.TempDir(), "port")
	s := startServe(t, 2, "--port-file", portFile)
	if want := fmt.Sprintf("tcp://127.0.0.1:%d", s.port); s.tcp != want {
		t.Errorf("tcp ready line = %q, want %q", s.tcp, want)
	}
	if want := fmt.Sprintf("udp://127.0.0.1:%d", s.port); s.udp != want {
		t.Errorf("udp ready line = %q, want %q", s.udp, want)
	}
	got, err := os.ReadFile(portFile)
	if err != nil || string(got) != fmt.Sprintf("%d\n", s.port) {
		t.Errorf("port file = %q, %v; want %q", got, err, fmt.Sprintf("%d\n", s.port))
	}
	for _, url := range []string{s.tcp, s.udp} {
		if out, errs, code := runCLI(t, nil, "probe", url, "--count", "20", "--log-level", "error"); code != 0 {
			t.Errorf("probe %s: exit %d\n%s%s", url, code, out, errs)
		}
	}
	if err := s.shutdown(t); err != nil {
		t.Fatalf("serve returned %v after a stop", err)
	}
	logs := s.stderr.String()
	for _, want := range []string{`"message":"listening"`, `"message":"stopping"`, `"message":"stopped"`, `"udp_datagrams":30`} {
		if !strings.Contains(logs, want) {
			t.Errorf("log lacks %s:\n%s", want, logs)
		}
	}
	if _, err := os.Stat(portFile); !os.IsNotExist(err) {
		t.Errorf("port file left behind after the stop: %v", err)
	}
}

func TestServeOneProtocolAndIPv6(t *testing.T) {
	t.Parallel()
	s := startServe(t, 1, "--proto", "udp")
	if s.tcp != "" || !strings.HasPrefix(s.udp, "udp://127.0.0.1:") {
		t.Errorf("--proto udp announced %q %q", s.tcp, s.udp)
	}
	if ln, err := net.Listen("tcp", "[::1]:0"); err != nil {
		t.Logf("no IPv6 loopback here, skipping [::1]: %v", err)
		return
	} else {
		ln.Close()
	}
	s6 := startServe(t, 1, "--addr", "[::1]:0", "--proto", "tcp")
	if !strings.HasPrefix(s6.tcp, "tcp://[::1]:") {
		t.Errorf("--addr [::1]:0 announced %q", s6.tcp)
	}
	if out, errs, code := runCLI(t, nil, "probe", s6.tcp, "--count", "5"); code != 0 {
		t.Errorf("probe %s: exit %d\n%s%s", s6.tcp, code, out, errs)
	}
}

func TestServeRefusesNonLoopbackWithExit2(t *testing.T) {
	t.Parallel()
	for _, addr := range []string{"0.0.0.0:0", "[::]:0", "192.0.2.1:0"} {
		_, stderr, code := runCLI(t, nil, "serve", "--addr", addr)
		if code != 2 || !strings.Contains(stderr, "not a loopback address") ||
			!strings.Contains(stderr, "--allow-remote") || strings.Count(stderr, "\n") != 1 {
			t.Errorf("serve --addr %s: exit %d, stderr %q; want exit 2 and one line naming --allow-remote", addr, code, stderr)
		}
	}
}

func TestServeDefaults(t *testing.T) {
	t.Parallel()
	c, err := loadServe(nil, nil, &bytes.Buffer{}, &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	if c.Addr.String() != "127.0.0.1:0" || c.Proto != protoBoth || c.IdleTimeout != 5*time.Minute || c.DrainTimeout != 5*time.Second ||
		c.Log.Format != config.FormatAuto || c.Log.Level.String() != "info" || c.AllowRemote || c.Loops != 0 {
		t.Errorf("defaults = %+v", c)
	}
}

func TestServeEnvironmentAndFlags(t *testing.T) {
	t.Parallel()
	c, err := loadServe(
		[]string{"--addr", "[::1]:7007", "--allow-remote", "--log-level", "DEBUG"},
		[]string{"LOOPBACK_SERVE_PROTO=udp", "LOOPBACK_SERVE_MAX_CONNS=12", "LOOPBACK_SERVE_PORT_FILE=/tmp/p", "LOOPBACK_LOG_FORMAT=json"},
		&bytes.Buffer{}, &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	if c.Addr != (config.HostPort{Host: "::1", Port: 7007}) || c.Proto != protoUDP || c.MaxConns != 12 || c.PortFile != "/tmp/p" ||
		!c.AllowRemote || c.Log.Level.String() != "debug" || c.Log.Format != config.FormatJSON {
		t.Errorf("got %+v", c)
	}
}

func TestServeBadValuesNameTheirSource(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		args    []string
		environ []string
		want    string
	}{
		{"env duration", nil, []string{"LOOPBACK_SERVE_IDLE_TIMEOUT=abc"}, `LOOPBACK_SERVE_IDLE_TIMEOUT: "abc" is not a duration (e.g. 30s`},
		{"old env duration", nil, []string{"LOOPBACK_IDLE_TIMEOUT=abc"}, `LOOPBACK_IDLE_TIMEOUT: "abc" is not a duration (e.g. 30s`},
		{"flag duration", []string{"--idle-timeout", "abc"}, nil, `--idle-timeout: "abc" is not a duration (e.g. 30s`},
		{"negative duration", []string{"--drain-timeout=-1s"}, nil, `--drain-timeout: "-1s" must not be negative`},
		{"port too big", []string{"--addr", "127.0.0.1:70000"}, nil, `--addr: "127.0.0.1:70000": port "70000" is not a number from 0 to 65535`},
		{"no port", nil, []string{"LOOPBACK_SERVE_ADDR=127.0.0.1"}, `LOOPBACK_SERVE_ADDR: "127.0.0.1" is not host:port`},
		{"negative count", []string{"--max-conns", "-3"}, nil, `--max-conns: "-3" is not a whole number of 0 or more`},
		{"too many loops", []string{"--loops", "1000"}, nil, `--loops: 1000 event loops; give 1 to 256, or 0 for one per two CPUs`},
		{"too many loops from env", nil, []string{"LOOPBACK_SERVE_LOOPS=1000"}, `LOOPBACK_SERVE_LOOPS: 1000 event loops`},
		{"proto", nil, []string{"LOOPBACK_SERVE_PROTO=sctp"}, `LOOPBACK_SERVE_PROTO: "sctp" is not a protocol (tcp, udp or both)`},
		{"level", []string{"--log-level", "loud"}, nil, `--log-level: "loud" is not a log level (trace, debug, info, warn or error)`},
		{"bool", nil, []string{"LOOPBACK_SERVE_ALLOW_REMOTE=perhaps"}, `LOOPBACK_SERVE_ALLOW_REMOTE: "perhaps" is not true or false`},
		{"port file in a missing directory", []string{"--port-file", "/nonexistent/dir/port"}, nil, `--port-file: "/nonexistent/dir/port": directory /nonexistent/dir does not exist`},
		{"min source port", []string{"--udp-min-source-port", "0"}, nil, `--udp-min-source-port: 0 is not a port; give 1 to 65535`},
		{"unknown flag", []string{"--colour"}, nil, `flag provided but not defined: -colour (see 'loopback serve --help')`},
		{"stray argument", []string{"127.0.0.1:7"}, nil, `serve takes no arguments, got "127.0.0.1:7" (did you mean --addr 127.0.0.1:7?)`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := loadServe(tt.args, tt.environ, &bytes.Buffer{}, &bytes.Buffer{})
			if _, ok := errors.AsType[*config.UsageError](err); !ok {
				t.Fatalf("err = %v (%T), want a *config.UsageError", err, err)
			}
			if !strings.HasPrefix(err.Error(), tt.want) || strings.Contains(err.Error(), "\n") {
				t.Errorf("err = %q, want one line starting %q", err, tt.want)
			}
		})
	}
}

func TestServeListsEveryProblemAtOnce(t *testing.T) {
	t.Parallel()
	_, err := loadServe([]string{"extra", "--loops", "300"}, nil, &bytes.Buffer{}, &bytes.Buffer{})
	want := "serve takes no arguments, got \"extra\" (did you mean --addr extra?)\n--loops: 300 event loops; give 1 to 256, or 0 for one per two CPUs"
	if err == nil || err.Error() != want {
		t.Errorf("err = %v, want\n%s", err, want)
	}
}

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
		"proto": "both", "allow_remote": false, "port_file": portFile,
		"max_conns": 7.0, "idle_timeout_ms": 300.0, "duration_ms": 3600000.0, "drain_timeout_ms": 2000.0,
		"log_level": "debug", "log_format": "json", "engine": "goroutines", "loops": 0.0,
	}
	if a, _ := got["addr"].(map[string]any); a["ip"] != "127.0.0.1" || a["port"] != 0.0 {
		t.Errorf("listening event has addr = %v, want {ip 127.0.0.1, port 0}", got["addr"])
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
	for _, flag := range regexp.MustCompile(`(?m)^  (?:-\w, )?--([a-z-]+)`).FindAllStringSubmatch(help, -1) {
		if flag[1] == "help" || flag[1] == "version" {
			continue // not settings of the server
		}
		// A duration's key carries its unit, a rate's too; an unset one
		// is there as null.
		key := strings.ReplaceAll(flag[1], "-", "_")
		_, plain := got[key]
		_, millis := got[key+"_ms"]
		_, rate := got[key+"_bytes_per_s"]
		if !plain && !millis && !rate {
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
