package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// completionScript writes `loopback completion SHELL` to a file and
// returns its path.
func completionScript(t *testing.T, shell string) string {
	t.Helper()
	out, stderr, code := runCLI(t, []string{}, "completion", shell)
	if code != 0 || stderr != "" {
		t.Fatalf("completion %s: exit %d, stderr %q", shell, code, stderr)
	}
	path := filepath.Join(t.TempDir(), "loopback."+shell)
	if err := os.WriteFile(path, []byte(out), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// shellRun runs a script in a real shell, with the test binary standing in
// for loopback (see TestMain) for a script that runs it.
func shellRun(t *testing.T, shell string, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), cliTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, shell, args...)
	cmd.Env = append(cleanEnv(), asMainVar+"=1")
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// bashComplete is what bash offers when TAB is pressed after words, the
// last of which is the word being completed (as bash splits them: a
// --flag=value is three words, the flag, "=" and the value).
func bashComplete(t *testing.T, script string, words ...string) []string {
	t.Helper()
	const body = `source "$1" || exit 1
COMP_WORDS=("${@:3}"); COMP_CWORD=$2; COMPREPLY=()
_loopback
printf '%s\n' "${COMPREPLY[@]}"`
	args := append([]string{"-c", body, "bash", script, strconv.Itoa(len(words) - 1)}, words...)
	out, err := shellRun(t, "bash", args...)
	if err != nil {
		t.Fatalf("bash: %v\n%s", err, out)
	}
	return strings.Fields(out)
}

func TestBashCompletion(t *testing.T) {
	t.Parallel()
	if _, err := exec.LookPath("bash"); err != nil {
		t.Skipf("no bash here: %v", err)
	}
	script := completionScript(t, "bash")
	tests := []struct {
		words []string
		want  []string // exactly, or at least these when some is true
		some  bool
	}{
		{[]string{"loopback", "serve", "--pr"}, []string{"--proto"}, false},
		{[]string{"loopback", "serve", "--proto", ""}, []string{"tcp", "udp", "both"}, false},
		{[]string{"loopback", "serve", "--proto", "="}, []string{"tcp", "udp", "both"}, false},
		{[]string{"loopback", "serve", "--proto", "=", "u"}, []string{"udp"}, false},
		{[]string{"loopback", "serve", "-p", ""}, nil, false}, // a port: nothing to offer
		{[]string{"loopback", "se"}, []string{"serve"}, false},
		{[]string{"loopback", "probe", "-"}, []string{"-c", "--count", "-d", "-j", "-q", "-v", "-V", "-h"}, true},
		{[]string{"loopback", "--js"}, []string{"--json"}, false}, // no command: check's flags
		{[]string{"loopback", "probe", "--log-level", "w"}, []string{"warn"}, false},
		{[]string{"loopback", "help", "pr"}, []string{"probe"}, false},
		{[]string{"loopback", "completion", ""}, []string{"bash", "zsh", "fish"}, false},
	}
	for _, tt := range tests {
		got := bashComplete(t, script, tt.words...)
		ok := slices.Equal(got, tt.want)
		if tt.some {
			ok = !slices.ContainsFunc(tt.want, func(w string) bool { return !slices.Contains(got, w) })
		}
		if !ok {
			t.Errorf("%q: bash offers %q, want %q", tt.words, got, tt.want)
		}
	}
}

// TestBashSourcesTheCompletionOfTheRealCommand is the line a user puts in
// .bashrc, with the program run as its own process.
func TestBashSourcesTheCompletionOfTheRealCommand(t *testing.T) {
	t.Parallel()
	if _, err := exec.LookPath("bash"); err != nil {
		t.Skipf("no bash here: %v", err)
	}
	out, err := shellRun(t, "bash", "-c", `source <("$1" completion bash) && complete -p loopback`, "bash", os.Args[0])
	if err != nil || out != "complete -F _loopback loopback\n" {
		t.Errorf("bash: %v, output %q; want the completion registered", err, out)
	}
}

// TestZshAndFishScriptsParse: their syntax, where the shell is installed.
func TestZshAndFishScriptsParse(t *testing.T) {
	t.Parallel()
	for _, shell := range []string{"zsh", "fish"} {
		t.Run(shell, func(t *testing.T) {
			t.Parallel()
			if _, err := exec.LookPath(shell); err != nil {
				t.Skipf("%s is not installed, so its script's syntax is not checked: %v", shell, err)
			}
			if out, err := shellRun(t, shell, "-n", completionScript(t, shell)); err != nil {
				t.Errorf("%s -n: %v\n%s", shell, err, out)
			}
		})
	}
}

// TestCompletionOffersEveryFlag: each command's scripts name each of its
// flags, long and short, as the help does.
func TestCompletionOffersEveryFlag(t *testing.T) {
	t.Parallel()
	scripts := map[string]string{}
	for _, shell := range shells {
		out, _, code := runCLI(t, []string{}, "completion", shell)
		if code != 0 {
			t.Fatalf("completion %s: exit %d", shell, code)
		}
		scripts[shell] = out
	}
	for _, c := range completedCommands() {
		for _, f := range c.flags {
			for shell, script := range scripts {
				for _, name := range spellings(f) {
					if shell == "fish" { // complete -s c -l count
						name = map[bool]string{true: "-l ", false: "-s "}[strings.HasPrefix(name, "--")] + strings.TrimLeft(name, "-")
					}
					if !strings.Contains(script, name) {
						t.Errorf("%s script lacks %s of %s", shell, name, c.name)
					}
				}
			}
		}
	}
}

func TestCompletionRefusesOtherShells(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{{"completion"}, {"completion", "tcsh"}, {"completion", "bash", "zsh"}} {
		if _, stderr, code := runCLI(t, []string{}, args...); code != 2 || !strings.Contains(stderr, "bash, zsh or fish") {
			t.Errorf("%q: exit %d, stderr %q; want exit 2 naming the shells", args, code, stderr)
		}
	}
}

// TestFishCompletion asks fish itself what it would offer, where fish is
// installed.
func TestFishCompletion(t *testing.T) {
	t.Parallel()
	if _, err := exec.LookPath("fish"); err != nil {
		t.Skipf("fish is not installed, so its completion is not run: %v", err)
	}
	script := completionScript(t, "fish")
	for line, want := range map[string][]string{
		"loopback serve --pr":          {"--proto"},
		"loopback serve --proto ":      {"both", "tcp", "udp"},
		"loopback --js":                {"--json"},
		"loopback completion ":         {"bash", "fish", "zsh"},
		"loopback probe --log-level w": {"warn"},
	} {
		out, err := shellRun(t, "fish", "-c", "source "+fq(script)+"; complete -C "+fq(line))
		var got []string
		for l := range strings.Lines(out) {
			got = append(got, strings.Fields(l)[0])
		}
		if err != nil || !slices.Equal(got, want) {
			t.Errorf("fish offers %q after %q (%v), want %q", got, line, err, want)
		}
	}
}
