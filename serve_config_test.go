package main

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/loopback-dev/loopback/config"
)

func TestServeDefaults(t *testing.T) {
	t.Parallel()
	c, err := loadServe(nil, nil, &bytes.Buffer{}, &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	if c.Addr.String() != "127.0.0.1:0" || c.Proto != protoBoth || c.IdleTimeout != 5*time.Minute || c.DrainTimeout != 5*time.Second ||
		c.Log.Format != config.FormatAuto || c.Log.Level.String() != "info" || c.AllowRemote || c.Loops != 0 {
		t.Errorf("defaults = %+v", c)
	}
}

func TestServeEnvironmentAndFlags(t *testing.T) {
	t.Parallel()
	c, err := loadServe(
		[]string{"--addr", "[::1]:7007", "--allow-remote", "--log-level", "DEBUG"},
		[]string{"LOOPBACK_SERVE_PROTO=udp", "LOOPBACK_SERVE_MAX_CONNS=12", "LOOPBACK_SERVE_PORT_FILE=/tmp/p", "LOOPBACK_LOG_FORMAT=json"},
		&bytes.Buffer{}, &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	if c.Addr != (config.HostPort{Host: "::1", Port: 7007}) || c.Proto != protoUDP || c.MaxConns != 12 || c.PortFile != "/tmp/p" ||
		!c.AllowRemote || c.Log.Level.String() != "debug" || c.Log.Format != config.FormatJSON {
		t.Errorf("got %+v", c)
	}
}

func TestServeBadValuesNameTheirSource(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		args    []string
		environ []string
		want    string
	}{
		{"env duration", nil, []string{"LOOPBACK_SERVE_IDLE_TIMEOUT=abc"}, `LOOPBACK_SERVE_IDLE_TIMEOUT: "abc" is not a duration (e.g. 30s`},
		{"old env duration", nil, []string{"LOOPBACK_IDLE_TIMEOUT=abc"}, `LOOPBACK_IDLE_TIMEOUT: "abc" is not a duration (e.g. 30s`},
		{"flag duration", []string{"--idle-timeout", "abc"}, nil, `--idle-timeout: "abc" is not a duration (e.g. 30s`},
		{"negative duration", []string{"--drain-timeout=-1s"}, nil, `--drain-timeout: "-1s" must not be negative`},
		{"port too big", []string{"--addr", "127.0.0.1:70000"}, nil, `--addr: "127.0.0.1:70000": port "70000" is not a number from 0 to 65535`},
		{"no port", nil, []string{"LOOPBACK_SERVE_ADDR=127.0.0.1"}, `LOOPBACK_SERVE_ADDR: "127.0.0.1" is not host:port`},
		{"negative count", []string{"--max-conns", "-3"}, nil, `--max-conns: "-3" is not a whole number of 0 or more`},
		{"too many loops", []string{"--loops", "1000"}, nil, `--loops: 1000 event loops; give 1 to 256, or 0 for one per two CPUs`},
		{"too many loops from env", nil, []string{"LOOPBACK_SERVE_LOOPS=1000"}, `LOOPBACK_SERVE_LOOPS: 1000 event loops`},
		{"proto", nil, []string{"LOOPBACK_SERVE_PROTO=sctp"}, `LOOPBACK_SERVE_PROTO: "sctp" is not a protocol (tcp, udp or both)`},
		{"level", []string{"--log-level", "loud"}, nil, `--log-level: "loud" is not a log level (trace, debug, info, warn or error)`},
		{"bool", nil, []string{"LOOPBACK_SERVE_ALLOW_REMOTE=perhaps"}, `LOOPBACK_SERVE_ALLOW_REMOTE: "perhaps" is not true or false`},
		{"unknown flag", []string{"--colour"}, nil, `flag provided but not defined: -colour (see 'loopback serve --help')`},
		{"stray argument", []string{"127.0.0.1:7"}, nil, `serve takes no arguments, got "127.0.0.1:7" (did you mean --addr 127.0.0.1:7?)`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := loadServe(tt.args, tt.environ, &bytes.Buffer{}, &bytes.Buffer{})
			if _, ok := errors.AsType[*config.UsageError](err); !ok {
				t.Fatalf("err = %v (%T), want a *config.UsageError", err, err)
			}
			if !strings.HasPrefix(err.Error(), tt.want) || strings.Contains(err.Error(), "\n") {
				t.Errorf("err = %q, want one line starting %q", err, tt.want)
			}
		})
	}
}

func TestServeListsEveryProblemAtOnce(t *testing.T) {
	t.Parallel()
	_, err := loadServe([]string{"extra", "--loops", "300"}, nil, &bytes.Buffer{}, &bytes.Buffer{})
	want := "serve takes no arguments, got \"extra\" (did you mean --addr extra?)\n--loops: 300 event loops; give 1 to 256, or 0 for one per two CPUs"
	if err == nil || err.Error() != want {
		t.Errorf("err = %v, want\n%s", err, want)
	}
}
