// Package config reads the settings of each subcommand from the environment
// (prefix LOOPBACK_) and then from flags, in that order of precedence, into
// typed structs. Defaults live only in the envDefault tags below; the help
// text and the flag names are derived from the same tags, so the three can
// never drift apart.
package config

import (
	"time"

	"github.com/loopback-dev/loopback/probe"
)

// Prefix starts the name of every environment variable the program reads.
const Prefix = "LOOPBACK_"

// Log is how a subcommand logs; every subcommand has it.
type Log struct {
	Level  Level     `env:"LOG_LEVEL" envDefault:"info" arg:"level" help:"least severe log event written: trace, debug, info, warn, error"`
	Format LogFormat `env:"LOG_FORMAT" envDefault:"auto" arg:"format" help:"log format on stderr: auto (console on a terminal, else json), console, json"`
}

// Serve configures `loopback serve`.
type Serve struct {
	Addr         HostPort      `env:"ADDR" envDefault:"127.0.0.1:0" arg:"host:port" help:"address to listen on, host:port; port 0 lets the kernel pick one"`
	Proto        Proto         `env:"PROTO" envDefault:"both" arg:"tcp|udp|both" help:"what to serve: tcp, udp or both (one port number for both)"`
	AllowRemote  bool          `env:"ALLOW_REMOTE" envDefault:"false" help:"allow an address outside 127.0.0.0/8 and ::1 (exposes the echo to the network)"`
	PortFile     string        `env:"PORT_FILE" arg:"path" help:"once listening, write the port number to this file (atomically)"`
	MaxConns     int           `env:"MAX_CONNS" envDefault:"0" help:"close TCP connections beyond this many at once (0: no limit)"`
	IdleTimeout  time.Duration `env:"IDLE_TIMEOUT" envDefault:"5m" help:"close a TCP connection with no traffic for this long (0: never)"`
	Duration     time.Duration `env:"DURATION" envDefault:"0" help:"stop by itself after this long (0: run until a signal)"`
	DrainTimeout time.Duration `env:"DRAIN_TIMEOUT" envDefault:"5s" help:"on stop, give open connections this long to finish"`
	Loops        int           `env:"LOOPS" envDefault:"0" help:"event loops serving TCP connections, 1 to 256 (0: one per two CPUs)"`
	Log          Log
}

// Probe configures `loopback probe`. The target URL is the one positional
// argument.
type Probe struct {
	Target   probe.Target  // the positional argument; no flag, no variable
	Count    int           `env:"COUNT" envDefault:"100" help:"round trips to measure"`
	Duration time.Duration `env:"DURATION" envDefault:"0" help:"measure for this long instead of --count (0: use --count)"`
	Size     int           `env:"SIZE" envDefault:"64" arg:"bytes" help:"payload bytes per round trip: 16 to 65507 for udp, to 1048576 for tcp"`
	Interval time.Duration `env:"INTERVAL" envDefault:"0" help:"time between sends on each connection, scheduled from the start (0: back to back)"`
	Rate     float64       `env:"RATE" envDefault:"0" arg:"per-second" help:"round trips per second over all connections, on a fixed schedule; each is timed from when it was due (0: back to back)"`
	Conns    int           `env:"CONCURRENCY" envDefault:"1" flag:"concurrency" help:"connections (UDP sockets) probing in parallel, each doing --count round trips"`
	Timeout  time.Duration `env:"TIMEOUT" envDefault:"1s" help:"wait this long for each reply (and for the connection)"`
	Warmup   int           `env:"WARMUP" envDefault:"10" help:"round trips sent first and not measured"`
	Mode     probe.Mode    `env:"MODE" envDefault:"rtt" arg:"rtt|connect|throughput" help:"rtt: round trips on one connection; connect: connect, echo, close per sample (TCP); throughput: stream for --duration (default 2s) and check every byte (TCP)"`
	BusyPoll bool          `env:"BUSY_POLL" envDefault:"false" help:"spin on non-blocking reads with the thread locked instead of sleeping: lowest overhead, costs a core per connection"`
	Output   Output        `env:"OUTPUT" envDefault:"text" arg:"text|json|jsonl|csv" help:"stdout: text (table and histogram), json (one object), jsonl (one object per interval, then the summary), csv (one row per round trip)"`
	Every    time.Duration `env:"REPORT_EVERY" envDefault:"0" flag:"report-every" help:"also report each interval of this length as it ends: a line in text, an object in jsonl (default 1s there)"`
	JSON     bool          `env:"JSON" envDefault:"false" help:"same as --output json"`
	Hgrm     string        `env:"HGRM" arg:"path" help:"also write the RTT percentile distribution to this file in HdrHistogram's .hgrm format, for its plotters"`
	Assert   Assertions    `env:"ASSERT" arg:"conditions" help:"exit 1 unless every condition holds, e.g. \"p99<200us,loss=0\" (metrics: min mean stddev p50 p90 p99 p999 max jitter connect sent received lost corrupt late dup reordered loss rps)"`
	Log      Log
}

// Check configures `loopback check`, the self-check of the loopback stack.
type Check struct {
	Count  int  `env:"CHECK_COUNT" envDefault:"1000" flag:"count" help:"round trips per protocol"`
	Warmup int  `env:"CHECK_WARMUP" envDefault:"100" flag:"warmup" help:"round trips per protocol before measuring"`
	All    bool `env:"CHECK_ALL" envDefault:"false" flag:"all" help:"check IPv6 loopback (::1) too, side by side"`
	JSON   bool `env:"JSON" envDefault:"false" help:"print each probe result as a JSON object, one per line"`
	Log    Log
}

// defaultStream is how long --mode throughput streams without --duration:
// long enough for the rate to settle, short enough for a quick look.
const defaultStream = 2 * time.Second

// ProbeOptions turns the settings into the probe package's options.
func (c Probe) ProbeOptions() probe.Options {
	interval := c.Interval
	if c.Rate > 0 {
		// Each connection sends at its share of the rate.
		interval = time.Duration(float64(c.Conns) / c.Rate * float64(time.Second))
	}
	duration := c.Duration
	if c.Mode == probe.ModeThroughput && duration == 0 {
		duration = defaultStream
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

// Explain configures `loopback explain ADDR[:PORT]`.
type Explain struct {
	Target string // the positional argument
	JSON   bool   `env:"JSON" envDefault:"false" help:"print one JSON object instead of text"`
}

// Who configures `loopback who PORT`.
type Who struct {
	Port uint16 // the positional argument
	JSON bool   `env:"JSON" envDefault:"false" help:"print a JSON array instead of the table"`
}

// Ports configures `loopback ports`.
type Ports struct {
	All  bool `env:"ALL" envDefault:"false" help:"list sockets on every address, not only those that answer on loopback"`
	JSON bool `env:"JSON" envDefault:"false" help:"print a JSON array instead of the table"`
}
