package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/loopback-dev/loopback/config"
	"github.com/loopback-dev/loopback/diag"
)

// stopConfig is what `loopback stop` reads.
type stopConfig struct {
	PortFile string        `env:"PORT_FILE" arg:"path" help:"stop the server whose port this file holds, and remove the file"`
	Timeout  time.Duration `env:"TIMEOUT" envDefault:"10s" help:"how long the server may take to drain and stop"`
	pid      int
}

const stopSynopsis = `usage: loopback stop [flags] PID
       loopback stop --port-file FILE

Stops a server that loopback serve --detach started: sends it SIGTERM (it
drains, as at Ctrl-C), waits until it has exited, and removes its port file.
Only a loopback serve process is stopped: any other PID is refused.`

func loadStop(args, environ []string, stdout, stderr io.Writer) (stopConfig, error) {
	var c stopConfig
	l, err := config.Load("stop", stopSynopsis, &c, args, environ, stdout, stderr)
	if err != nil {
		return c, err
	}
	switch {
	case len(l.Args) == 1 && c.PortFile == "":
		n, err := strconv.Atoi(l.Args[0])
		if err != nil || n <= 0 {
			return c, config.Usagef("stop: %q is not a PID: give the number serve --detach printed", l.Args[0])
		}
		c.pid = n
	case len(l.Args) == 0 && c.PortFile != "":
	default:
		return c, config.Usagef("stop takes a PID or --port-file FILE, one of them")
	}
	return c, nil
}

// runStop is `loopback stop`.
func runStop(args, environ []string, stdout, stderr io.Writer) error {
	c, err := loadStop(args, environ, stdout, stderr)
	if err != nil {
		return err
	}
	pid := c.pid
	if c.PortFile != "" {
		if pid, err = pidOfPortFile(c.PortFile); err != nil {
			return err
		}
	}
	if err := isServe(pid); err != nil {
		return err
	}
	if err := terminate(pid, c.Timeout); err != nil {
		return err
	}
	if c.PortFile != "" {
		os.Remove(c.PortFile) // the server removes it itself; this is for one that could not
	}
	fmt.Fprintf(stdout, "stopped %d\n", pid)
	return nil
}

// pidOfPortFile finds the process listening on the port the file holds.
func pidOfPortFile(path string) (int, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, fmt.Errorf("--port-file: %w", err)
	}
	port, err := strconv.ParseUint(strings.TrimSpace(string(b)), 10, 16)
	if err != nil || port == 0 {
		return 0, fmt.Errorf("--port-file %s holds %q, not a port", path, b)
	}
	socks, err := diag.Who(uint16(port), diag.System{})
	if err != nil {
		return 0, err
	}
	for _, s := range socks {
		if s.Listening() && s.PID > 0 {
			return s.PID, nil
		}
	}
	return 0, fmt.Errorf("nothing listens on port %d any more (from %s); the server has stopped", port, path)
}

// isServe refuses any process but a loopback serve: stop ends only what
// serve --detach started.
func isServe(pid int) error {
	argv, err := cmdline(pid)
	if errors.Is(err, errors.ErrUnsupported) {
		return nil // no /proc to ask: trust the PID the user gave
	}
	if err != nil {
		return fmt.Errorf("pid %d: no such process", pid)
	}
	if len(argv) < 2 || !strings.HasPrefix(filepath.Base(argv[0]), "loopback") || !slices.Contains(argv[1:], "serve") {
		return fmt.Errorf("pid %d is %q, not a loopback serve: not stopping it", pid, strings.Join(argv, " "))
	}
	return nil
}

// cmdline is a process's arguments, from /proc.
func cmdline(pid int) ([]string, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if errors.Is(err, os.ErrNotExist) {
		if _, serr := os.Stat("/proc/self/cmdline"); serr != nil {
			return nil, errors.ErrUnsupported
		}
	}
	if err != nil {
		return nil, err
	}
	return strings.Split(strings.TrimRight(string(b), "\x00"), "\x00"), nil
}

// terminate sends SIGTERM and waits until the process has gone.
func terminate(pid int, timeout time.Duration) error {
	p, err := os.FindProcess(pid)
	if err != nil {
		return fmt.Errorf("pid %d: %w", pid, err)
	}
	if err := p.Signal(syscall.SIGTERM); err != nil {
		return fmt.Errorf("pid %d: %w", pid, err)
	}
	if !waitGone(pid, timeout) {
		return fmt.Errorf("pid %d is still running %v after SIGTERM; kill -9 %d ends it at once", pid, timeout, pid)
	}
	return nil
}
