package config

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"
)

// demo is a command's settings as the commands write them: keys of its
// own, a deprecated one, a flag named apart from its key, and the shared
// log settings.
type demo struct {
	Addr    HostPort      `env:"ADDR" envDefault:"127.0.0.1:0" arg:"host:port" help:"where"`
	Wait    time.Duration `env:"WAIT" deprecated:"LOOPBACK_WAIT" envDefault:"5m" help:"how long"`
	Count   int           `env:"COUNT" envDefault:"3" help:"how many"`
	Verbose bool          `env:"VERBOSE" flag:"loud" envDefault:"false" help:"say more"`
	Note    string        `env:"NOTE" help:"a note"`
	Hidden  int           // no tags: not a setting
	Log     Log
}

func load(t *testing.T, args, environ []string) (demo, Loaded, string, error) {
	t.Helper()
	var c demo
	var warn bytes.Buffer
	l, err := Load("demo", "usage: loopback demo", &c, args, environ, &bytes.Buffer{}, &warn)
	return c, l, warn.String(), err
}

func TestPrecedence(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		args    []string
		environ []string
		want    time.Duration
		source  Source
		from    string
	}{
		{"default", nil, nil, 5 * time.Minute, Default, "--wait (default)"},
		{"old key over default", nil, []string{"LOOPBACK_WAIT=1s"}, time.Second, DeprecatedEnv, "LOOPBACK_WAIT"},
		{"new key over old", nil, []string{"LOOPBACK_WAIT=1s", "LOOPBACK_DEMO_WAIT=2s"}, 2 * time.Second, Env, "LOOPBACK_DEMO_WAIT"},
		{"flag over both", []string{"--wait", "3s"}, []string{"LOOPBACK_WAIT=1s", "LOOPBACK_DEMO_WAIT=2s"}, 3 * time.Second, Flag, "--wait"},
		{"flag over old", []string{"-wait=3s"}, []string{"LOOPBACK_WAIT=1s"}, 3 * time.Second, Flag, "--wait"},
		{"empty new key is unset", nil, []string{"LOOPBACK_DEMO_WAIT=", "LOOPBACK_WAIT=1s"}, time.Second, DeprecatedEnv, "LOOPBACK_WAIT"},
		{"empty keeps the default", nil, []string{"LOOPBACK_DEMO_WAIT="}, 5 * time.Minute, Default, "--wait (default)"},
		{"zero", []string{"--wait", "0"}, nil, 0, Flag, "--wait"},
		{"other prefixes ignored", nil, []string{"WAIT=1s", "LOOPBACKWAIT=1s", "LOOPBACK_OTHER_WAIT=1s"}, 5 * time.Minute, Default, "--wait (default)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, l, _, err := load(t, tt.args, tt.environ)
			if err != nil {
				t.Fatal(err)
			}
			if c.Wait != tt.want || l.Source("Wait") != tt.source || l.Name("Wait") != tt.from {
				t.Errorf("Wait = %v from %v (%s), want %v from %v (%s)", c.Wait, l.Source("Wait"), l.Name("Wait"), tt.want, tt.source, tt.from)
			}
		})
	}
}

func TestDeprecationWarnsOnceAndOnlyWhenUsed(t *testing.T) {
	t.Parallel()
	const line = "loopback: LOOPBACK_WAIT is deprecated: use LOOPBACK_DEMO_WAIT (read for one more release)\n"
	tests := []struct {
		name    string
		args    []string
		environ []string
		want    string
	}{
		{"old key used", nil, []string{"LOOPBACK_WAIT=1s"}, line},
		{"old key used with --help", []string{"--help"}, []string{"LOOPBACK_WAIT=1s"}, line},
		{"new key only", nil, []string{"LOOPBACK_DEMO_WAIT=1s"}, ""},
		{"new key wins", nil, []string{"LOOPBACK_WAIT=1s", "LOOPBACK_DEMO_WAIT=2s"}, ""},
		{"flag wins", []string{"--wait", "1s"}, []string{"LOOPBACK_WAIT=1s"}, ""},
		{"old key empty", nil, []string{"LOOPBACK_WAIT="}, ""},
		{"nothing set", nil, nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, _, warn, err := load(t, tt.args, tt.environ)
			if err != nil && !errors.Is(err, ErrHelp) {
				t.Fatal(err)
			}
			if warn != tt.want {
				t.Errorf("warnings = %q, want %q", warn, tt.want)
			}
		})
	}
}

func TestKeysAndFlagNames(t *testing.T) {
	t.Parallel()
	c, l, _, err := load(t, []string{"--loud", "--note", "hi", "--log-level", "DEBUG"},
		[]string{"LOOPBACK_DEMO_ADDR=[::1]:7", "LOOPBACK_DEMO_COUNT=9", "LOOPBACK_LOG_FORMAT=json", "LOOPBACK_DEMO_LOG_LEVEL=warn"})
	if err != nil {
		t.Fatal(err)
	}
	if c.Addr != (HostPort{"::1", 7}) || c.Count != 9 || !c.Verbose || c.Note != "hi" ||
		c.Log.Level.String() != "debug" || c.Log.Format != FormatJSON {
		t.Errorf("got %+v", c)
	}
	for _, tt := range []struct{ field, want string }{
		{"Addr", "LOOPBACK_DEMO_ADDR"}, {"Verbose", "--loud"}, {"Log.Format", "LOOPBACK_LOG_FORMAT"}, {"Log.Level", "--log-level"},
	} {
		if got := l.Name(tt.field); got != tt.want {
			t.Errorf("Name(%q) = %q, want %q", tt.field, got, tt.want)
		}
	}
}

func TestLogSettingsAreShared(t *testing.T) {
	t.Parallel()
	c, _, _, err := load(t, nil, []string{"LOOPBACK_DEMO_LOG_LEVEL=warn"})
	if err != nil {
		t.Fatal(err)
	}
	if c.Log.Level.String() != "info" {
		t.Errorf("LOOPBACK_DEMO_LOG_LEVEL set the level to %s; only LOOPBACK_LOG_LEVEL should", c.Log.Level)
	}
}

func TestFlagsAfterArgumentsAndDoubleDash(t *testing.T) {
	t.Parallel()
	c, l, _, err := load(t, []string{"a", "--count", "4", "b", "--", "--count", "c"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.Count != 4 || strings.Join(l.Args, " ") != "a b --count c" {
		t.Errorf("count %d, args %q", c.Count, l.Args)
	}
}

func TestEveryBadValueIsReportedAtOnce(t *testing.T) {
	t.Parallel()
	_, _, warn, err := load(t, []string{"--count", "-3", "--addr", "127.0.0.1:70000", "--loud=perhaps", "--help"},
		[]string{"LOOPBACK_WAIT=abc", "LOOPBACK_DEMO_ADDR=127.0.0.1", "LOOPBACK_LOG_LEVEL=loud"})
	if _, ok := errors.AsType[*UsageError](err); !ok {
		t.Fatalf("err = %v (%T), want a *UsageError", err, err)
	}
	want := []string{
		`LOOPBACK_DEMO_ADDR: "127.0.0.1" is not host:port (e.g. 127.0.0.1:0, :8080 or [::1]:7007)`,
		`LOOPBACK_WAIT: "abc" is not a duration (e.g. 30s, 250ms, 1m30s)`,
		`LOOPBACK_LOG_LEVEL: "loud" is not a log level (trace, debug, info, warn or error)`,
		`--count: "-3" is not a whole number of 0 or more`,
		`--addr: "127.0.0.1:70000": port "70000" is not a number from 0 to 65535`,
		`--loud: "perhaps" is not true or false`,
	}
	if got := strings.Split(err.Error(), "\n"); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("errors:\n%s\nwant:\n%s", err, strings.Join(want, "\n"))
	}
	if !strings.Contains(warn, "LOOPBACK_WAIT is deprecated") {
		t.Errorf("no deprecation warning for the bad but deprecated LOOPBACK_WAIT: %q", warn)
	}
}

func TestUnknownFlag(t *testing.T) {
	t.Parallel()
	_, _, _, err := load(t, []string{"--colour"}, nil)
	if want := `flag provided but not defined: -colour (see 'loopback demo --help')`; err == nil || err.Error() != want {
		t.Errorf("err = %v, want %q", err, want)
	}
}

func TestHelpListsNewKeysAndEffectiveDefaults(t *testing.T) {
	t.Parallel()
	var c demo
	var out bytes.Buffer
	_, err := Load("demo", "usage: loopback demo", &c, []string{"-h"}, []string{"LOOPBACK_LOG_LEVEL=debug", "LOOPBACK_WAIT=7s"}, &out, &bytes.Buffer{})
	if !errors.Is(err, ErrHelp) {
		t.Fatalf("err = %v, want ErrHelp", err)
	}
	for _, want := range []string{
		"usage: loopback demo\n",
		"--addr host:port", "LOOPBACK_DEMO_ADDR", "(default 127.0.0.1:0)",
		"--wait duration", "LOOPBACK_DEMO_WAIT", "(default 7s)",
		"--count n", "--loud ", "--note value", `(default "")`,
		"--log-level level", "LOOPBACK_LOG_LEVEL", "(default debug)",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("help lacks %q:\n%s", want, out.String())
		}
	}
	if strings.Contains(out.String(), "LOOPBACK_WAIT ") || strings.Contains(out.String(), "hidden") {
		t.Errorf("help lists a deprecated key or a field that is no setting:\n%s", out.String())
	}
}

func TestNameOfAFieldThatIsNoSettingPanics(t *testing.T) {
	t.Parallel()
	_, l, _, err := load(t, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if recover() == nil {
			t.Error("Name of a field without env and help tags did not panic")
		}
	}()
	l.Name("Hidden")
}
