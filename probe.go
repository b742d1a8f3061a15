package main

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/rs/zerolog"

	"github.com/loopback-dev/loopback/config"
	"github.com/loopback-dev/loopback/narrate"
	"github.com/loopback-dev/loopback/probe"
	probereport "github.com/loopback-dev/loopback/probe/report"
)

// probeConfig is what `loopback probe URL` reads, each setting from its
// flag or LOOPBACK_PROBE_<KEY>.
type probeConfig struct {
	Target    probe.Target  // the positional argument; no flag, no variable
	Count     int           `env:"COUNT" deprecated:"LOOPBACK_COUNT" envDefault:"100" short:"c" help:"round trips to measure"`
	Duration  time.Duration `env:"DURATION" deprecated:"LOOPBACK_DURATION" envDefault:"0" short:"d" help:"measure for this long instead of --count (0: use --count)"`
	Size      int           `env:"SIZE" deprecated:"LOOPBACK_SIZE" envDefault:"64" arg:"bytes" help:"payload bytes per round trip: 16 to 65507 for udp and unixgram, to 1048576 for tcp and unix"`
	Interval  time.Duration `env:"INTERVAL" deprecated:"LOOPBACK_INTERVAL" envDefault:"0" help:"time between sends on each connection, scheduled from the start (0: back to back)"`
	Rate      float64       `env:"RATE" deprecated:"LOOPBACK_RATE" envDefault:"0" arg:"per-second" help:"round trips per second over all connections, on a fixed schedule; each is timed from when it was due (0: back to back)"`
	Conns     int           `env:"CONCURRENCY" deprecated:"LOOPBACK_CONCURRENCY" envDefault:"1" help:"connections (UDP sockets) probing in parallel, each doing --count round trips"`
	Timeout   time.Duration `env:"TIMEOUT" deprecated:"LOOPBACK_TIMEOUT" envDefault:"1s" help:"wait this long for each reply (and for the connection)"`
	Warmup    int           `env:"WARMUP" deprecated:"LOOPBACK_WARMUP" envDefault:"10" help:"round trips sent first and not measured"`
	MaxErrors int           `env:"MAX_ERRORS" envDefault:"0" help:"end the run after this many failed round trips (lost, late or corrupt), with the report of what completed (0: no limit)"`
	Mode      probe.Mode    `env:"MODE" deprecated:"LOOPBACK_MODE" envDefault:"rtt" arg:"rtt|connect|throughput" help:"rtt: round trips on one connection; connect: connect, echo, close per sample (tcp, unix); throughput: stream for --duration (default 2s) and check every byte (tcp, unix)"`
	Split     bool          `env:"SPLIT" envDefault:"false" help:"send each request in two writes of half the payload (tcp, unix); with --nodelay=false against serve --message-size, shows Nagle's algorithm waiting for the delayed ACK"`
	NoDelay   bool          `env:"NODELAY" envDefault:"true" help:"TCP_NODELAY: every write goes out at once; --nodelay=false turns Nagle's algorithm on, so a small write waits for the ACK of the one before (tcp)"`
	BusyPoll  bool          `env:"BUSY_POLL" deprecated:"LOOPBACK_BUSY_POLL" envDefault:"false" help:"spin on non-blocking reads with the thread locked instead of sleeping: lowest overhead, costs a core per connection"`
	Output    output        `env:"OUTPUT" deprecated:"LOOPBACK_OUTPUT" envDefault:"text" arg:"text|json|jsonl|csv" help:"stdout: text (table and histogram), json (one object), jsonl (one object per interval, then the summary), csv (one row per round trip)"`
	Every     time.Duration `env:"REPORT_EVERY" deprecated:"LOOPBACK_REPORT_EVERY" envDefault:"0" help:"also report each interval of this length as it ends: a line in text, an object in jsonl (default 1s there)"`
	JSON      bool          `env:"JSON" deprecated:"LOOPBACK_JSON" envDefault:"false" short:"j" help:"same as --output json"`
	Hgrm      string        `env:"HGRM" deprecated:"LOOPBACK_HGRM" arg:"path" help:"also write the RTT percentile distribution to this file in HdrHistogram's .hgrm format, for its plotters"`
	Assert    assertions    `env:"ASSERT" deprecated:"LOOPBACK_ASSERT" arg:"conditions" help:"exit 1 unless every condition holds, e.g. \"p99<200us,loss=0\" (metrics: min mean stddev p50 p90 p99 p999 max jitter connect sent received lost corrupt late dup reordered loss rps)"`
	Trace     bool          `env:"TRACE" envDefault:"false" help:"narrate the first connection on stderr in plain sentences: the connect, the first 5 measured round trips (each write and reply) and the close (for learning; replaces the log)"`
	Log       config.Log
}

// traceRoundTrips is how many measured round trips --trace tells one by
// one: enough to see the pattern, few enough to read; the rest are
// counted in one line.
const traceRoundTrips = 5

const probeSynopsis = `usage: loopback probe [flags] URL

Measures round trips to an echo server. URL is tcp://host:port, udp://host:port
or host:port (TCP), or a Unix socket: unix:///path or unixgram:///path (and
unix://@name in Linux's abstract namespace). Exit 0 when every round trip came
back intact, 1 when any was lost or corrupt or the target could not be reached,
2 for bad usage, 130 or 143 when SIGINT or SIGTERM cut the run short (the report
says how far it got).

Reading the numbers: every time is the whole round trip, not half of it as
sockperf and qperf report. p50 is the typical round trip; p99 and p99.9 are the
tail a busy service feels, and the ones to alert on; max is one worst case.
mean and stddev are there for comparison with tools that print only them, and
one outlier moves both. jitter is RFC 3550's interarrival jitter, a smoothed
mean of how much each round trip differs from the one before; spread is
p99 - p50.`

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
		return c, config.Usagef("probe takes one URL (e.g. tcp://127.0.0.1:7007, udp://[::1]:7007 or unix:///tmp/echo.sock), got %d arguments", len(l.Args))
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
	problems = append(problems, namedProblems(l, c.options().Validate(c.Target.Network), probeFields)...)
	if c.Hgrm != "" {
		// Checked now, not when the run is over and its result would be lost.
		if err := checkOutputFile(c.Hgrm); err != nil {
			problems = append(problems, config.Usagef("%s: %v", named(l, "Hgrm", c.Hgrm), err))
		}
	}
	return c, errors.Join(problems...)
}

// probeFields maps each field of probe.Options to the setting that fills
// it, so that the probe's objections name what the user set.
var probeFields = map[string]string{"Count": "Count", "Duration": "Duration", "Size": "Size", "Interval": "Interval",
	"Timeout": "Timeout", "Warmup": "Warmup", "Concurrency": "Conns", "Mode": "Mode", "BusyPoll": "BusyPoll", "MaxErrors": "MaxErrors",
	"Split": "Split", "Nagle": "NoDelay"}

// namedProblems turns the probe's objections to its options into usage
// errors, one per problem, each naming the flag or variable the value came
// from: fields maps an Options field to the settings field that fills it.
// An objection to a field that no setting fills keeps the probe's words.
func namedProblems(l config.Loaded, err error, fields map[string]string) []error {
	var p []error
	for _, e := range unjoin(err) {
		oe, ok := errors.AsType[*probe.OptionError](e)
		if !ok || fields[oe.Field] == "" {
			p = append(p, config.Usagef("%v", e))
			continue
		}
		p = append(p, config.Usagef("%s: %s", named(l, fields[oe.Field], oe.Value), oe.Why))
	}
	return p
}

// named is a setting as the user gave it, with its value, for a message:
// --size 70000, or LOOPBACK_PROBE_SIZE=70000.
func named(l config.Loaded, field, value string) string {
	switch {
	case value == "":
		return l.Name(field)
	case l.Source(field) == config.Env || l.Source(field) == config.DeprecatedEnv:
		return l.Name(field) + "=" + value
	}
	return l.Name(field) + " " + value
}

// unjoin returns the errors that errors.Join put in err, or err alone.
func unjoin(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	if err == nil {
		return nil
	}
	return []error{err}
}

// checkOutputFile refuses a path that could not be written once the run is
// over: its directory must exist and take a new file, and the path must
// not be a directory or a file that cannot be written. It leaves nothing
// behind.
func checkOutputFile(path string) error {
	dir := filepath.Dir(path)
	st, err := os.Stat(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("directory %s does not exist", dir)
	case err != nil:
		return err
	case !st.IsDir():
		return fmt.Errorf("%s is not a directory", dir)
	}
	if st, err := os.Stat(path); err == nil {
		if st.IsDir() {
			return errors.New("is a directory")
		}
		f, err := os.OpenFile(path, os.O_WRONLY, 0)
		if err != nil {
			return fmt.Errorf("cannot be written: %w", errors.Unwrap(err))
		}
		return f.Close()
	}
	f, err := os.CreateTemp(dir, ".loopback-probe-*")
	if err != nil {
		return fmt.Errorf("cannot create a file in %s: %w", dir, errors.Unwrap(err))
	}
	f.Close()
	return os.Remove(f.Name())
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
	if c.Rate > 0 && c.Conns > 0 && c.options().Interval <= 0 {
		p = append(p, config.Usagef("%s: %g round trips per second over %d connections is more than one per nanosecond on each", l.Name("Rate"), c.Rate, c.Conns))
	}
	if c.Trace && c.Mode != probe.ModeRTT {
		p = append(p, config.Usagef("%s tells round trips one by one: %s rtt only", l.Name("Trace"), l.Name("Mode")))
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
		MaxErrors:   c.MaxErrors,
		Split:       c.Split,
		Nagle:       !c.NoDelay,
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
// With JSON output the report is there on every outcome, failures included.
func runProbe(ctx context.Context, args, environ []string, stdout, stderr io.Writer) error {
	c, err := loadProbe(args, environ, stdout, stderr)
	if err != nil {
		return err
	}
	o := c.options()
	o.Log = newLogger(stderr, c.Log)
	if c.Trace {
		// One narration for the log and the trace, as serve --trace has.
		nw := narrate.NewWriter(stderr)
		o.Log = zerolog.New(nw).Level(c.Log.Level.Level).Hook(timestamp{})
		o.Trace = zerolog.New(nw).Level(zerolog.TraceLevel).Hook(timestamp{})
		o.TraceRoundTrips = traceRoundTrips
	}
	var samples *probereport.SampleWriter
	if c.Output == outputCSV {
		samples = probereport.NewSampleWriter(stdout)
		o.Samples = samples
	}
	live := reportIntervals(&o, c, stdout, stderr)
	r, runErr := probe.Run(ctx, c.Target, o)
	if live {
		fmt.Fprint(stderr, clearLine)
	}
	err = outcome(r, runErr, c)
	if werr := report(stdout, r, c, samples, runErr, err); werr != nil && err == nil {
		err = werr
	}
	return err
}

// outcome is what ends the probe, the first there is of: the run's error,
// its verdict, a failure to write --hgrm, and a failed assertion. The
// distribution is written even for a run that failed, since what it
// measured may be what the user is after.
func outcome(r *probe.Result, runErr error, c probeConfig) error {
	if runErr != nil {
		return runErr
	}
	err := r.Err()
	if c.Hgrm != "" {
		if herr := writeHgrm(c.Hgrm, r); herr != nil && err == nil {
			err = herr
		}
	}
	if err != nil {
		return err
	}
	if err := r.Assert(c.Assert.list); err != nil {
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
	// A status line rewriting itself would garble a narration.
	live := isTerminal(stderr) && c.Output == outputText && c.Mode == probe.ModeRTT && !c.Log.Quiet && !c.Trace
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

// report writes the report in the chosen format: the table, or the CSV
// rows, of whatever the run measured; the JSON document on every outcome,
// with err, what ends the probe.
func report(w io.Writer, r *probe.Result, c probeConfig, samples *probereport.SampleWriter, runErr, err error) error {
	var werr error
	switch format := c.Output; {
	case format == outputJSON || format == outputJSONL:
		werr = probereport.WriteJSON(w, r, err)
	case runErr != nil: // nothing was measured
		return nil
	case samples != nil:
		if err := samples.Flush(); err != nil {
			return fmt.Errorf("write samples: %w", err)
		}
	case c.quietProbe():
		werr = writeProbeVerdict(w, r)
	default:
		werr = probereport.WriteText(w, r)
	}
	if werr != nil {
		return fmt.Errorf("write report: %w", werr)
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
