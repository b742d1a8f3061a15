package main

import (
	"net"
	"regexp"
	"strings"
	"testing"
)

func TestCheckSaysOK(t *testing.T) {
	t.Parallel()
	out, stderr, code := runCLI(t, nil, "--count", "200", "--warmup", "20")
	if code != 0 {
		t.Fatalf("exit %d\n%s%s", code, out, stderr)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if !regexp.MustCompile(`^loopback OK: echo on 127\.0\.0\.1:\d+, 200 round trips of 64 bytes per protocol$`).MatchString(lines[0]) {
		t.Errorf("first line = %q", lines[0])
	}
	if len(lines) != 4 || !strings.Contains(lines[2], "tcp") || !strings.Contains(lines[3], "udp") ||
		!strings.Contains(lines[2], "0/200") || !strings.Contains(lines[3], "0/200") {
		t.Errorf("verdict table:\n%s", out)
	}
}

func TestCheckAllAddsIPv6(t *testing.T) {
	t.Parallel()
	if ln, err := net.Listen("tcp", "[::1]:0"); err != nil {
		t.Skipf("no IPv6 loopback here: %v", err)
	} else {
		ln.Close()
	}
	out, stderr, code := runCLI(t, nil, "check", "--all", "--count", "50", "--warmup", "5")
	if code != 0 {
		t.Fatalf("exit %d\n%s%s", code, out, stderr)
	}
	for _, row := range []string{"tcp ipv4", "udp ipv4", "tcp ipv6", "udp ipv6"} {
		if !strings.Contains(out, row) {
			t.Errorf("check --all lacks a %q row:\n%s", row, out)
		}
	}
	if !strings.Contains(out, " and [::1]:") {
		t.Errorf("first line does not name both servers:\n%s", out)
	}
}

// TestSignalEndsCheckAsFailed: an interrupted self-check fails as the
// probe does, with the JSON of the probe it cut short.
func TestSignalEndsCheckAsFailed(t *testing.T) {
	t.Parallel()
	for _, sig := range signals {
		t.Run(sig.sig.String(), func(t *testing.T) {
			t.Parallel()
			p := startProc(t, "check", "--json", "--count", "1000000000", "--log-level", "debug", "--log-format", "json")
			p.waitLog(t, `"message":"connected"`) // the TCP probe is measuring
			last := lastLog(p)
			p.cmd.Process.Signal(sig.sig)
			checkInterrupted(t, p, last, sig.code, sig.cause, 1)
		})
	}
}
