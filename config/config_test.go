package config

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestServePrecedence(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		args    []string
		environ []string
		want    time.Duration
	}{
		{"default", nil, nil, 5 * time.Minute},
		{"environment over default", nil, []string{"LOOPBACK_IDLE_TIMEOUT=30s"}, 30 * time.Second},
		{"flag over environment", []string{"--idle-timeout", "2s"}, []string{"LOOPBACK_IDLE_TIMEOUT=30s"}, 2 * time.Second},
		{"single dash and =", []string{"-idle-timeout=3s"}, nil, 3 * time.Second},
		{"empty variable keeps the default", nil, []string{"LOOPBACK_IDLE_TIMEOUT="}, 5 * time.Minute},
		{"zero means never", []string{"--idle-timeout", "0"}, nil, 0},
		{"other prefixes ignored", nil, []string{"IDLE_TIMEOUT=1s", "LOOPBACKIDLE_TIMEOUT=1s"}, 5 * time.Minute},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := LoadServe(tt.args, tt.environ, &bytes.Buffer{})
			if err != nil {
				t.Fatal(err)
			}
			if c.IdleTimeout != tt.want {
				t.Errorf("IdleTimeout = %v, want %v", c.IdleTimeout, tt.want)
			}
		})
	}
}

func TestServeDefaults(t *testing.T) {
	t.Parallel()
	c, err := LoadServe(nil, nil, &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	if c.Addr.String() != "127.0.0.1:0" || c.Proto != Both || c.DrainTimeout != 5*time.Second ||
		c.Log.Format != FormatAuto || c.Log.Level.String() != "info" || c.AllowRemote {
		t.Errorf("defaults = %+v", c)
	}
}

func TestServeEnvironmentAndFlags(t *testing.T) {
	t.Parallel()
	c, err := LoadServe(
		[]string{"--addr", "[::1]:7007", "--allow-remote", "--log-level", "DEBUG"},
		[]string{"LOOPBACK_PROTO=udp", "LOOPBACK_MAX_CONNS=12", "LOOPBACK_PORT_FILE=/tmp/p", "LOOPBACK_LOG_FORMAT=json"},
		&bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	if c.Addr != (HostPort{"::1", 7007}) || c.Proto != UDP || c.MaxConns != 12 || c.PortFile != "/tmp/p" ||
		!c.AllowRemote || c.Log.Level.String() != "debug" || c.Log.Format != FormatJSON {
		t.Errorf("got %+v", c)
	}
}

func TestBadValuesNameTheirSource(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		args    []string
		environ []string
		want    string
	}{
		{"env duration", nil, []string{"LOOPBACK_IDLE_TIMEOUT=abc"}, `LOOPBACK_IDLE_TIMEOUT: "abc" is not a duration (e.g. 30s`},
		{"flag duration", []string{"--idle-timeout", "abc"}, nil, `--idle-timeout: "abc" is not a duration (e.g. 30s`},
		{"negative duration", []string{"--drain-timeout=-1s"}, nil, `--drain-timeout: "-1s" must not be negative`},
		{"port too big", []string{"--addr", "127.0.0.1:70000"}, nil, `--addr: "127.0.0.1:70000": port "70000" is not a number from 0 to 65535`},
		{"no port", nil, []string{"LOOPBACK_ADDR=127.0.0.1"}, `LOOPBACK_ADDR: "127.0.0.1" is not host:port`},
		{"negative count", []string{"--max-conns", "-3"}, nil, `--max-conns: "-3" is not a whole number of 0 or more`},
		{"too many loops", []string{"--loops", "1000"}, nil, `--loops: 1000 event loops; give 1 to 256, or 0 for one per two CPUs`},
		{"proto", nil, []string{"LOOPBACK_PROTO=sctp"}, `LOOPBACK_PROTO: "sctp" is not a protocol (tcp, udp or both)`},
		{"level", []string{"--log-level", "loud"}, nil, `--log-level: "loud" is not a log level (trace, debug, info, warn or error)`},
		{"bool", nil, []string{"LOOPBACK_ALLOW_REMOTE=perhaps"}, `LOOPBACK_ALLOW_REMOTE: "perhaps" is not true or false`},
		{"unknown flag", []string{"--colour"}, nil, `flag provided but not defined: -colour (see 'loopback serve --help')`},
		{"stray argument", []string{"127.0.0.1:7"}, nil, `serve takes no arguments, got "127.0.0.1:7" (did you mean --addr 127.0.0.1:7?)`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := LoadServe(tt.args, tt.environ, &bytes.Buffer{})
			if _, ok := errors.AsType[*UsageError](err); !ok {
				t.Fatalf("err = %v (%T), want a *UsageError", err, err)
			}
			if !strings.HasPrefix(err.Error(), tt.want) || strings.Contains(err.Error(), "\n") {
				t.Errorf("err = %q, want one line starting %q", err, tt.want)
			}
		})
	}
}

func TestEveryBadVariableIsReported(t *testing.T) {
	t.Parallel()
	_, err := LoadServe(nil, []string{"LOOPBACK_IDLE_TIMEOUT=x", "LOOPBACK_MAX_CONNS=y"}, &bytes.Buffer{})
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{"LOOPBACK_IDLE_TIMEOUT:", "LOOPBACK_MAX_CONNS:"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("err = %q, does not name %s", err, want)
		}
	}
}

func TestHelpListsEveryFlagWithVariableAndEffectiveDefault(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	_, err := LoadServe([]string{"--help"}, []string{"LOOPBACK_LOG_LEVEL=debug"}, &out)
	if !errors.Is(err, ErrHelp) {
		t.Fatalf("err = %v, want ErrHelp", err)
	}
	for _, want := range []string{
		"usage: loopback serve",
		"--addr host:port", "LOOPBACK_ADDR", "(default 127.0.0.1:0)",
		"--log-level level", "LOOPBACK_LOG_LEVEL", "(default debug)",
		"--idle-timeout duration", "(default 5m0s)",
		"--allow-remote ", "--port-file path", "--max-conns n", "--proto tcp|udp|both",
		"--duration", "--drain-timeout", "--log-format",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("help lacks %q:\n%s", want, out.String())
		}
	}
}

func TestProbeTargetAndInterleavedFlags(t *testing.T) {
	t.Parallel()
	c, err := LoadProbe([]string{"--size", "100", "udp://[::1]:7", "--count", "3", "--json"}, nil, &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	if c.Target.String() != "udp://[::1]:7" || c.Size != 100 || c.Count != 3 || !c.JSON || c.Warmup != 10 || c.Timeout != time.Second {
		t.Errorf("got %+v", c)
	}
}

func TestProbeRefusesUselessValues(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		args    []string
		environ []string
		want    string
	}{
		{"no url", nil, nil, "probe takes one URL"},
		{"two urls", []string{"tcp://127.0.0.1:1", "tcp://127.0.0.1:2"}, nil, "probe takes one URL"},
		{"udp size", []string{"udp://127.0.0.1:7", "--size", "65508"}, nil, "--size: 65508 bytes is out of range: udp payloads are 16 to 65507 bytes"},
		{"env size", []string{"udp://127.0.0.1:7"}, []string{"LOOPBACK_SIZE=8"}, "LOOPBACK_SIZE: 8 bytes is out of range"},
		{"zero count", []string{"tcp://127.0.0.1:7", "--count", "0"}, nil, "--count: 0 round trips would measure nothing"},
		{"negative count", []string{"tcp://127.0.0.1:7", "--count", "-1"}, nil, `--count: "-1" is not a whole number`},
		{"zero timeout", []string{"tcp://127.0.0.1:7", "--timeout", "0"}, nil, "--timeout: a timeout of 0"},
		{"bad scheme", []string{"http://127.0.0.1:7"}, nil, "http://127.0.0.1:7"},
		{"csv of a stream", []string{"tcp://127.0.0.1:7", "--mode", "throughput", "--output", "csv"}, nil,
			"--mode throughput has no per-round-trip rows for csv; use text, json or jsonl"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := LoadProbe(tt.args, tt.environ, &bytes.Buffer{})
			if _, ok := errors.AsType[*UsageError](err); !ok {
				t.Fatalf("err = %v (%T), want a *UsageError", err, err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %q, want it to contain %q", err, tt.want)
			}
		})
	}
}

func TestCheckHasItsOwnCountVariable(t *testing.T) {
	t.Parallel()
	c, err := LoadCheck(nil, []string{"LOOPBACK_COUNT=5", "LOOPBACK_CHECK_COUNT=7"}, &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	if c.Count != 7 || c.Warmup != 100 {
		t.Errorf("got %+v, want count 7 from LOOPBACK_CHECK_COUNT", c)
	}
	if c, _ := LoadCheck([]string{"--count", "9"}, nil, &bytes.Buffer{}); c.Count != 9 {
		t.Errorf("--count 9 gave %d", c.Count)
	}
}
