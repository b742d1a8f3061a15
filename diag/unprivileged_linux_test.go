package diag

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"io"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

var whoPort = flag.Int("diag.who-port", 0, "as TestWhoUnprivileged's child: print Who(port) as JSON and exit")

// TestWhoUnprivileged runs this test binary again as nobody and has it look
// up a root-owned listener: the real permission-denied case, which the fake
// tree can only imitate.
func TestWhoUnprivileged(t *testing.T) {
	if *whoPort != 0 {
		printWho(t, uint16(*whoPort))
		return
	}
	if os.Geteuid() != 0 {
		t.Skip("needs root to start a process as another user")
	}
	t.Parallel()
	var lc net.ListenConfig
	ln, err := lc.Listen(t.Context(), "tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	port := netip.MustParseAddrPort(ln.Addr().String()).Port()

	out, err := runAsNobody(t, linkForNobody(t), "-test.run=^TestWhoUnprivileged$",
		"-diag.who-port="+strconv.Itoa(int(port)))
	if err != nil {
		t.Fatalf("child: %v\n%s", err, out)
	}
	var all, got []Socket
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		if js, ok := strings.CutPrefix(sc.Text(), "WHO "); ok {
			if err := json.Unmarshal([]byte(js), &all); err != nil {
				t.Fatal(err)
			}
		}
	}
	// Connections an earlier user of the port left in TIME_WAIT are not
	// this test's business.
	for _, s := range all {
		if !s.TimeWait() {
			got = append(got, s)
		}
	}
	want := "pid not visible: owned by uid 0 (root); run as that user or root"
	if len(got) != 1 || got[0].PID != 0 || got[0].UID != 0 || got[0].State != "listening" || got[0].Note != want {
		t.Fatalf("Who(%d) as nobody = %+v\nwant one listening socket, uid 0, no pid, note %q\nchild said:\n%s",
			port, got, want, out)
	}
}

func printWho(t *testing.T, port uint16) {
	socks, err := Who(port, System{})
	if err != nil {
		t.Fatal(err)
	}
	js, err := json.Marshal(socks)
	if err != nil {
		t.Fatal(err)
	}
	os.Stdout.WriteString("WHO " + string(js) + "\n")
}

// runAsNobody runs bin as uid and gid 65534. A copied binary can fail
// with ETXTBSY while a parallel test forks with its write fd still open
// (golang/go#22315); that clears by itself, so it retries.
func runAsNobody(t *testing.T, bin string, args ...string) ([]byte, error) {
	for range 10 {
		cmd := exec.CommandContext(t.Context(), bin, args...)
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
		cmd.Dir = filepath.Dir(bin)
		out, err := cmd.CombinedOutput()
		if !errors.Is(err, syscall.ETXTBSY) {
			return out, err
		}
	}
	return nil, syscall.ETXTBSY
}

// linkForNobody puts the test binary where another user can run it: the go
// command builds it in a directory only we may enter. A hard link opens no
// file for writing; a copy is the fallback across file systems.
func linkForNobody(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	for d := dir; d != os.TempDir() && d != "/"; d = filepath.Dir(d) {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	bin := filepath.Join(dir, "diag.test")
	if err := os.Link(os.Args[0], bin); err == nil {
		return bin
	}
	src, err := os.Open(os.Args[0])
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	dst, err := os.OpenFile(bin, os.O_CREATE|os.O_WRONLY, 0o755)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(dst, src); err != nil {
		t.Fatal(err)
	}
	if err := dst.Close(); err != nil {
		t.Fatal(err)
	}
	return bin
}
