package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"
)

// Each command reads LOOPBACK_<COMMAND>_<KEY>; the keys of before are read
// for one more release where they applied, with a warning.

// durationOf loads serve or probe and returns its --duration and warnings.
func durationOf(t *testing.T, cmd string, args, environ []string) (time.Duration, string) {
	t.Helper()
	var warn bytes.Buffer
	var d time.Duration
	var err error
	switch cmd {
	case "serve":
		var c serveConfig
		c, err = loadServe(args, environ, &bytes.Buffer{}, &warn)
		d = c.Duration
	case "probe":
		var c probeConfig
		c, err = loadProbe(append([]string{"tcp://127.0.0.1:7"}, args...), environ, &bytes.Buffer{}, &warn)
		d = c.Duration
	}
	if err != nil {
		t.Fatalf("%s: %v", cmd, err)
	}
	return d, warn.String()
}

func TestDurationPrecedenceAndDeprecation(t *testing.T) {
	t.Parallel()
	for _, cmd := range []string{"serve", "probe"} {
		own := "LOOPBACK_" + strings.ToUpper(cmd) + "_DURATION"
		other := map[string]string{"serve": "LOOPBACK_PROBE_DURATION", "probe": "LOOPBACK_SERVE_DURATION"}[cmd]
		warning := fmt.Sprintf("loopback: LOOPBACK_DURATION is deprecated: use %s (read for one more release)\n", own)
		tests := []struct {
			name    string
			args    []string
			environ []string
			want    time.Duration
			warn    string
		}{
			{"default", nil, nil, 0, ""},
			{"old key over default", nil, []string{"LOOPBACK_DURATION=1s"}, time.Second, warning},
			{"new key over old key", nil, []string{"LOOPBACK_DURATION=1s", own + "=2s"}, 2 * time.Second, ""},
			{"flag over both", []string{"--duration", "3s"}, []string{"LOOPBACK_DURATION=1s", own + "=2s"}, 3 * time.Second, ""},
			{"flag over old key", []string{"--duration", "3s"}, []string{"LOOPBACK_DURATION=1s"}, 3 * time.Second, ""},
			{"the other command's key does not apply", nil, []string{other + "=3s"}, 0, ""},
		}
		for _, tt := range tests {
			t.Run(cmd+"/"+tt.name, func(t *testing.T) {
				t.Parallel()
				got, warn := durationOf(t, cmd, tt.args, tt.environ)
				if got != tt.want || warn != tt.warn {
					t.Errorf("duration %v, warnings %q; want %v, %q", got, warn, tt.want, tt.warn)
				}
			})
		}
	}
}

// TestOldKeysApplyOnlyWhereTheyDid: LOOPBACK_COUNT was the probe's (check
// had LOOPBACK_CHECK_COUNT), LOOPBACK_ALL the ports', and LOOPBACK_JSON
// everyone's.
func TestOldKeysApplyOnlyWhereTheyDid(t *testing.T) {
	t.Parallel()
	quiet := &bytes.Buffer{}
	load := map[string]func(environ []string, warn *bytes.Buffer) string{
		"probe": func(environ []string, warn *bytes.Buffer) string {
			c, _ := loadProbe([]string{"tcp://127.0.0.1:7"}, environ, quiet, warn)
			return fmt.Sprintf("count=%d json=%v", c.Count, c.JSON)
		},
		"check": func(environ []string, warn *bytes.Buffer) string {
			c, _ := loadCheck(nil, environ, quiet, warn)
			return fmt.Sprintf("count=%d json=%v all=%v", c.Count, c.JSON, c.All)
		},
		"explain": func(environ []string, warn *bytes.Buffer) string {
			c, _ := loadExplain([]string{"127.0.0.1:7"}, environ, quiet, warn)
			return fmt.Sprintf("json=%v", c.JSON)
		},
		"who": func(environ []string, warn *bytes.Buffer) string {
			c, _ := loadWho([]string{"7"}, environ, quiet, warn)
			return fmt.Sprintf("json=%v", c.JSON)
		},
		"ports": func(environ []string, warn *bytes.Buffer) string {
			c, _ := loadPorts(nil, environ, quiet, warn)
			return fmt.Sprintf("json=%v all=%v", c.JSON, c.All)
		},
	}
	tests := []struct {
		cmd, environ, want, newKey string // newKey: the one the warning names, if any
	}{
		{"probe", "LOOPBACK_COUNT=5", "count=5 json=false", "LOOPBACK_PROBE_COUNT"},
		{"check", "LOOPBACK_COUNT=5", "count=1000 json=false all=false", ""},
		{"check", "LOOPBACK_CHECK_COUNT=5", "count=5 json=false all=false", ""},
		{"check", "LOOPBACK_ALL=true", "count=1000 json=false all=false", ""},
		{"ports", "LOOPBACK_ALL=true", "json=false all=true", "LOOPBACK_PORTS_ALL"},
		{"probe", "LOOPBACK_JSON=true", "count=100 json=true", "LOOPBACK_PROBE_JSON"},
		{"check", "LOOPBACK_JSON=true", "count=1000 json=true all=false", "LOOPBACK_CHECK_JSON"},
		{"explain", "LOOPBACK_JSON=true", "json=true", "LOOPBACK_EXPLAIN_JSON"},
		{"who", "LOOPBACK_JSON=true", "json=true", "LOOPBACK_WHO_JSON"},
		{"ports", "LOOPBACK_JSON=true", "json=true all=false", "LOOPBACK_PORTS_JSON"},
		{"who", "LOOPBACK_PORTS_JSON=true", "json=false", ""},
	}
	for _, tt := range tests {
		t.Run(tt.cmd+"/"+tt.environ, func(t *testing.T) {
			t.Parallel()
			var warn bytes.Buffer
			got := load[tt.cmd]([]string{tt.environ}, &warn)
			wantWarn := ""
			if tt.newKey != "" {
				old, _, _ := strings.Cut(tt.environ, "=")
				wantWarn = fmt.Sprintf("loopback: %s is deprecated: use %s (read for one more release)\n", old, tt.newKey)
			}
			if got != tt.want || warn.String() != wantWarn {
				t.Errorf("got %s, warnings %q; want %s, %q", got, warn.String(), tt.want, wantWarn)
			}
		})
	}
}

// TestServeDurationDoesNotStretchAProbe is the bug report: a serve
// duration in the shell made `loopback probe URL --count 3` run for as
// long. The old shared key still applies, for one release, with a warning.
func TestServeDurationDoesNotStretchAProbe(t *testing.T) {
	t.Parallel()
	s := startServe(t, 2)
	start := time.Now()
	out, stderr, code := runCLI(t, []string{"LOOPBACK_SERVE_DURATION=1h"}, "probe", s.udp, "--count", "3", "--warmup", "0", "--json")
	var got struct{ Sent int }
	if err := json.Unmarshal([]byte(out), &got); code != 0 || err != nil || got.Sent != 3 || stderr != "" {
		t.Fatalf("exit %d, sent %d (%v), stderr %q; want exit 0, 3 sent and nothing on stderr", code, got.Sent, err, stderr)
	}
	if took := time.Since(start); took > 10*time.Second {
		t.Errorf("3 round trips took %v", took)
	}

	// That the old key still sets the duration is TestDurationPrecedenceAndDeprecation's;
	// here, that the user hears about it once.
	_, stderr, code = runCLI(t, []string{"LOOPBACK_DURATION=50ms"}, "probe", s.udp, "--warmup", "0", "--interval", "10ms")
	if code != 0 {
		t.Errorf("LOOPBACK_DURATION=50ms: exit %d", code)
	}
	if want := "loopback: LOOPBACK_DURATION is deprecated: use LOOPBACK_PROBE_DURATION (read for one more release)\n"; stderr != want {
		t.Errorf("stderr = %q, want the one warning %q", stderr, want)
	}
}
