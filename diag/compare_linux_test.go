package diag

import (
	"bytes"
	"errors"
	"fmt"
	"net/netip"
	"os/exec"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// These tests hold Who and Ports to the tools people already trust, for
// the listeners the test itself opened.

// ours formats the sockets diag found on the test's ports as "tcp
// 127.0.0.1:41234 pid=1234", one entry per holding process.
func ours(t *testing.T, listeners []bound, listeningOnly bool) []string {
	t.Helper()
	var out []string
	for _, b := range listeners {
		socks, err := Who(b.addr.Port(), System{})
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range socks {
			if s.PID == 0 || listeningOnly && !s.Listening() || family(s.Proto) != family(b.proto) {
				continue // ss and lsof show only sockets held by a file
			}
			name := s.Local.String()
			if s.Remote.Port() != 0 {
				name += "->" + s.Remote.String()
			}
			for _, pid := range append([]int{s.PID}, s.OtherPIDs...) {
				if ourPID(listeners, pid) {
					out = append(out, fmt.Sprintf("%s %s pid=%d", family(s.Proto), name, pid))
				}
			}
		}
	}
	slices.Sort(out)
	if len(out) < len(listeners) {
		t.Fatalf("diag found %d sockets for %d listeners:\n%s", len(out), len(listeners), strings.Join(out, "\n"))
	}
	return slices.Compact(out)
}

// family is "tcp" or "udp", as ss's Netid and lsof's protocol say.
func family(proto string) string { return strings.TrimSuffix(proto, "6") }

// ourPID reports whether pid is one of the processes that opened
// listeners. Another is a child that a parallel test is starting: between
// fork and exec it holds every fd of this process, close-on-exec or not,
// and a scan (diag's, ss's or lsof's) may catch it then.
func ourPID(listeners []bound, pid int) bool {
	return slices.ContainsFunc(listeners, func(b bound) bool { return b.pid == pid })
}

// ourPort reports whether a socket of proto on port is one of listeners'.
func ourPort(listeners []bound, proto string, port uint16) bool {
	return slices.ContainsFunc(listeners, func(b bound) bool {
		return family(b.proto) == proto && b.addr.Port() == port
	})
}

// run runs a tool, skipping the test when it isn't installed.
func run(t *testing.T, name string, args ...string) []byte {
	t.Helper()
	if _, err := exec.LookPath(name); err != nil {
		t.Skipf("%s not installed", name)
	}
	out, err := exec.CommandContext(t.Context(), name, args...).Output()
	// lsof exits 1 when it finds nothing; the comparison reports that.
	if ee, ok := errors.AsType[*exec.ExitError](err); err != nil && !(ok && ee.ExitCode() == 1) {
		t.Fatalf("%s %s: %v", name, strings.Join(args, " "), err)
	}
	return out
}

func testListeners(t *testing.T) []bound {
	return append(listenSelf(t), startSocat(t, "tcp", "TCP4-LISTEN:0,bind=127.0.0.1,fork"),
		startSocat(t, "udp6", "UDP6-LISTEN:0,bind=[::1]"))
}

func TestMatchesSS(t *testing.T) {
	t.Parallel()
	listeners := testListeners(t)
	out := run(t, "ss", "-tulpnH")
	var got []string
	pids := regexp.MustCompile(`pid=(\d+)`)
	for line := range strings.Lines(string(out)) {
		// Netid State Recv-Q Send-Q Local Peer Process
		f := strings.Fields(line)
		if len(f) < 7 {
			continue
		}
		local, err := netip.ParseAddrPort(f[4])
		if err != nil || !ourPort(listeners, f[0], local.Port()) {
			continue
		}
		for _, m := range pids.FindAllStringSubmatch(f[6], -1) {
			if pid, _ := strconv.Atoi(m[1]); ourPID(listeners, pid) {
				got = append(got, fmt.Sprintf("%s %s pid=%s", f[0], local, m[1]))
			}
		}
	}
	slices.Sort(got)
	if want := ours(t, listeners, true); !slices.Equal(slices.Compact(got), want) {
		t.Errorf("ss -tulpn says\n%s\ndiag says\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestMatchesLsof(t *testing.T) {
	t.Parallel()
	listeners := testListeners(t)
	args := []string{"-nP", "-F", "pPn"}
	for _, b := range listeners {
		args = append(args, fmt.Sprintf("-i%s:%d", strings.ToUpper(family(b.proto)), b.addr.Port()))
	}
	var got []string
	var pid, proto string
	for line := range bytes.Lines(run(t, "lsof", args...)) {
		line = bytes.TrimSpace(line)
		if len(line) == 0 {
			continue
		}
		switch v := string(line[1:]); line[0] {
		case 'p':
			pid = v
		case 'P':
			proto = strings.ToLower(v)
		case 'n':
			// lsof -i :PORT also matches sockets whose remote port it is.
			local, _, _ := strings.Cut(v, "->")
			ap, err := netip.ParseAddrPort(local)
			n, _ := strconv.Atoi(pid)
			if err == nil && ourPort(listeners, proto, ap.Port()) && ourPID(listeners, n) {
				got = append(got, fmt.Sprintf("%s %s pid=%s", proto, v, pid))
			}
		}
	}
	slices.Sort(got)
	if want := ours(t, listeners, false); !slices.Equal(slices.Compact(got), want) {
		t.Errorf("lsof -i says\n%s\ndiag says\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
