package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"
)

// These tests run the real program in its own process, so that signals,
// exit codes and the ready line are what a script sees. The test binary
// re-executes itself as the program (see TestMain), which needs no
// separate build.

const asMainVar = "TEST_LOOPBACK_AS_MAIN"

// proc is a loopback process started by a test.
type proc struct {
	cmd    *exec.Cmd
	stdout *bufio.Scanner
	logs   chan string // stderr lines
	exited chan error
}

// startProc starts the program with args. It is killed at the end of the
// test, or after cliTimeout, so that a hang ends what the test waits on.
func startProc(t *testing.T, args ...string) *proc {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), cliTimeout)
	t.Cleanup(cancel)
	cmd := exec.CommandContext(ctx, os.Args[0], args...)
	cmd.Env = append(cleanEnv(), asMainVar+"=1")
	// Plain pipes rather than StdoutPipe, so that Wait can run while the
	// test still reads.
	stdout, stdoutW := mustPipe(t)
	stderr, stderrW := mustPipe(t)
	cmd.Stdout, cmd.Stderr = stdoutW, stderrW
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	stdoutW.Close()
	stderrW.Close()
	p := &proc{cmd: cmd, stdout: bufio.NewScanner(stdout), logs: make(chan string, 1000), exited: make(chan error, 1)}
	go func() {
		lines := bufio.NewScanner(stderr)
		for lines.Scan() {
			p.logs <- lines.Text()
		}
		close(p.logs)
	}()
	go func() { p.exited <- cmd.Wait() }()
	t.Cleanup(func() {
		// End only the process this test started, by its PID.
		cmd.Process.Kill()
		<-p.exited
		stdout.Close()
		stderr.Close()
	})
	return p
}

func mustPipe(t *testing.T) (r, w *os.File) {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	return r, w
}

// cleanEnv is the test's environment without LOOPBACK_ settings, which
// would change the program's defaults.
func cleanEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "LOOPBACK_") {
			env = append(env, kv)
		}
	}
	return env
}

// readyLine waits for one line on stdout.
func (p *proc) readyLine(t *testing.T) string {
	t.Helper()
	if !p.stdout.Scan() {
		t.Fatalf("no ready line: %v", p.stdout.Err())
	}
	return p.stdout.Text()
}

// waitLog waits for a log line containing want and returns it.
func (p *proc) waitLog(t *testing.T, want string) string {
	t.Helper()
	timeout := time.After(10 * time.Second)
	for {
		select {
		case l, ok := <-p.logs:
			if !ok {
				t.Fatalf("stderr closed before a line with %s", want)
			}
			if strings.Contains(l, want) {
				return l
			}
		case <-timeout:
			t.Fatalf("no log line with %s", want)
		}
	}
}

// wait waits for the process to exit and returns its exit code.
func (p *proc) wait(t *testing.T) int {
	t.Helper()
	select {
	case err := <-p.exited:
		p.exited <- err // for the cleanup
	case <-time.After(10 * time.Second):
		t.Fatal("process did not exit")
	}
	return p.cmd.ProcessState.ExitCode()
}

func TestFirstSignalDrainsSecondStopsNow(t *testing.T) {
	t.Parallel()
	p := startProc(t, "serve", "--proto", "tcp", "--log-format", "json", "--drain-timeout", "1h")
	url := p.readyLine(t)
	c := dial(t, url)
	echo(t, c, "before")

	p.cmd.Process.Signal(syscall.SIGTERM)
	p.waitLog(t, `"message":"stopping"`)
	echo(t, c, "while draining") // the open connection is still served

	p.cmd.Process.Signal(syscall.SIGTERM)
	// Only the server's close will do, well before the process is killed
	// at cliTimeout: that kill closes the connection too, and a second
	// signal that closed nothing would then show only as a missing
	// summary 30 s later.
	c.SetReadDeadline(time.Now().Add(stopGrace))
	if n, err := c.Read(make([]byte, 1)); n != 0 || !closedByPeer(err) {
		t.Fatalf("after the second signal the connection is still open: read %d, %v", n, err)
	}
	summary := p.waitLog(t, `"message":"stopped"`)
	if code := p.wait(t); code != 0 {
		t.Errorf("exit code %d after signals, want 0", code)
	}
	if !strings.Contains(summary, `"tcp_conns":1`) || !strings.Contains(summary, `"tcp_bytes_in":20`) {
		t.Errorf("summary = %s", summary)
	}
}

// closedByPeer reports whether err is how a read learns that the other
// end closed the connection: EOF, or a reset if it closed with data unread.
func closedByPeer(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, syscall.ECONNRESET)
}

func echo(t *testing.T, c net.Conn, msg string) {
	t.Helper()
	if _, err := c.Write([]byte(msg)); err != nil {
		t.Fatal(err)
	}
	got := make([]byte, len(msg))
	if _, err := io.ReadFull(c, got); err != nil || string(got) != msg {
		t.Fatalf("echo of %q = %q, %v", msg, got, err)
	}
}

func TestDurationStopsByItself(t *testing.T) {
	t.Parallel()
	p := startProc(t, "serve", "--log-format", "json", "--duration", "100ms")
	p.readyLine(t)
	p.readyLine(t)
	line := p.waitLog(t, `"message":"stopping"`)
	if !strings.Contains(line, "--duration elapsed") {
		t.Errorf("stopping event = %s, want the cause --duration elapsed", line)
	}
	if code := p.wait(t); code != 0 {
		t.Errorf("exit code %d, want 0", code)
	}
}

func TestExitCodesOfTheProcess(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		args []string
		want int
	}{
		{[]string{"serve", "--addr", "0.0.0.0:0"}, 2},
		{[]string{"probe", "--count", "x", "tcp://127.0.0.1:7"}, 2},
		{[]string{"probe", "--help"}, 0},
		{[]string{"version"}, 0},
	} {
		p := startProc(t, tt.args...)
		if code := p.wait(t); code != tt.want {
			t.Errorf("%v: exit %d, want %d", tt.args, code, tt.want)
		}
	}
}

// TestPythonClientsTalkToServe is the workshop case: a student's own
// socket code, here python3's, gets its bytes back over TCP and UDP.
func TestPythonClientsTalkToServe(t *testing.T) {
	t.Parallel()
	py, err := exec.LookPath("python3")
	if err != nil {
		t.Skip("python3 not installed: apt-get install python3")
	}
	s := startServe(t, 2)
	script := `
import socket, sys
port = int(sys.argv[1])
t = socket.create_connection(("127.0.0.1", port), timeout=10)
t.sendall(b"hello over tcp\n")
t.shutdown(socket.SHUT_WR)
got = b""
while True:
    b = t.recv(4096)
    if not b: break
    got += b
print(got.decode().strip())
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
u.settimeout(10)
u.sendto(b"hello over udp", ("127.0.0.1", port))
print(u.recvfrom(65535)[0].decode())
`
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, py, "-c", script, fmt.Sprint(s.port)).CombinedOutput()
	if err != nil || string(out) != "hello over tcp\nhello over udp\n" {
		t.Fatalf("python3 client: %v\n%s", err, out)
	}
}
