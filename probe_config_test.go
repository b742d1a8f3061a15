package main

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/loopback-dev/loopback/config"
	"github.com/loopback-dev/loopback/probe"
)

func TestProbeTargetAndInterleavedFlags(t *testing.T) {
	t.Parallel()
	c, err := loadProbe([]string{"--size", "100", "udp://[::1]:7", "--count", "3", "--json"}, nil, &bytes.Buffer{}, &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	if c.Target.String() != "udp://[::1]:7" || c.Size != 100 || c.Count != 3 || c.Output != outputJSON || c.Warmup != 10 || c.Timeout != time.Second {
		t.Errorf("got %+v", c)
	}
}

func TestProbeOptions(t *testing.T) {
	t.Parallel()
	c, err := loadProbe([]string{"tcp://127.0.0.1:7", "--rate", "100", "--concurrency", "4", "--mode", "throughput", "--output", "jsonl"},
		nil, &bytes.Buffer{}, &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	o := c.options()
	if o.Interval != 40*time.Millisecond || o.Concurrency != 4 || o.Duration != defaultStream || o.Mode != probe.ModeThroughput || c.Every != time.Second {
		t.Errorf("options = %+v, report every %v; want 40ms apart on each of 4 connections, streaming %v, reporting each 1s", o, c.Every, defaultStream)
	}
}

func TestProbeRefusesUselessValues(t *testing.T) {
	t.Parallel()
	const url = "tcp://127.0.0.1:7"
	tests := []struct {
		name    string
		args    []string
		environ []string
		want    string
	}{
		{"no url", nil, nil, "probe takes one URL"},
		{"two urls", []string{url, "tcp://127.0.0.1:2"}, nil, "probe takes one URL"},
		{"bad scheme", []string{"http://127.0.0.1:7"}, nil, `target "http://127.0.0.1:7": scheme must be tcp:// or udp://`},
		{"udp size", []string{"udp://127.0.0.1:7", "--size", "65508"}, nil, "size 65508: must be 16-65507 bytes for udp"},
		{"env size", []string{"udp://127.0.0.1:7"}, []string{"LOOPBACK_PROBE_SIZE=8"}, "size 8: must be 16-65507 bytes for udp"},
		{"zero count", []string{url, "--count", "0"}, nil, "count 0: need at least 1 round trip, or a duration"},
		{"negative count", []string{url, "--count", "-1"}, nil, `--count: "-1" is not a whole number`},
		{"zero timeout", []string{url, "--timeout", "0"}, nil, "timeout 0s: must be positive"},
		{"udp connect", []string{"udp://127.0.0.1:7", "--mode", "connect"}, nil, "mode connect: measures TCP only"},
		{"csv of a stream", []string{url, "--mode", "throughput", "--output", "csv"}, nil,
			"--mode throughput has no per-round-trip rows for csv; use text, json or jsonl"},
		{"json and text", []string{url, "--json"}, []string{"LOOPBACK_PROBE_OUTPUT=text"}, "--json and LOOPBACK_PROBE_OUTPUT text disagree"},
		{"no connections", []string{url, "--concurrency", "0"}, nil, "--concurrency: 0 connections would measure nothing"},
		{"rate and interval", []string{url, "--rate", "10"}, []string{"LOOPBACK_PROBE_INTERVAL=1s"}, "--rate and LOOPBACK_PROBE_INTERVAL both set the schedule"},
		{"tiny rate", []string{url, "--rate", "0.0001"}, nil, "--rate: 0.0001 round trips per second is less than one in 1000 s"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := loadProbe(tt.args, tt.environ, &bytes.Buffer{}, &bytes.Buffer{})
			if _, ok := errors.AsType[*config.UsageError](err); !ok {
				t.Fatalf("err = %v (%T), want a *config.UsageError", err, err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %q, want it to contain %q", err, tt.want)
			}
		})
	}
}

func TestProbeListsEveryProblemAtOnce(t *testing.T) {
	t.Parallel()
	_, err := loadProbe([]string{"udp://127.0.0.1:7", "--concurrency", "0", "--rate", "5", "--interval", "1s", "--size", "8"},
		nil, &bytes.Buffer{}, &bytes.Buffer{})
	want := []string{
		"--concurrency: 0 connections would measure nothing; give 1 or more",
		"--rate and --interval both set the schedule; give one of them",
		"size 8: must be 16-65507 bytes for udp",
	}
	if err == nil || err.Error() != strings.Join(want, "\n") {
		t.Errorf("err = %v, want\n%s", err, strings.Join(want, "\n"))
	}
}
