// Package config is how a subcommand reads its settings: from the defaults
// in a settings struct's tags, then the environment, then flags, each
// winning over the one before. The struct, its help text and what its
// values may be together belong to the command; this package only reads
// them, lists them in the help and words the errors.
//
// A field takes part when it has an env tag and a help tag:
//
//	Duration time.Duration `env:"DURATION" envDefault:"0" deprecated:"LOOPBACK_DURATION" help:"stop after this long"`
//
// For the command serve its variable is LOOPBACK_SERVE_DURATION: each
// command has its own, because the same word means different things to
// different commands. A field tagged shared:"true" (the log settings) has
// one variable for every command, LOOPBACK_<KEY>. A deprecated tag names the
// variable the setting was read from before; it is still read, with a
// warning, when the new one is not set. The flag is the key in lower case
// with dashes (--duration) unless a flag tag names it; an arg tag says what
// the value looks like in the help. A short tag gives the flag a one-letter
// name too (short:"c" for -c, --count); short:"v=debug" instead makes -v a
// flag of its own that takes no value and sets this one to debug. Every
// command also takes -V/--version and -h/--help.
package config

import (
	"cmp"
	"errors"
	"flag"
	"fmt"
	"io"
	"reflect"
	"text/tabwriter"
	"time"
)

// Prefix starts the name of every environment variable the program reads.
const Prefix = "LOOPBACK_"

// Log is how a subcommand logs. Its variables are the same for every
// command: one log setting in a shell profile should cover them all.
type Log struct {
	Level  Level     `env:"LOG_LEVEL" shared:"true" envDefault:"info" short:"v=debug" arg:"level" help:"least severe log event written: trace, debug, info, warn, error"`
	Format LogFormat `env:"LOG_FORMAT" shared:"true" envDefault:"auto" arg:"format" help:"log format on stderr: auto (console on a terminal, else json), console, json"`
	Quiet  bool      `env:"QUIET" shared:"true" envDefault:"false" short:"q" help:"print only the ready lines (serve) or one verdict line (check, probe; --json is unchanged), and log only warnings and errors"`
}

// ErrHelp is returned when the user asked for -h or --help; the usage has
// been written and the program should exit 0.
var ErrHelp = flag.ErrHelp

// ErrVersion is returned when the user asked for -V or --version, with any
// command: the program should print its version and exit 0.
var ErrVersion = errors.New("version requested")

// UsageError is a bad flag, variable or argument: the program exits 2.
// Several of them are returned joined (errors.Join), one line each.
type UsageError struct{ Msg string }

func (e *UsageError) Error() string { return e.Msg }

// Usagef formats a UsageError.
func Usagef(format string, a ...any) error {
	return &UsageError{Msg: fmt.Sprintf(format, a...)}
}

// Source is where a setting's value came from.
type Source int

// The sources, from weakest to strongest: a flag wins over the
// environment, which wins over the default.
const (
	Default       Source = iota // the envDefault tag
	Env                         // the command's own variable (or a shared one)
	DeprecatedEnv               // the variable the setting had before, read for one more release
	Flag                        // a flag on the command line
)

var sourceNames = [...]string{Default: "default", Env: "environment", DeprecatedEnv: "deprecated variable", Flag: "flag"}

func (s Source) String() string { return sourceNames[s] }

// Loaded is what Load found besides the values themselves: the positional
// arguments, and where each value came from.
type Loaded struct {
	Args []string // positional arguments, in order
	list []*setting
}

// Source says where the setting in the named field got its value. The name
// is the Go field's, with a dot after a nested struct's ("Output",
// "Log.Level"): a name, not a pointer to the field, so that it also answers
// for a copy of the struct.
func (l Loaded) Source(field string) Source { return l.find(field).source }

// Name names the setting in the named field the way the user set it, for a
// message that points at what to change: the flag if one was given, else
// the variable that was read, else the flag with "(default)".
func (l Loaded) Name(field string) string {
	s := l.find(field)
	if s.source == Default {
		return "--" + s.flag + " (default)"
	}
	return s.from
}

func (l Loaded) find(field string) *setting {
	for _, s := range l.list {
		if s.field == field {
			return s
		}
	}
	// Only a caller's mistake gets here, never an input: the names are
	// constants in the code, and every lookup is on a tested path.
	panic(fmt.Sprintf("config: no setting in a field named %q", field))
}

// writeUsage prints the synopsis and one row per flag: its variable, its
// effective default (after the environment) and what it does. Only the
// current variables are listed: the help is where new users learn the
// names, and the deprecated ones are on their way out.
func writeUsage(w io.Writer, synopsis string, list []*setting) {
	header := "Flags (each also read from its environment variable; a flag wins):"
	if len(list) == 0 {
		header = "Flags:"
	}
	fmt.Fprintf(w, "%s\n\n%s\n", synopsis, header)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, s := range list {
		name := "--" + s.flag + argName(s)
		if s.short != "" && s.preset == "" {
			name = "-" + s.short + ", " + name
		}
		fmt.Fprintf(tw, "  %s\t%s\t(default %s)\t%s\n", name, s.key, cmp.Or(s.String(), `""`), s.help)
		if s.preset != "" {
			fmt.Fprintf(tw, "  -%s\t\t\t%s\n", s.short, presetHelp(s))
		}
	}
	for _, f := range builtins {
		fmt.Fprintf(tw, "  -%s, --%s\t\t\t%s\n", f.Short, f.Long, f.Help)
	}
	tw.Flush()
}

// presetHelp says what a flag such as -v stands for.
func presetHelp(s *setting) string { return "same as --" + s.flag + " " + s.preset }

// builtins are the flags every command takes, which are no settings.
var builtins = []FlagDef{
	{Long: "version", Short: "V", Help: "print the version"},
	{Long: "help", Short: "h", Help: "show this help"},
}

// argName is what a flag's value looks like in the help: the arg tag, or
// a word for the value's type; a boolean flag takes none.
func argName(s *setting) string {
	switch {
	case s.arg != "":
		return " " + s.arg
	case s.value.Kind() == reflect.Bool:
		return ""
	case s.value.Kind() == reflect.Int:
		return " n"
	case s.value.Type() == reflect.TypeFor[time.Duration]():
		return " duration"
	}
	return " value"
}
