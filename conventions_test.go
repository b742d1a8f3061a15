package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"
)

// The conventions people type without reading the help: -V and --version
// anywhere, short flags, serve --port and :8080, help CMD.

func TestVersionAnywhere(t *testing.T) {
	t.Parallel()
	want := version() + "\n"
	for _, args := range [][]string{
		{"--version"}, {"-V"}, {"version"}, {"serve", "-V"}, {"serve", "--proto", "udp", "--version"},
		{"probe", "--version"}, {"probe", "tcp://127.0.0.1:7", "-c", "3", "-V"}, {"check", "-V"},
		{"explain", "-V"}, {"who", "--version"}, {"ports", "-V"}, {"completion", "-V"}, {"help", "-V"}, {"help", "serve", "-V"},
		{"-c", "many", "-V"}, // beside a bad value, the version is still what was asked for
	} {
		out, stderr, code := runCLI(t, []string{}, args...)
		if out != want || stderr != "" || code != 0 {
			t.Errorf("%q: exit %d, stdout %q, stderr %q; want exit 0 and %q", args, code, out, stderr, want)
		}
	}
}

// TestUnknownFlagNamesTheHelpTheUserCanType: with no command, a mistake
// points at loopback --help, not at a check command the user never typed.
func TestUnknownFlagNamesTheHelpTheUserCanType(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"--colour"}, "(see 'loopback --help')"},
		{[]string{"check", "--colour"}, "(see 'loopback --help')"}, // check's help is the program's
		{[]string{"serve", "--colour"}, "(see 'loopback serve --help')"},
		{[]string{"completion", "--colour"}, "(see 'loopback completion --help')"},
	} {
		_, stderr, code := runCLI(t, []string{}, tt.args...)
		if code != 2 || !strings.HasSuffix(stderr, tt.want+"\n") {
			t.Errorf("%q: exit %d, stderr %q; want exit 2 and %s", tt.args, code, stderr, tt.want)
		}
	}
}

// TestShortFlagsAreTheLongOnes loads each command with its short flags and
// with the long ones they stand for, and compares the settings.
func TestShortFlagsAreTheLongOnes(t *testing.T) {
	t.Parallel()
	load := map[string]func([]string) (any, error){
		"serve": func(a []string) (any, error) { return loadServe(a, nil, io.Discard, io.Discard) },
		"probe": func(a []string) (any, error) {
			return loadProbe(append([]string{"tcp://127.0.0.1:7"}, a...), nil, io.Discard, io.Discard)
		},
		"check":   func(a []string) (any, error) { return loadCheck(a, nil, io.Discard, io.Discard) },
		"explain": func(a []string) (any, error) { return loadExplain(append(a, ":7"), nil, io.Discard, io.Discard) },
		"who":     func(a []string) (any, error) { return loadWho(append(a, "7"), nil, io.Discard, io.Discard) },
		"ports":   func(a []string) (any, error) { return loadPorts(a, nil, io.Discard, io.Discard) },
	}
	tests := []struct{ cmd, short, long string }{
		{"serve", "-p 8080 -d 1s -q -v", "--port 8080 --duration 1s --quiet --log-level debug"},
		{"probe", "-c 5 -d 1s -j -q -v", "--count 5 --duration 1s --json --quiet --log-level debug"},
		{"check", "-c 5 -j -q -v", "--count 5 --json --quiet --log-level debug"},
		{"explain", "-j", "--json"},
		{"who", "-j", "--json"},
		{"ports", "-j", "--json"},
	}
	for _, tt := range tests {
		short, err := load[tt.cmd](strings.Fields(tt.short))
		if err != nil {
			t.Fatalf("%s %s: %v", tt.cmd, tt.short, err)
		}
		long, err := load[tt.cmd](strings.Fields(tt.long))
		if err != nil {
			t.Fatalf("%s %s: %v", tt.cmd, tt.long, err)
		}
		if !reflect.DeepEqual(short, long) {
			t.Errorf("%s %s gave\n%+v\n%s gave\n%+v", tt.cmd, tt.short, short, tt.long, long)
		}
		if reflect.DeepEqual(short, must(load[tt.cmd](nil))) {
			t.Errorf("%s %s changed nothing", tt.cmd, tt.short)
		}
	}
}

func must(v any, err error) any {
	if err != nil {
		panic(err)
	}
	return v
}

// TestHelpShowsShortFlags: each short flag is in its command's help, on
// the row of the long one.
func TestHelpShowsShortFlags(t *testing.T) {
	t.Parallel()
	rows := map[string][]string{
		"serve":   {"-p, --port port", "-d, --duration duration", "-q, --quiet", "-v "},
		"probe":   {"-c, --count n", "-d, --duration duration", "-j, --json", "-q, --quiet", "-v "},
		"check":   {"-c, --count n", "-j, --json", "-q, --quiet", "-v "},
		"explain": {"-j, --json"},
		"who":     {"-j, --json"},
		"ports":   {"-j, --json"},
	}
	for cmd, want := range rows {
		got := help(t, cmd, "--help")
		for _, row := range append(want, "-V, --version", "-h, --help") {
			if !strings.Contains(got, "\n  "+row) {
				t.Errorf("%s --help has no row %q:\n%s", cmd, row, got)
			}
		}
	}
}

func TestQuietCheckPrintsTheVerdictLine(t *testing.T) {
	t.Parallel()
	out, stderr, code := runCLI(t, nil, "check", "-q", "-c", "20", "--warmup", "0")
	if code != 0 || stderr != "" || !regexp.MustCompile(`^loopback OK: echo on 127\.0\.0\.1:\d+, 20 round trips of 64 bytes per protocol\n$`).MatchString(out) {
		t.Errorf("check -q: exit %d, stdout %q, stderr %q; want exit 0 and the verdict line alone", code, out, stderr)
	}
}

func TestQuietProbePrintsTheVerdictLine(t *testing.T) {
	t.Parallel()
	s := startServe(t, 2)
	out, stderr, code := runCLI(t, nil, "probe", s.udp, "-q", "-c", "20", "--warmup", "0", "--report-every", "1ms")
	re := `^probe OK: ` + regexp.QuoteMeta(s.udp) + `, 20 of 20 round trips back intact, rtt p50 [0-9.]+ µs, p99 [0-9.]+ µs\n$`
	if code != 0 || stderr != "" || !regexp.MustCompile(re).MatchString(out) {
		t.Errorf("probe -q: exit %d, stdout %q, stderr %q; want exit 0 and one line matching %s", code, out, stderr, re)
	}
	// JSON is what a script asked for: -q leaves it whole.
	out, _, code = runCLI(t, nil, "probe", s.tcp, "-q", "-j", "-c", "5")
	var doc map[string]any
	if err := json.Unmarshal([]byte(out), &doc); code != 0 || err != nil || doc["sent"] == nil {
		t.Errorf("probe -q -j: exit %d, %v, stdout %q; want the JSON report", code, err, out)
	}
}

// TestQuietServePrintsOnlyTheReadyLines: no info events, from the start to
// the summary.
func TestQuietServePrintsOnlyTheReadyLines(t *testing.T) {
	t.Parallel()
	s := startServe(t, 2, "-q")
	if err := s.shutdown(t); err != nil {
		t.Fatal(err)
	}
	if logs := s.stderr.String(); logs != "" {
		t.Errorf("serve -q logged:\n%s", logs)
	}
}

func TestServePortAndAddr(t *testing.T) {
	t.Parallel()
	tests := []struct {
		args, environ []string
		want          string // the address, or the error
	}{
		{[]string{"-p", "8080"}, nil, "127.0.0.1:8080"},
		{[]string{"--port", "8080", "--addr", "[::1]:0"}, nil, "[::1]:8080"},
		{[]string{"--addr", ":8080"}, nil, "127.0.0.1:8080"},
		{nil, []string{"LOOPBACK_SERVE_PORT=9"}, "127.0.0.1:9"},
		{[]string{"-p", "9"}, []string{"LOOPBACK_SERVE_ADDR=127.0.0.1:7007"}, "127.0.0.1:9"},
		{[]string{"--addr", "127.0.0.1:7007"}, []string{"LOOPBACK_SERVE_PORT=9"}, "127.0.0.1:7007"},
		{[]string{"-p", "1", "--addr", "127.0.0.1:5"}, nil, "-p 1 and --addr 127.0.0.1:5 both give the port to listen on; give one of them"},
		{nil, []string{"LOOPBACK_SERVE_PORT=1", "LOOPBACK_SERVE_ADDR=:5"}, "LOOPBACK_SERVE_PORT=1 and LOOPBACK_SERVE_ADDR=127.0.0.1:5 both give the port to listen on; give one of them"},
		{[]string{"8080"}, nil, `serve takes no arguments, got "8080" (did you mean --port 8080?)`},
		{[]string{"--addr", "8080"}, nil, `--addr: "8080" is a port alone; give :8080 for port 8080 on 127.0.0.1`},
		{[]string{"-p", "65536"}, nil, `-p: "65536" is not a port: give a number from 0 to 65535`},
	}
	for _, tt := range tests {
		c, err := loadServe(tt.args, tt.environ, io.Discard, io.Discard)
		got := c.Addr.String()
		if err != nil {
			got = err.Error()
		}
		if got != tt.want {
			t.Errorf("%q %q: %s, want %s", tt.environ, tt.args, got, tt.want)
		}
	}
	// And served: the kernel's pick, on the default loopback address.
	for _, args := range [][]string{{"--addr", ":0"}, {"-p", "0"}} {
		if s := startServe(t, 2, args...); !strings.HasPrefix(s.tcp, "tcp://127.0.0.1:") {
			t.Errorf("serve %q announced %q", args, s.tcp)
		}
	}
}

// TestHelpCommandIsDashHelp: help CMD and CMD --help print the same, for
// every command; help alone is the program's help.
func TestHelpCommandIsDashHelp(t *testing.T) {
	t.Parallel()
	for _, c := range commands() {
		if got, want := help(t, "help", c.name), help(t, c.name, "--help"); got != want {
			t.Errorf("help %s differs from %s --help:\n%s", c.name, c.name, got)
		}
	}
	if got, top := help(t, "help"), help(t, "--help"); got != top {
		t.Errorf("help alone differs from --help:\n%s", got)
	}
	for _, args := range [][]string{{"help", "frobnicate"}, {"help", "serve", "probe"}} {
		if _, stderr, code := runCLI(t, []string{}, args...); code != 2 || stderr == "" {
			t.Errorf("%q: exit %d, stderr %q; want exit 2 and why", args, code, stderr)
		}
	}
}

// TestBuildVersionFromLdflags builds the program as the Dockerfile does,
// with the version passed in, and asks it for its version. It is not
// parallel: the build takes every CPU for a second, and the parallel tests
// wait while it runs rather than have their schedules stall behind it.
func TestBuildVersionFromLdflags(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the program with the go command")
	}
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Skipf("no go command: %v", err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Minute)
	defer cancel()
	bin := filepath.Join(t.TempDir(), "loopback")
	build := exec.CommandContext(ctx, gobin, "build", "-trimpath", "-ldflags", "-X main.buildVersion=1.2.3", "-o", bin, ".")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	for _, args := range [][]string{{"--version"}, {"version"}, {"serve", "-V"}} {
		ctx, cancel := context.WithTimeout(t.Context(), cliTimeout)
		cmd := exec.CommandContext(ctx, bin, args...)
		cmd.Env = cleanEnv()
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		cancel()
		if err != nil || !strings.HasPrefix(string(out), "loopback 1.2.3 ") || stderr.Len() > 0 {
			t.Errorf("%q: %v, stdout %q, stderr %q; want loopback 1.2.3 ...", args, err, out, &stderr)
		}
	}
}

// TestDockerfilePassesTheVersion: the image is built with the version the
// build argument gives, the variable TestBuildVersionFromLdflags sets.
func TestDockerfilePassesTheVersion(t *testing.T) {
	t.Parallel()
	b, err := os.ReadFile("Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"ARG VERSION=dev", "-X main.buildVersion=${VERSION}"} {
		if !strings.Contains(string(b), want) {
			t.Errorf("Dockerfile lacks %q", want)
		}
	}
}
