package server

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rs/zerolog"
)

// TestDrainAfterEMFILEDoesNotSpin: a stop that arrives while accepting is
// paused after EMFILE must not leave the engine polling without sleeping
// for the rest of the drain. The child server runs out of descriptors with
// connections waiting, is stopped, and drains for a second with a
// connection open; its CPU time over that second must stay small (a spin
// takes the better part of a core).
func TestDrainAfterEMFILEDoesNotSpin(t *testing.T) {
	t.Parallel()
	for _, e := range engines() {
		t.Run(string(e), func(t *testing.T) {
			t.Parallel()
			cpu, wall := drainAfterEMFILE(t, e)
			if share := cpu.Seconds() / wall.Seconds(); share > 0.25 {
				t.Errorf("drain took %v of CPU in %v (%.0f%% of a core); want a sleeping wait", cpu, wall, 100*share)
			}
		})
	}
}

// drainAfterEMFILE runs the child, connects until it logs an accept
// failure, stops it, and returns the CPU and wall time of its drain.
func drainAfterEMFILE(t *testing.T, e Engine) (cpu, wall time.Duration) {
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), emfileVar+"="+string(e))
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	stderr, _ := cmd.StderrPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Wait()
	out := bufio.NewScanner(stdout)
	if !out.Scan() {
		t.Fatal("the child server printed no address")
	}
	var conns []net.Conn
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	for range 4 { // more than the child has descriptors left for
		c, err := net.DialTimeout("tcp", out.Text(), 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
	}
	logs := bufio.NewScanner(stderr)
	for logs.Scan() && !strings.Contains(logs.Text(), "accept failed") {
	}
	go io.Copy(io.Discard, stderr)
	stdin.Close() // the stop
	if !out.Scan() {
		t.Fatalf("the child server reported no drain: %v", out.Err())
	}
	if _, err := fmt.Sscanf(out.Text(), "drain %d %d", &cpu, &wall); err != nil {
		t.Fatalf("child said %q: %v", out.Text(), err)
	}
	return cpu, wall
}

// emfileChild is the child's side: serve with the engine named in
// emfileVar and a descriptor limit just above what is open, print the
// address, stop when stdin closes, and print the drain's CPU and wall time.
func emfileChild(engine string) {
	s := &TCP{Engine: Engine(engine), DrainTimeout: time.Second, Log: zerolog.New(os.Stderr)}
	l, err := Listen(context.Background(), loopback4, true, false)
	if err != nil {
		panic(err)
	}
	addr := l.TCP.Addr().String()
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx, l.TCP) }()
	// One connection served proves the engine has opened all it needs.
	c, err := net.Dial("tcp", addr)
	if err != nil {
		panic(err)
	}
	c.Write([]byte("x"))
	c.Read(make([]byte, 1))
	fds, _ := os.ReadDir("/proc/self/fd")
	lim := syscall.Rlimit{Cur: uint64(len(fds) + 1), Max: ^uint64(0)}
	syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim)
	lim.Cur = uint64(len(fds) + 1)
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		panic(err)
	}
	fmt.Println(addr)
	io.Copy(io.Discard, os.Stdin)
	before, start := cpuTime(), time.Now()
	stop()
	if err := <-done; err != nil {
		panic(err)
	}
	fmt.Printf("drain %d %d\n", cpuTime()-before, time.Since(start))
}

// cpuTime is the CPU time this process has used, user and system.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
