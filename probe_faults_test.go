package main

import (
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestProbeNamesEachFault: against each of serve's faults on a stream, the
// probe's report names what happened, in its text and by the code of its
// JSON error, instead of a generic close or timeout (or a corrupt reply).
func TestProbeNamesEachFault(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		serve []string // serve's flags, TCP only unless they say
		probe []string
		code  string
		text  string // the reason, after "stopped early: "
	}{
		{"reset", []string{"--reset-after", "1000"}, nil, "reset",
			`reset: the server reset the connection \(RST\) after 5 round trips; 1000 bytes had come back`},
		{"closed early", []string{"--close-after", "1000"}, nil, "closed",
			`closed early: the server closed the connection \(FIN\) mid-reply \(40 of 64 bytes\) after 5 round trips; 1000 bytes had come back`},
		// A megabyte, where the server stopped reading after a kilobyte:
		// the request cannot be taken whole.
		{"stalled", []string{"--stall-after", "1000"}, []string{"--size", "1048576", "--warmup", "0", "--timeout", "300ms"}, "stalled",
			`stalled: the server stopped reading: request 1 (could not be sent within 300ms \(\d+ of 1048576 bytes went\)|went out, and 300ms later \d+ of its 1048576 bytes still waited in the socket buffers( \(\d+ of 1048576 bytes of the reply came back\))?)`},
		// A Unix stream's writer holds what it wrote until the server takes
		// it: the write itself cannot finish.
		{"stalled on a unix socket", []string{"--stall-after", "1000", "--unix", "SOCKET"}, []string{"--size", "1048576", "--warmup", "0", "--timeout", "300ms"}, "stalled",
			`stalled: the server stopped reading: request 1 could not be sent within 300ms \(\d+ of 1048576 bytes went\)`},
		{"no reply", []string{"--no-reply"}, []string{"--timeout", "300ms"}, "no_reply",
			`nothing came back: is it an echo server\? \(warm-up request 1 sent, no reply within 300ms\)`},
		{"no reply over udp", []string{"--no-reply", "--proto", "udp"}, []string{"--timeout", "300ms"}, "no_reply",
			`nothing came back: is it an echo server\? \(\d+ datagrams sent, none answered within 300ms\)`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			serve := append([]string{"--proto", "tcp"}, tt.serve...)
			for i, a := range serve {
				if a == "SOCKET" {
					serve[i] = filepath.Join(t.TempDir(), "echo.sock")
				}
			}
			s := startServe(t, 1, serve...)
			url := s.tcp + s.udp + s.unix
			args := append([]string{url, "--count", "50"}, tt.probe...)
			text := regexp.MustCompile(tt.text + "$")

			got := probeJSON(t, args...)
			e, _ := got["error"].(map[string]any)
			msg, _ := e["message"].(string)
			if got["ok"] != false || e["code"] != tt.code || !text.MatchString(msg) {
				t.Errorf("JSON ok %v, error %v; want code %s and a message ending %q", got["ok"], e, tt.code, tt.text)
			}
			out, stderr, code := runCLI(t, nil, append([]string{"probe", "--log-level", "error"}, args...)...)
			line := regexp.MustCompile(`(?m)^stopped early: (.*)$`).FindStringSubmatch(out)
			if code != 1 || line == nil || !text.MatchString(line[1]) || !strings.Contains(stderr, line[1]) {
				t.Errorf("exit %d, report:\n%s\nstderr: %s\nwant exit 1 and the reason %q in both", code, out, stderr, tt.text)
			}
		})
	}
}
