// Command loopback puts an echo server on 127.0.0.1 in one command and
// measures round trips through the machine's loopback stack.
package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"strings"
	"syscall"
	"time"

	"github.com/mattn/go-isatty"
	"github.com/rs/zerolog"

	"github.com/loopback-dev/loopback/config"
	"github.com/loopback-dev/loopback/server"
)

func main() {
	ctx, force := notifyTwice(os.Interrupt, syscall.SIGTERM)
	err := run(ctx, force, os.Args[1:], os.Environ(), os.Stdout, os.Stderr)
	printErr(os.Stderr, err)
	os.Exit(exitCode(err))
}

// printErr shows the error that ends the program as one line per problem.
func printErr(w io.Writer, err error) {
	if err == nil || errors.Is(err, config.ErrHelp) {
		return
	}
	for line := range strings.SplitSeq(err.Error(), "\n") {
		fmt.Fprintf(w, "loopback: %s\n", line)
	}
}

// notifyTwice returns a context done at the first of the signals (stop
// gracefully) and one done at the second (stop now).
func notifyTwice(sigs ...os.Signal) (graceful, force context.Context) {
	ch := make(chan os.Signal, 2)
	signal.Notify(ch, sigs...)
	graceful, stop := context.WithCancelCause(context.Background())
	force, stopNow := context.WithCancelCause(context.Background())
	go func() {
		s := <-ch
		stop(signalError{s})
		s = <-ch
		stopNow(fmt.Errorf("second %v signal received", s))
	}()
	return graceful, force
}

// signalError is the cause of the context a signal ended. A command that
// fails because of it (a probe cut short) exits 128 + the signal's number,
// as a shell reports a process the signal killed: 130 for SIGINT, 143 for
// SIGTERM, so that `probe ... && deploy` stops at Ctrl-C.
type signalError struct{ sig os.Signal }

func (e signalError) Error() string { return fmt.Sprintf("%v signal received", e.sig) }

// run is the whole program with the operating system passed in, so tests
// can drive it: ctx ends at the first signal, force at the second. -V or
// --version after any command prints the version.
func run(ctx, force context.Context, args, environ []string, stdout, stderr io.Writer) error {
	err := runCommand(ctx, force, args, environ, stdout, stderr)
	if errors.Is(err, config.ErrVersion) {
		return printVersion(stdout)
	}
	return err
}

// runCommand runs the command args name, or check when args start with a
// flag or are empty.
func runCommand(ctx, force context.Context, args, environ []string, stdout, stderr io.Writer) error {
	cmd, rest := "check", args
	if len(args) > 0 && (args[0] == "" || args[0][0] != '-') {
		cmd, rest = args[0], args[1:]
	}
	switch cmd {
	case "check":
		return runCheck(ctx, rest, environ, stdout, stderr)
	case "serve":
		return runServe(ctx, force, rest, environ, stdout, stderr)
	case "probe":
		return runProbe(ctx, rest, environ, stdout, stderr)
	case "explain":
		return runExplain(ctx, rest, environ, stdout, stderr)
	case "who":
		return runWho(rest, environ, stdout, stderr)
	case "ports":
		return runPorts(rest, environ, stdout, stderr)
	case "stop":
		return runStop(rest, environ, stdout, stderr)
	case "version":
		return runVersion(rest, environ, stdout, stderr)
	case "completion":
		return runCompletion(rest, environ, stdout, stderr)
	case "help":
		return runHelp(ctx, force, rest, environ, stdout, stderr)
	}
	return unknownCommand(cmd)
}

// exitCode maps an error to the exit status: 0 for success and for help, 2
// for a usage error (as the flag package does), 128 + n for a failure that
// signal n caused, 1 for anything else.
func exitCode(err error) int {
	if st, ok := errors.AsType[*exitStatus](err); ok {
		return st.code
	}
	sig, signalled := errors.AsType[signalError](err)
	n, numbered := sig.sig.(syscall.Signal)
	switch {
	case err == nil, errors.Is(err, config.ErrHelp):
		return 0
	case errors.As(err, new(*config.UsageError)), errors.Is(err, server.ErrNotLoopback):
		return 2
	case signalled && numbered:
		return 128 + int(n)
	}
	return 1
}

// newLogger writes human-readable lines on a terminal and JSON elsewhere,
// unless the user chose.
func newLogger(w io.Writer, c config.Log) zerolog.Logger {
	format := c.Format
	if format == config.FormatAuto {
		format = config.FormatJSON
		if isTerminal(w) {
			format = config.FormatConsole
		}
	}
	if format == config.FormatConsole {
		w = zerolog.ConsoleWriter{Out: w, TimeFormat: "15:04:05.000", NoColor: !isTerminal(w)}
	}
	level := c.Level.Level
	if c.Quiet {
		level = max(level, zerolog.WarnLevel)
	}
	return zerolog.New(w).Level(level).Hook(timestamp{})
}

// timestamp stamps each event with sub-second precision. zerolog's own
// Timestamp() takes its layout from a package global (whole seconds by
// default), and we set no globals; at loopback speeds whole seconds say
// little.
type timestamp struct{}

func (timestamp) Run(e *zerolog.Event, _ zerolog.Level, _ string) {
	e.Str(zerolog.TimestampFieldName, time.Now().Format(time.RFC3339Nano))
}

// isTerminal reports whether w is a terminal. It asks the terminal driver
// (isatty) rather than checking for a character device, the standard
// library's way: /dev/null is a character device too, and output thrown
// away there (2>/dev/null, cron, hyperfine) would otherwise pay for a
// console log writer and, in a probe, a live status line that nobody sees:
// a reporter goroutine and more histograms, a real part of a one-round-trip
// probe's run.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && (isatty.IsTerminal(f.Fd()) || isatty.IsCygwinTerminal(f.Fd()))
}

// buildVersion is the version a build stamps in with
// -ldflags "-X main.buildVersion=1.2.3", as the Dockerfile does: a build
// without .git (a container's build context) has no version of its own.
var buildVersion string

// version names the build's version (buildVersion, else the module's) and,
// for a build from a checkout, the commit it was built from.
func version() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "loopback " + cmp.Or(buildVersion, "(unknown version)")
	}
	v := "loopback " + cmp.Or(buildVersion, bi.Main.Version)
	for _, s := range bi.Settings {
		if s.Key == "vcs.revision" {
			v += " " + s.Value
		}
	}
	return v + " " + bi.GoVersion
}
