package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"slices"
	"strings"
	"time"
)

// serve --detach starts the server as a process of its own, in a session
// of its own, and returns once it is bound: a script gets the ready lines
// and the PID without a coproc, and a bind that fails is an error here,
// with no half-started server left behind. The detached server logs to a
// file (its stdout pipe and stderr would break when this process exits)
// and stops at --duration or at `loopback stop`.

// detachTimeout bounds the wait for a detached server's ready lines.
const detachTimeout = 10 * time.Second

// detach starts serve again without --detach and --env, waits for its
// ready lines, and prints them, or shell assignments with --env.
func detach(ctx context.Context, c serveConfig, args []string, stdout, stderr io.Writer) error {
	exe, err := os.Executable()
	if err != nil {
		return fmt.Errorf("--detach: %w", err)
	}
	logf, err := os.CreateTemp("", "loopback-serve-*.log")
	if err != nil {
		return fmt.Errorf("--detach: log file: %w", err)
	}
	defer logf.Close()
	cmd := exec.Command(exe, append([]string{"serve"}, withoutDetach(args)...)...)
	cmd.Args[0] = os.Args[0] // as the user typed it, for ps and who
	// Later entries win: the child serves, whatever the environment says.
	cmd.Env = append(os.Environ(), "LOOPBACK_LOG_FORMAT=json", "LOOPBACK_SERVE_DETACH=false", "LOOPBACK_SERVE_ENV=false")
	cmd.Stderr = logf
	newSession(cmd)
	out, err := cmd.StdoutPipe()
	if err != nil {
		return fmt.Errorf("--detach: %w", err)
	}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("--detach: %w", err)
	}
	lines, err := readyLines(ctx, out, c.listeners())
	if err != nil {
		// Not bound: wait for it to end, and show why from its log, with
		// its exit status (2 for a refused address, as without --detach).
		cmd.Process.Kill()
		werr := cmd.Wait()
		err = fmt.Errorf("--detach: %w%s", err, lastError(logf.Name()))
		if ee, ok := errors.AsType[*exec.ExitError](werr); ok && ee.ExitCode() > 0 {
			return &exitStatus{code: ee.ExitCode(), err: err}
		}
		return err
	}
	pid := cmd.Process.Pid
	cmd.Process.Release()
	return printDetached(stdout, stderr, lines, pid, logf.Name(), c.Env)
}

// exitStatus is an error that ends the program with a given status: a
// detached server's own, when it failed to start.
type exitStatus struct {
	code int
	err  error
}

func (e *exitStatus) Error() string { return e.err.Error() }
func (e *exitStatus) Unwrap() error { return e.err }

// listeners is how many ready lines serve prints.
func (c serveConfig) listeners() int {
	if c.unix() {
		return boolInt(c.Unix != "") + boolInt(c.Unixgram != "")
	}
	return boolInt(c.Proto.has(protoTCP)) + boolInt(c.Proto.has(protoUDP))
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// withoutDetach drops --detach and --env, in any of the forms the flag
// package takes, so the child serves instead of detaching again.
func withoutDetach(args []string) []string {
	return slices.DeleteFunc(slices.Clone(args), func(a string) bool {
		name, _, _ := strings.Cut(strings.TrimLeft(a, "-"), "=")
		return strings.HasPrefix(a, "-") && (name == "detach" || name == "env")
	})
}

// readyLines reads n ready lines, or fails when the server ends first or
// takes longer than detachTimeout.
func readyLines(ctx context.Context, r io.Reader, n int) ([]string, error) {
	got := make(chan []string, 1)
	go func() {
		var lines []string
		for sc := bufio.NewScanner(r); len(lines) < n && sc.Scan(); {
			lines = append(lines, sc.Text())
		}
		got <- lines
	}()
	select {
	case lines := <-got:
		if len(lines) < n {
			return nil, errors.New("the server stopped before it was bound")
		}
		return lines, nil
	case <-time.After(detachTimeout):
		return nil, fmt.Errorf("the server was not bound within %v", detachTimeout)
	case <-ctx.Done():
		return nil, context.Cause(ctx)
	}
}

// lastError is the error lines a failed server wrote to its log, for the
// message that says why it did not start.
func lastError(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	var errs []string
	for line := range strings.SplitSeq(strings.TrimSpace(string(b)), "\n") {
		if msg, ok := strings.CutPrefix(line, "loopback: "); ok {
			errs = append(errs, msg)
		}
	}
	os.Remove(path)
	if len(errs) == 0 {
		return ""
	}
	return ": " + strings.Join(errs, "; ")
}

// printDetached prints the ready lines and the PID, or with --env shell
// assignments for eval.
func printDetached(stdout, stderr io.Writer, lines []string, pid int, logPath string, env bool) error {
	var b strings.Builder
	if env {
		for _, l := range lines {
			scheme, rest, _ := strings.Cut(l, "://")
			fmt.Fprintf(&b, "LOOPBACK_%s=%s\n", strings.ToUpper(scheme), shellQuote(l))
			if i := strings.LastIndexByte(rest, ':'); i >= 0 && !strings.HasPrefix(scheme, "unix") {
				fmt.Fprintf(&b, "LOOPBACK_PORT=%s\n", rest[i+1:])
			}
		}
		fmt.Fprintf(&b, "LOOPBACK_PID=%d\nLOOPBACK_LOG=%s\n", pid, shellQuote(logPath))
	} else {
		for _, l := range lines {
			b.WriteString(l + "\n")
		}
		fmt.Fprintf(&b, "pid %d\n", pid)
	}
	fmt.Fprintf(stderr, "loopback: serving in the background as pid %d, logging to %s; stop it with: loopback stop %d\n", pid, logPath, pid)
	_, err := io.WriteString(stdout, dedupe(b.String()))
	return err
}

// dedupe keeps the first of repeated lines (one port for TCP and UDP).
func dedupe(s string) string {
	var out []string
	for line := range strings.SplitSeq(strings.TrimSuffix(s, "\n"), "\n") {
		if !slices.Contains(out, line) {
			out = append(out, line)
		}
	}
	return strings.Join(out, "\n") + "\n"
}

// shellQuote quotes s for a POSIX shell if it needs it.
func shellQuote(s string) string {
	if strings.IndexFunc(s, func(r rune) bool {
		return !(r == '/' || r == ':' || r == '.' || r == '-' || r == '_' || r == '@' || r == '[' || r == ']' ||
			r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z')
	}) < 0 {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
