package main

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/loopback-dev/loopback/config"
)

// command is one of the program's commands, as the help, the message about
// an unknown command and shell completion list it; run dispatches them.
type command struct {
	name, summary string
	settings      func() any // a new settings struct, as its run function loads
	words         []string   // what its argument may be, when it is one of a few words
}

// commands lists every command run knows, in the order of the help.
func commands() []command {
	cmds := []command{
		{"check", "check this machine's loopback stack (the default)", func() any { return new(checkConfig) }, nil},
		{"serve", "TCP and UDP echo server on 127.0.0.1", func() any { return new(serveConfig) }, nil},
		{"stop", "stop a server that serve --detach started", func() any { return new(stopConfig) }, nil},
		{"probe", "measure round trips to an echo server", func() any { return new(probeConfig) }, nil},
		{"explain", "what an address and port mean here, and who is on it", func() any { return new(explainConfig) }, nil},
		{"who", "which process holds a port", func() any { return new(whoConfig) }, nil},
		{"ports", "every socket listening on loopback", func() any { return new(portsConfig) }, nil},
		{"version", "print the version", noSettings, nil},
		{"help", "show a command's help", noSettings, nil},
		{"completion", "print a shell completion script", noSettings, shells},
	}
	// help takes the name of a command: any in this list.
	help := slices.IndexFunc(cmds, func(c command) bool { return c.name == "help" })
	cmds[help].words = names(cmds)
	return cmds
}

// names lists the commands' names.
func names(cmds []command) []string {
	var out []string
	for _, c := range cmds {
		out = append(out, c.name)
	}
	return out
}

func noSettings() any { return new(struct{}) }

// unknownCommand is the usage error for a command run does not know.
func unknownCommand(name string) error {
	all := names(commands())
	last := len(all) - 1
	return config.Usagef("unknown command %q: the commands are %s and %s (see 'loopback --help')",
		name, strings.Join(all[:last], ", "), all[last])
}

const helpSynopsis = `usage: loopback help [COMMAND]

Prints COMMAND's help, the same as loopback COMMAND --help; with no COMMAND,
the program's own.`

// runHelp is `loopback help [COMMAND]`.
func runHelp(ctx, force context.Context, args, environ []string, stdout, stderr io.Writer) error {
	l, err := config.Load("help", helpSynopsis, noSettings(), args, environ, stdout, stderr)
	if err != nil {
		return err
	}
	switch {
	case len(l.Args) == 0:
		return runCommand(ctx, force, []string{"--help"}, environ, stdout, stderr)
	case len(l.Args) > 1:
		return config.Usagef("help takes one command, got %q (see 'loopback help --help')", strings.Join(l.Args, " "))
	case !slices.ContainsFunc(commands(), func(c command) bool { return c.name == l.Args[0] }):
		return unknownCommand(l.Args[0])
	}
	return runCommand(ctx, force, []string{l.Args[0], "--help"}, environ, stdout, stderr)
}

const versionSynopsis = `usage: loopback version

Prints the version, as -V or --version does after any command.`

// runVersion is `loopback version`.
func runVersion(args, environ []string, stdout, stderr io.Writer) error {
	l, err := config.Load("version", versionSynopsis, noSettings(), args, environ, stdout, stderr)
	if err != nil {
		return err
	}
	if len(l.Args) > 0 {
		return config.Usagef("version takes no arguments, got %q", l.Args[0])
	}
	return printVersion(stdout)
}

func printVersion(w io.Writer) error {
	if _, err := fmt.Fprintln(w, version()); err != nil {
		return fmt.Errorf("print version: %w", err)
	}
	return nil
}
