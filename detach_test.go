//go:build linux

package main

import (
	"bytes"
	"context"
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// runMain runs the program in a process of its own and returns what a
// script sees.
func runMain(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), cliTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], args...)
	cmd.Env = append(cleanEnv(), asMainVar+"=1")
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	if ee, ok := errors.AsType[*exec.ExitError](err); ok {
		return out.String(), errb.String(), ee.ExitCode()
	}
	if err != nil {
		t.Fatal(err)
	}
	return out.String(), errb.String(), 0
}

// alive reports whether a process with this PID exists (and is no zombie).
func alive(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return syscall.Kill(pid, 0) == nil
	}
	_, rest, _ := strings.Cut(string(b), ") ")
	return !strings.HasPrefix(rest, "Z")
}

// TestDetachStartStop: a script's whole life of a background listener:
// start it, use it, stop it, and nothing is left behind.
func TestDetachStartStop(t *testing.T) {
	t.Parallel()
	portFile := filepath.Join(t.TempDir(), "port")
	out, stderr, code := runMain(t, "serve", "--detach", "--env", "--port-file", portFile)
	if code != 0 {
		t.Fatalf("serve --detach: exit %d\n%s%s", code, out, stderr)
	}
	vars := map[string]string{}
	for line := range strings.SplitSeq(strings.TrimSpace(out), "\n") {
		k, v, _ := strings.Cut(line, "=")
		vars[k] = v
	}
	pid, _ := strconv.Atoi(vars["LOOPBACK_PID"])
	if pid <= 0 || vars["LOOPBACK_PORT"] == "" || vars["LOOPBACK_TCP"] != "tcp://127.0.0.1:"+vars["LOOPBACK_PORT"] {
		t.Fatalf("--env printed %q; want LOOPBACK_TCP, LOOPBACK_UDP, LOOPBACK_PORT and LOOPBACK_PID", out)
	}
	t.Cleanup(func() {
		if alive(pid) {
			syscall.Kill(pid, syscall.SIGKILL) // the server this test started, by its PID
		}
	})
	// Bound before serve --detach returned: connect at once.
	c, err := net.DialTimeout("tcp", "127.0.0.1:"+vars["LOOPBACK_PORT"], 5*time.Second)
	if err != nil {
		t.Fatalf("the detached server is not listening: %v", err)
	}
	c.Close()
	if b, err := os.ReadFile(portFile); err != nil || strings.TrimSpace(string(b)) != vars["LOOPBACK_PORT"] {
		t.Errorf("port file = %q, %v; want %s", b, err, vars["LOOPBACK_PORT"])
	}
	if out, stderr, code := runMain(t, "stop", "--port-file", portFile); code != 0 {
		t.Fatalf("stop: exit %d\n%s%s", code, out, stderr)
	}
	if alive(pid) {
		t.Errorf("pid %d still runs after stop returned", pid)
	}
	if _, err := os.Stat(portFile); !os.IsNotExist(err) {
		t.Errorf("the port file outlived the server: %v", err)
	}
}

// TestDetachBindFailureLeavesNothing: a port in use is an error from serve
// --detach itself, and no server is left running.
func TestDetachBindFailureLeavesNothing(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	addr := ln.Addr().String()
	_, stderr, code := runMain(t, "serve", "--detach", "--proto", "tcp", "--addr", addr)
	if code != 1 || !strings.Contains(stderr, "address already in use") {
		t.Errorf("serve --detach on a taken port: exit %d, %q; want exit 1 naming the bind error", code, stderr)
	}
	if pids := servesOn(addr); len(pids) > 0 {
		t.Errorf("processes %v still serve --addr %s after the failure", pids, addr)
	}
}

// servesOn lists the processes whose arguments are a serve on addr.
func servesOn(addr string) []int {
	dirs, _ := os.ReadDir("/proc")
	var pids []int
	for _, d := range dirs {
		pid, err := strconv.Atoi(d.Name())
		if err != nil {
			continue
		}
		b, _ := os.ReadFile("/proc/" + d.Name() + "/cmdline")
		if strings.Contains(string(b), "serve\x00") && strings.Contains(string(b), addr) && alive(pid) {
			pids = append(pids, pid)
		}
	}
	return pids
}

func TestStopRefusesOtherProcesses(t *testing.T) {
	t.Parallel()
	_, stderr, code := runCLI(t, nil, "stop", strconv.Itoa(os.Getppid()))
	if code != 1 || !strings.Contains(stderr, "not a loopback serve") {
		t.Errorf("stop of a non-serve process: exit %d, %q", code, stderr)
	}
}
