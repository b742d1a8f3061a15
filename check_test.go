package main

import (
	"net"
	"net/netip"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/loopback-dev/loopback/probe"
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

// TestCheckAllAddsIPv6AndUnix: --all measures every transport side by
// side, each served in this process.
func TestCheckAllAddsIPv6AndUnix(t *testing.T) {
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
	lines := strings.Split(strings.TrimSpace(out), "\n")
	for i, row := range []string{"tcp ipv4", "udp ipv4", "tcp ipv6", "udp ipv6", "unix", "unixgram"} {
		if len(lines) < i+3 || !regexp.MustCompile(`^ *`+row+` .* 0/50 +0$`).MatchString(lines[i+2]) {
			t.Errorf("check --all lacks the %q row, measured and intact, in place %d:\n%s", row, i+1, out)
		}
	}
	if !regexp.MustCompile(`^ *unix +[0-9.]+ µs `).MatchString(lines[len(lines)-2]) {
		t.Errorf("the Unix stream row has no connect time:\n%s", out)
	}
	if !strings.Contains(lines[0], ", [::1]:") || !strings.Contains(lines[0], " and Unix sockets,") {
		t.Errorf("first line does not name every server:\n%s", out)
	}
}

// TestCheckNotesWhatItCouldNotMeasure: a transport this system lacks is
// a note under the table, not a failure of loopback.
func TestCheckNotesWhatItCouldNotMeasure(t *testing.T) {
	t.Parallel()
	r := probe.NewResult(probe.Target{Network: "tcp", Host: "127.0.0.1", Port: 7}, probe.Options{Size: 64})
	r.Addr = netip.MustParseAddrPort("127.0.0.1:7")
	r.Sent, r.Received, r.Dist = 1, 1, probe.NewDist(20*time.Microsecond)
	var b strings.Builder
	if err := writeVerdict(&b, []*probe.Result{r}, []string{"unixgram not measured: not supported"}, false); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(b.String()), "\n")
	if !strings.HasPrefix(lines[0], "loopback OK: echo on 127.0.0.1:7,") || lines[len(lines)-1] != "note: unixgram not measured: not supported" {
		t.Errorf("verdict:\n%s", b.String())
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
