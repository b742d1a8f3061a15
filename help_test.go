package main

import (
	"flag"
	"os"
	"path/filepath"
	"testing"
)

var update = flag.Bool("update", false, "rewrite golden files")

// TestHelpGolden compares each command's --help with testdata/CMD.golden;
// go test -run TestHelpGolden -update rewrites them. The help shows the
// defaults in effect, so it runs with an empty environment.
func TestHelpGolden(t *testing.T) {
	t.Parallel()
	for _, cmd := range []string{"help", "check", "serve", "stop", "probe", "explain", "who", "ports"} {
		t.Run(cmd, func(t *testing.T) {
			t.Parallel()
			args := []string{cmd, "--help"}
			if cmd == "help" {
				args = []string{"help"}
			}
			got := help(t, args...)
			path := filepath.Join("testdata", cmd+".golden")
			if *update {
				if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (go test -run TestHelpGolden -update writes it)", err)
			}
			if got != string(want) {
				t.Errorf("%q differs from %s (go test -run TestHelpGolden -update rewrites it):\n%s", args, path, got)
			}
		})
	}
}

// TestEveryWayToAskForHelp: -h and --help, with or without the command,
// give the same help and exit 0.
func TestEveryWayToAskForHelp(t *testing.T) {
	t.Parallel()
	want := help(t, "check", "--help")
	for _, args := range [][]string{{"--help"}, {"-h"}, {"check", "-h"}, {"help"}, {"-help"}} {
		if got := help(t, args...); got != want {
			t.Errorf("%q gave another help than check --help:\n%s", args, got)
		}
	}
}

// help runs the program with args and an empty environment, and returns
// the help it printed, failing unless it exited 0 with nothing on stderr.
func help(t *testing.T, args ...string) string {
	t.Helper()
	out, stderr, code := runCLI(t, []string{}, args...)
	if code != 0 || stderr != "" {
		t.Errorf("%q: exit %d, stderr %q; want exit 0 and nothing on stderr", args, code, stderr)
	}
	return out
}
