//go:build unix

package probe

import (
	"bufio"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// socatReady matches the line socat -d -d prints once it listens, such as
// "... N listening on AF=2 127.0.0.1:36911" (UDP: "on UDP AF=2 ...").
var socatReady = regexp.MustCompile(`listening on (?:UDP )?AF=2 127\.0\.0\.1:(\d+)`)

// startSocat starts socat as an echo server on 127.0.0.1 and returns its
// address, learnt from its ready line. socat forks a child per peer, so it
// runs in its own process group, which the cleanup ends.
func startSocat(t *testing.T, network string) Target {
	t.Helper()
	path, err := exec.LookPath("socat")
	if err != nil {
		t.Skip("socat not installed: apt-get install socat")
	}
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	listen := strings.ToUpper(network) + "-LISTEN:0,bind=127.0.0.1,fork,reuseaddr"
	cmd := exec.Command(path, "-d", "-d", listen, "PIPE")
	cmd.Stderr = w
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	err = cmd.Start()
	w.Close()
	if err != nil {
		r.Close()
		t.Fatal(err)
	}
	ports, drained := make(chan uint16, 1), make(chan struct{})
	go readSocatLog(t, r, ports, drained)
	t.Cleanup(func() {
		syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
		cmd.Wait()
		<-drained // EOF once socat and its children are gone
		r.Close()
	})
	select {
	case port, ok := <-ports:
		if !ok {
			t.Fatal("socat exited before listening")
		}
		return Target{Network: network, Host: "127.0.0.1", Port: port}
	case <-time.After(10 * time.Second):
		t.Fatal("socat printed no ready line in 10s")
	}
	return Target{}
}

// readSocatLog sends the port from socat's ready line, closes ports at EOF,
// and logs socat's other lines.
func readSocatLog(t *testing.T, r *os.File, ports chan<- uint16, drained chan<- struct{}) {
	defer close(drained)
	defer close(ports)
	sent := false
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		m := socatReady.FindStringSubmatch(sc.Text())
		if m == nil || sent {
			continue
		}
		if port, err := strconv.ParseUint(m[1], 10, 16); err == nil {
			ports <- uint16(port)
			sent = true
		}
	}
}

func TestRunSocat(t *testing.T) {
	t.Parallel()
	for _, network := range []string{"tcp", "udp"} {
		t.Run(network, func(t *testing.T) {
			t.Parallel()
			target := startSocat(t, network)
			r, err := Run(t.Context(), target, Options{Count: 100, Warmup: 3, Size: 512, Timeout: 5 * time.Second})
			if err != nil {
				t.Fatalf("Run: %v", err)
			}
			if r.Received != 100 || r.Lost != 0 || r.Corrupt != 0 || !r.OK() {
				t.Fatalf("received %d lost %d corrupt %d aborted %q; want 100 intact", r.Received, r.Lost, r.Corrupt, r.Aborted)
			}
			checkOrdered(t, r)
		})
	}
}
