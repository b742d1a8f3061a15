package main

import (
	"fmt"
	"io"
	"strings"

	"github.com/loopback-dev/loopback/config"
)

// The completion scripts are written from config.Flags, the flags each
// command's Load parses, so a flag that is added, renamed or given a short
// name is completed as soon as it is accepted. They are static: a TAB runs
// no loopback process.

const completionSynopsis = `usage: loopback completion bash|zsh|fish

Prints a script that completes loopback's commands, flags and the values
that a flag takes from a short list (--proto, --log-level, ...):
  bash  source <(loopback completion bash)
  zsh   loopback completion zsh > "${fpath[1]}/_loopback"  (or, after compinit: source <(loopback completion zsh))
  fish  loopback completion fish > ~/.config/fish/completions/loopback.fish`

// shells are the shells completion writes a script for.
var shells = []string{"bash", "zsh", "fish"}

// runCompletion is `loopback completion SHELL`.
func runCompletion(args, environ []string, stdout, stderr io.Writer) error {
	l, err := config.Load("completion", completionSynopsis, noSettings(), args, environ, stdout, stderr)
	if err != nil {
		return err
	}
	if len(l.Args) != 1 {
		return config.Usagef("completion takes one shell: bash, zsh or fish (see 'loopback completion --help')")
	}
	write := map[string]func(io.Writer, []completed) error{"bash": writeBash, "zsh": writeZsh, "fish": writeFish}[l.Args[0]]
	if write == nil {
		return config.Usagef("completion: %q is not a shell it knows; give bash, zsh or fish", l.Args[0])
	}
	if err := write(stdout, completedCommands()); err != nil {
		return fmt.Errorf("write completion script: %w", err)
	}
	return nil
}

// completed is a command as a completion script sees it.
type completed struct {
	command
	flags []config.FlagDef
}

func completedCommands() []completed {
	var out []completed
	for _, c := range commands() {
		out = append(out, completed{c, config.Flags(c.settings())})
	}
	return out
}

// isPath reports whether a flag's value is a file name, which the shell
// completes from the file system.
func isPath(f config.FlagDef) bool { return f.Arg == "path" }

// summary is a flag's help made short enough for a menu: without its
// asides in parentheses, up to the first semicolon or example.
func summary(help string) string {
	var b strings.Builder
	depth := 0
	for _, r := range help {
		switch {
		case r == '(':
			depth++
		case r == ')' && depth > 0:
			depth--
		case depth == 0:
			b.WriteRune(r)
		}
	}
	s := strings.Join(strings.Fields(b.String()), " ")
	for _, sep := range []string{";", ", e.g."} {
		s, _, _ = strings.Cut(s, sep)
	}
	return strings.ReplaceAll(strings.TrimSpace(s), " ,", ",")
}

// sq quotes s for a POSIX shell (bash, zsh): inside single quotes nothing
// is special but the quote itself.
func sq(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

// spellings are a flag's names as typed: -c and --count, whichever it has.
func spellings(f config.FlagDef) []string {
	var out []string
	if f.Short != "" {
		out = append(out, "-"+f.Short)
	}
	if f.Long != "" {
		out = append(out, "--"+f.Long)
	}
	return out
}
