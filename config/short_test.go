package config

import (
	"bytes"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"
)

// shorty is a command with short flags: one with a value, a boolean, and
// the log settings' -v and -q.
type shorty struct {
	Count int           `env:"COUNT" envDefault:"3" short:"c" help:"how many"`
	Wait  time.Duration `env:"WAIT" envDefault:"1s" help:"how long"`
	JSON  bool          `env:"JSON" envDefault:"false" short:"j" help:"as JSON"`
	Proto string        `env:"PROTO" envDefault:"tcp" arg:"tcp|udp" help:"which"`
	Log   Log
}

func loadShorty(args, environ []string) (shorty, Loaded, string, error) {
	var c shorty
	var help bytes.Buffer
	l, err := Load("shorty", "usage: loopback shorty [flags] URL", &c, args, environ, &help, &bytes.Buffer{})
	return c, l, help.String(), err
}

func TestShortFlagsSetWhatTheLongOnesDo(t *testing.T) {
	t.Parallel()
	long, _, _, err := loadShorty([]string{"--count", "7", "--json", "--log-level", "debug", "--quiet"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	short, l, _, err := loadShorty([]string{"-c", "7", "-j", "-v", "-q"}, []string{"LOOPBACK_LOG_LEVEL=error"})
	if err != nil {
		t.Fatal(err)
	}
	if short != long {
		t.Errorf("-c 7 -j -v -q gave %+v, --count 7 --json --log-level debug --quiet gave %+v", short, long)
	}
	for field, want := range map[string]string{"Count": "-c", "JSON": "-j", "Log.Level": "-v", "Log.Quiet": "-q"} {
		if got := l.Name(field); got != want || l.Source(field) != Flag {
			t.Errorf("Name(%s) = %q from %v, want %q from a flag", field, got, l.Source(field), want)
		}
	}
}

func TestShortFlagErrorsNameTheShortFlag(t *testing.T) {
	t.Parallel()
	_, _, _, err := loadShorty([]string{"-c", "many"}, nil)
	if want := `-c: "many" is not a whole number of 0 or more`; err == nil || err.Error() != want {
		t.Errorf("err = %v, want %q", err, want)
	}
}

func TestHelpShowsShortFlagsBesideLongOnes(t *testing.T) {
	t.Parallel()
	_, _, help, err := loadShorty([]string{"-h"}, nil)
	if !errors.Is(err, ErrHelp) {
		t.Fatalf("err = %v, want ErrHelp", err)
	}
	rows := map[string]string{}
	for line := range strings.Lines(help) {
		if f := strings.Fields(line); len(f) > 0 && strings.HasPrefix(f[0], "-") {
			rows[strings.Join(f[:min(len(f), 3)], " ")] = line
		}
	}
	for _, want := range []string{
		"-c, --count n", "--wait duration LOOPBACK_SHORTY_WAIT", "-j, --json LOOPBACK_SHORTY_JSON",
		"-v same as", "-q, --quiet LOOPBACK_QUIET", "-V, --version print", "-h, --help show",
	} {
		if _, ok := rows[want]; !ok {
			t.Errorf("help has no row starting %q:\n%s", want, help)
		}
	}
}

// TestVersionAnywhere: -V and --version, before or after other flags and
// arguments, even beside a bad value, ask for the version alone.
func TestVersionAnywhere(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{
		{"--version"}, {"-V"}, {"url", "-c", "3", "-V"}, {"-version"}, {"--count", "x", "--version"},
	} {
		_, _, help, err := loadShorty(args, []string{"LOOPBACK_SHORTY_WAIT=soon"})
		if !errors.Is(err, ErrVersion) || help != "" {
			t.Errorf("%q: err = %v, help %q; want ErrVersion and no help", args, err, help)
		}
	}
}

func TestUnknownFlagNamesTheHelpAsTheUsageLineDoes(t *testing.T) {
	t.Parallel()
	tests := []struct{ cmd, synopsis, want string }{
		{"serve", "usage: loopback serve [flags]\n\nServes.", "loopback serve --help"},
		{"check", "usage: loopback [command] [flags]\n\nChecks.", "loopback --help"},
		{"probe", "usage: loopback probe [flags] URL", "loopback probe --help"},
		{"completion", "usage: loopback completion bash|zsh|fish", "loopback completion --help"},
		{"demo", "Demonstrates.", "loopback demo --help"},
	}
	for _, tt := range tests {
		var c shorty
		_, err := Load(tt.cmd, tt.synopsis, &c, []string{"--colour"}, nil, &bytes.Buffer{}, &bytes.Buffer{})
		if want := "flag provided but not defined: -colour (see '" + tt.want + "')"; err == nil || err.Error() != want {
			t.Errorf("%s: err = %v, want %q", tt.cmd, err, want)
		}
	}
}

func TestFlagsListWhatLoadParses(t *testing.T) {
	t.Parallel()
	got := Flags(new(shorty))
	want := []FlagDef{
		{Long: "count", Short: "c", Arg: "n", Help: "how many"},
		{Long: "wait", Arg: "duration", Help: "how long"},
		{Long: "json", Short: "j", Help: "as JSON"},
		{Long: "proto", Arg: "tcp|udp", Values: []string{"tcp", "udp"}, Help: "which"},
		{Long: "log-level", Arg: "level", Values: []string{"trace", "debug", "info", "warn", "error"}},
		{Short: "v", Help: "same as --log-level debug"},
		{Long: "log-format", Arg: "format", Values: []string{"auto", "console", "json"}},
		{Long: "quiet", Short: "q"},
		{Long: "version", Short: "V", Help: "print the version"},
		{Long: "help", Short: "h", Help: "show this help"},
	}
	if len(got) != len(want) {
		t.Fatalf("%d flags, want %d: %+v", len(got), len(want), got)
	}
	for i, w := range want {
		g := got[i]
		if w.Help == "" {
			w.Help = g.Help // the log settings' help is config.Log's to word
		}
		if g.Long != w.Long || g.Short != w.Short || g.Arg != w.Arg || !slices.Equal(g.Values, w.Values) || g.Help != w.Help {
			t.Errorf("flag %d = %+v, want %+v", i, g, w)
		}
	}
	// Every flag listed is one Load accepts.
	for _, f := range got {
		for _, name := range []string{"--" + f.Long, "-" + f.Short} {
			if name == "--" || name == "-" || f.Long == "help" {
				continue
			}
			args := []string{name}
			if f.Arg != "" {
				args = append(args, map[string]string{"n": "1", "duration": "1s", "level": "warn", "format": "json", "tcp|udp": "udp"}[f.Arg])
			}
			if _, _, _, err := loadShorty(args, nil); err != nil && !errors.Is(err, ErrVersion) {
				t.Errorf("%q: %v", args, err)
			}
		}
	}
}

func TestHostPortAndPort(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		in, want, err string
	}{
		{":8080", "127.0.0.1:8080", ""},
		{"[::1]:7", "[::1]:7", ""},
		{"localhost:0", "localhost:0", ""},
		{"8080", "", `"8080" is a port alone; give :8080 for port 8080 on 127.0.0.1`},
		{"127.0.0.1", "", `"127.0.0.1" is not host:port`},
		{":65536", "", `port "65536" is not a number from 0 to 65535`},
	} {
		var h HostPort
		err := h.UnmarshalText([]byte(tt.in))
		if got := h.String(); tt.err == "" && (err != nil || got != tt.want) {
			t.Errorf("HostPort %q = %s, %v; want %s", tt.in, got, err, tt.want)
		}
		if tt.err != "" && (err == nil || !strings.Contains(err.Error(), tt.err)) {
			t.Errorf("HostPort %q: err = %v, want %q", tt.in, err, tt.err)
		}
	}
	for in, ok := range map[string]bool{"0": true, "65535": true, "65536": false, "-1": false, "http": false} {
		var p Port
		if err := p.UnmarshalText([]byte(in)); (err == nil) != ok {
			t.Errorf("Port %q: err = %v, want ok %v", in, err, ok)
		}
	}
}
