package main

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/loopback-dev/loopback/config"
	"github.com/loopback-dev/loopback/probe"
	probereport "github.com/loopback-dev/loopback/probe/report"
)

// probeConfig is what `loopback probe URL` reads, each setting from its
// flag or LOOPBACK_PROBE_<KEY>.
type probeConfig struct {
	Target   probe.Target  // the positional argument; no flag, no variable
	Count    int           `env:"COUNT" deprecated:"LOOPBACK_COUNT" envDefault:"100" short:"c" help:"round trips to measure"`
	Duration time.Duration `env:"DURATION" deprecated:"LOOPBACK_DURATION" envDefault:"0" short:"d" help:"measure for this long instead of --count (0: use --count)"`
	Size     int           `env:"SIZE" deprecated:"LOOPBACK_SIZE" envDefault:"64" arg:"bytes" help:"payload bytes per round trip: 16 to 65507 for udp, to 1048576 for tcp"`
	Interval time.Duration `env:"INTERVAL" deprecated:"LOOPBACK_INTERVAL" envDefault:"0" help:"time between sends on each connection, scheduled from the start (0: back to back)"`
	Rate     float64       `env:"RATE" deprecated:"LOOPBACK_RATE" envDefault:"0" arg:"per-second" help:"round trips per second over all connections, on a fixed schedule; each is timed from when it was due (0: back to back)"`
	Conns    int           `env:"CONCURRENCY" deprecated:"LOOPBACK_CONCURRENCY" envDefault:"1" help:"connections (UDP sockets) probing in parallel, each doing --count round trips"`
	Timeout  time.Duration `env:"TIMEOUT" deprecated:"LOOPBACK_TIMEOUT" envDefault:"1s" help:"wait this long for each reply (and for the connection)"`
	Warmup   int           `env:"WARMUP" deprecated:"LOOPBACK_WARMUP" envDefault:"10" help:"round trips sent first and not measured"`
	Mode     probe.Mode    `env:"MODE" deprecated:"LOOPBACK_MODE" envDefault:"rtt" arg:"rtt|connect|throughput" help:"rtt: round trips on one connection; connect: connect, echo, close per sample (TCP); throughput: stream for --duration (default 2s) and check every byte (TCP)"`
	BusyPoll bool          `env:"BUSY_POLL" deprecated:"LOOPBACK_BUSY_POLL" envDefault:"false" help:"spin on non-blocking reads with the thread locked instead of sleeping: lowest overhead, costs a core per connection"`
	Output   output        `env:"OUTPUT" deprecated:"LOOPBACK_OUTPUT" envDefault:"text" arg:"text|json|jsonl|csv" help:"stdout: text (table and histogram), json (one object), jsonl (one object per interval, then the summary), csv (one row per round trip)"`
	Every    time.Duration `env:"REPORT_EVERY" deprecated:"LOOPBACK_REPORT_EVERY" envDefault:"0" help:"also report each interval of this length as it ends: a line in text, an object in jsonl (default 1s there)"`
	JSON     bool          `env:"JSON" deprecated:"LOOPBACK_JSON" envDefault:"false" short:"j" help:"same as --output json"`
	Hgrm     string        `env:"HGRM" deprecated:"LOOPBACK_HGRM" arg:"path" help:"also write the RTT percentile distribution to this file in HdrHistogram's .hgrm format, for its plotters"`
	Assert   assertions    `env:"ASSERT" deprecated:"LOOPBACK_ASSERT" arg:"conditions" help:"exit 1 unless every condition holds, e.g. \"p99<200us,loss=0\" (metrics: min mean stddev p50 p90 p99 p999 max jitter connect sent received lost corrupt late dup reordered loss rps)"`
	Log      config.Log
}

const probeSynopsis = `usage: loopback probe [flags] URL

Measures round trips to an echo server. URL is tcp://host:port, udp://host:port
or host:port (TCP). Exit 0 when every round trip came back intact, 1 when any was
lost or corrupt or the target could not be reached, 2 for bad usage.`

// defaultStream is how long --mode throughput streams without --duration:
// long enough for the rate to settle, short enough for a quick look.
const defaultStream = 2 * time.Second

// loadProbe reads the settings of `loopback probe` and its target URL, and
// refuses, before any socket is opened, what no probe could use. The rules
// about the command line are here; what probe.Run accepts is asked of the
// probe package itself, so that no rule is written twice.
func loadProbe(args, environ []string, stdout, stderr io.Writer) (probeConfig, error) {
	var c probeConfig
	l, err := config.Load("probe", probeSynopsis, &c, args, environ, stdout, stderr)
	if err != nil {
		return c, err
	}
	if len(l.Args) != 1 {
		return c, config.Usagef("probe takes one URL (e.g. tcp://127.0.0.1:7007 or udp://[::1]:7007), got %d arguments", len(l.Args))
	}
	if c.Target, err = probe.ParseTarget(l.Args[0]); err != nil {
		return c, config.Usagef("%v", err)
	}
	if c.JSON && l.Source("Output") == config.Default {
		c.Output = outputJSON // --json predates --output and stays as its shorthand
	}
	if c.Output == outputJSONL {
		c.Every = cmp.Or(c.Every, time.Second)
	}
	problems := c.commandLineProblems(l)
	if err := c.options().Validate(c.Target.Network); err != nil {
		problems = append(problems, config.Usagef("%v", err))
	}
	return c, errors.Join(problems...)
}

// commandLineProblems lists the combinations of flags that make no sense
// whatever the probe accepts.
func (c probeConfig) commandLineProblems(l config.Loaded) []error {
	var p []error
	if c.JSON && c.Output == outputText && l.Source("Output") != config.Default {
		p = append(p, config.Usagef("%s and %s text disagree; give one of them", l.Name("JSON"), l.Name("Output")))
	}
	if c.Output == outputCSV && c.Mode != probe.ModeRTT {
		p = append(p, config.Usagef("%s %s has no per-round-trip rows for csv; use text, json or jsonl", l.Name("Mode"), c.Mode))
	}
	if c.Conns == 0 {
		p = append(p, config.Usagef("%s: 0 connections would measure nothing; give 1 or more", l.Name("Conns")))
	}
	if c.Rate > 0 && c.Interval > 0 {
		p = append(p, config.Usagef("%s and %s both set the schedule; give one of them", l.Name("Rate"), l.Name("Interval")))
	}
	if c.Rate > 0 && c.Rate < 0.001 {
		p = append(p, config.Usagef("%s: %g round trips per second is less than one in 1000 s; give a larger rate", l.Name("Rate"), c.Rate))
	}
	return p
}

// options turns the settings into the probe package's options.
func (c probeConfig) options() probe.Options {
	interval := c.Interval
	if c.Rate > 0 {
		// Each connection sends at its share of the rate.
		interval = time.Duration(float64(c.Conns) / c.Rate * float64(time.Second))
	}
	duration := c.Duration
	if c.Mode == probe.ModeThroughput {
		duration = cmp.Or(duration, defaultStream)
	}
	return probe.Options{
		Mode:        c.Mode,
		Count:       c.Count,
		Duration:    duration,
		Size:        c.Size,
		Interval:    interval,
		Timeout:     c.Timeout,
		Warmup:      c.Warmup,
		Concurrency: c.Conns,
		BusyPoll:    c.BusyPoll,
	}
}

// output is the format of the probe's report.
type output string

// The report formats: a table, one JSON object, JSON lines (one per
// interval, then the summary), or CSV with one row per round trip.
const (
	outputText  output = "text"
	outputJSON  output = "json"
	outputJSONL output = "jsonl"
	outputCSV   output = "csv"
)

// UnmarshalText accepts text, json, jsonl or csv.
func (o *output) UnmarshalText(b []byte) (err error) {
	*o, err = config.OneOf(b, "a report format", outputText, outputJSON, outputJSONL, outputCSV)
	return err
}

// assertions are the probe's --assert conditions, parsed once, when read.
type assertions struct {
	list []probe.Assertion
	text string
}

// UnmarshalText parses conditions such as "p99<200us,loss=0".
func (a *assertions) UnmarshalText(b []byte) error {
	list, err := probe.ParseAssertions(string(b))
	if err != nil {
		return err
	}
	*a = assertions{list: list, text: string(b)}
	return nil
}

// String gives the conditions as written, for the help text.
func (a assertions) String() string { return a.text }

// runProbe is `loopback probe URL`: measure, report on stdout, and exit 1
// unless every round trip came back intact, so it doubles as a health check.
func runProbe(ctx context.Context, args, environ []string, stdout, stderr io.Writer) error {
	c, err := loadProbe(args, environ, stdout, stderr)
	if err != nil {
		return err
	}
	o := c.options()
	o.Log = newLogger(stderr, c.Log)
	var samples *probereport.SampleWriter
	if c.Output == outputCSV {
		samples = probereport.NewSampleWriter(stdout)
		o.Samples = samples
	}
	live := reportIntervals(&o, c, stdout, stderr)
	r, err := probe.Run(ctx, c.Target, o)
	if live {
		fmt.Fprint(stderr, clearLine)
	}
	if err != nil {
		return err
	}
	if samples != nil {
		if err := samples.Flush(); err != nil {
			return fmt.Errorf("write samples: %w", err)
		}
	} else if c.quietProbe() {
		if err := writeProbeVerdict(stdout, r); err != nil {
			return err
		}
	} else if err := report(stdout, r, c.Output); err != nil {
		return err
	}
	if c.Hgrm != "" {
		if err := writeHgrm(c.Hgrm, r); err != nil {
			return err
		}
	}
	if err := verdict(r); err != nil {
		return err
	}
	if err := probe.CheckAssertions(c.Assert.list, r.Metrics()); err != nil {
		return fmt.Errorf("%s: %w", r.Target, err)
	}
	return nil
}

// clearLine returns a terminal's cursor to the start of the line and
// clears it, so the live status line leaves nothing behind.
const clearLine = "\r\x1b[K"

// statusEvery is how often the live status line changes on a terminal
// when no --report-every was asked for.
const statusEvery = 500 * time.Millisecond

// reportIntervals sets o up to report intervals: as lines or JSON objects
// on stdout when asked, and as a status line that rewrites itself on
// stderr when stderr is a terminal (never on a pipe, where it would be
// noise). It reports whether the status line is on.
func reportIntervals(o *probe.Options, c probeConfig, stdout, stderr io.Writer) bool {
	live := isTerminal(stderr) && c.Output == outputText && c.Mode == probe.ModeRTT && !c.Log.Quiet
	o.ReportEvery = c.Every
	if live {
		o.ReportEvery = cmp.Or(c.Every, statusEvery)
	}
	var sent, lost uint64
	o.Report = func(iv probe.Interval) {
		switch {
		case c.Output == outputJSONL:
			probereport.WriteIntervalJSON(stdout, &iv)
		case c.Every > 0 && c.Output == outputText && !c.Log.Quiet:
			if live {
				fmt.Fprint(stderr, clearLine)
			}
			probereport.WriteIntervalText(stdout, &iv)
		}
		sent, lost = sent+iv.Sent, lost+iv.Lost
		if live {
			fmt.Fprintf(stderr, "%s%.1f s  sent %d  lost %d  last p50 %s  %.0f round trips/s",
				clearLine, iv.To.Seconds(), sent, lost, micros(iv.Quantile(50)), iv.RPS())
		}
	}
	return live
}

func report(w io.Writer, r *probe.Result, format output) error {
	write := probereport.WriteText
	if format == outputJSON || format == outputJSONL {
		write = probereport.WriteJSON
	}
	if err := write(w, r); err != nil {
		return fmt.Errorf("write report: %w", err)
	}
	return nil
}

// writeHgrm writes the distribution for HdrHistogram's plotters; with
// nothing received there is no distribution to write.
func writeHgrm(path string, r *probe.Result) error {
	if r.Received == 0 {
		return nil
	}
	var b bytes.Buffer
	if err := probereport.WriteHgrm(&b, r.RTT); err != nil {
		return fmt.Errorf("--hgrm: %w", err)
	}
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		return fmt.Errorf("--hgrm: %w", err)
	}
	return nil
}

// verdict is the one line on stderr that says why the exit status is 1.
func verdict(r *probe.Result) error {
	if r.OK() {
		return nil
	}
	if r.Mode == probe.ModeThroughput {
		return fmt.Errorf("%s: stream failed: %s", r.Target, r.Aborted)
	}
	if r.Aborted != "" {
		return fmt.Errorf("%s: stopped after %d round trips: %s", r.Target, r.Sent, r.Aborted)
	}
	return fmt.Errorf("%s: %d of %d round trips lost, %d corrupt", r.Target, r.Lost, r.Sent, r.Corrupt)
}
