package config

import (
	"fmt"
	"io"
	"reflect"
	"text/tabwriter"
	"time"

	"github.com/loopback-dev/loopback/probe"
)

const serveSynopsis = `usage: loopback serve [flags]

TCP and UDP echo (RFC 862) on one port number of 127.0.0.1 until a signal or --duration.
Prints one line per listener on stdout (tcp://127.0.0.1:PORT, udp://127.0.0.1:PORT) once bound.`

const probeSynopsis = `usage: loopback probe [flags] URL

Measures round trips to an echo server. URL is tcp://host:port, udp://host:port
or host:port (TCP). Exit 0 when every round trip came back intact, 1 when any was
lost or corrupt or the target could not be reached, 2 for bad usage.`

const checkSynopsis = `usage: loopback [command] [flags]

Commands:
  check    check this machine's loopback stack (the default when no command is given)
  serve    TCP and UDP echo server on 127.0.0.1: loopback serve --help
  probe    measure round trips to an echo server: loopback probe --help
  explain  what an address and port mean here, and who is on it: loopback explain 127.0.0.1:62893
  who      which process holds a port: loopback who 7007
  ports    every socket listening on loopback
  version  print the version

With no command, loopback checks this machine's loopback stack: it starts an echo
server on 127.0.0.1:0 in this process, probes it over TCP and UDP, and prints a
verdict. Exit 0 when loopback works.`

// maxLoops bounds --loops: each loop holds a 64 KiB buffer and a thread
// when busy, and more loops than CPUs only take turns.
const maxLoops = 256

// LoadServe reads the settings of `loopback serve`.
func LoadServe(args, environ []string, help io.Writer) (Serve, error) {
	var c Serve
	pos, list, err := load("serve", serveSynopsis, &c, args, environ, help)
	if err != nil {
		return c, err
	}
	if len(pos) > 0 {
		return c, usagef("serve takes no arguments, got %q (did you mean --addr %s?)", pos[0], pos[0])
	}
	if c.Loops < 0 || c.Loops > maxLoops {
		return c, usagef("%s: %d event loops; give 1 to %d, or 0 for one per two CPUs", sourceOf(list, "Loops"), c.Loops, maxLoops)
	}
	return c, nil
}

// LoadProbe reads the settings of `loopback probe` and its target URL, and
// refuses values no probe could use before any socket is opened.
func LoadProbe(args, environ []string, help io.Writer) (Probe, error) {
	var c Probe
	pos, list, err := load("probe", probeSynopsis, &c, args, environ, help)
	if err != nil {
		return c, err
	}
	if len(pos) != 1 {
		return c, usagef("probe takes one URL (e.g. tcp://127.0.0.1:7007 or udp://[::1]:7007), got %d arguments", len(pos))
	}
	if c.Target, err = probe.ParseTarget(pos[0]); err != nil {
		return c, &UsageError{Msg: err.Error()}
	}
	name := func(goName string) string { return sourceOf(list, goName) }
	if c.JSON && sourceOf(list, "Output") == "--output (default)" {
		c.Output = OutputJSON // --json predates --output and stays as its shorthand
	}
	if c.Output == OutputJSONL && c.Every == 0 {
		c.Every = time.Second
	}
	maxSize := probe.MaxTCPSize
	if c.Target.Network == "udp" {
		maxSize = probe.MaxUDPSize
	}
	switch {
	case c.Size < probe.MinSize || c.Size > maxSize:
		return c, usagef("%s: %d bytes is out of range: %s payloads are %d to %d bytes (the sequence number and run nonce take %d)",
			name("Size"), c.Size, c.Target.Network, probe.MinSize, maxSize, probe.MinSize)
	case c.Count == 0 && c.Duration == 0:
		return c, usagef("%s: 0 round trips would measure nothing; give a count of 1 or more, or --duration", name("Count"))
	case c.Timeout == 0:
		return c, usagef("%s: a timeout of 0 would count every reply as lost; give e.g. 1s", name("Timeout"))
	case c.JSON && c.Output == OutputText && sourceOf(list, "Output") != "--output (default)":
		return c, usagef("%s and %s text disagree; give one of them", name("JSON"), name("Output"))
	case c.Mode != probe.ModeRTT && c.Target.Network == "udp":
		return c, usagef("%s %s measures TCP only; use a tcp:// URL", name("Mode"), c.Mode)
	case c.Output == OutputCSV && c.Mode != probe.ModeRTT:
		return c, usagef("%s %s has no per-round-trip rows for csv; use text, json or jsonl", name("Mode"), c.Mode)
	case c.Conns == 0:
		return c, usagef("%s: 0 connections would measure nothing; give 1 or more", name("Conns"))
	case c.Rate > 0 && c.Interval > 0:
		return c, usagef("%s and %s both set the schedule; give one of them", name("Rate"), name("Interval"))
	case c.Rate > 0 && c.Rate < 0.001:
		return c, usagef("%s: %g round trips per second is less than one in 1000 s; give a larger rate", name("Rate"), c.Rate)
	}
	return c, nil
}

// LoadCheck reads the settings of `loopback check`.
func LoadCheck(args, environ []string, help io.Writer) (Check, error) {
	var c Check
	pos, list, err := load("check", checkSynopsis, &c, args, environ, help)
	if err != nil {
		return c, err
	}
	if len(pos) > 0 {
		return c, usagef("check takes no arguments, got %q", pos[0])
	}
	if c.Count == 0 {
		return c, usagef("%s: 0 round trips would check nothing; give 1 or more", sourceOf(list, "Count"))
	}
	return c, nil
}

// sourceOf names a setting the way the user set it: the flag if given, else
// the variable if set, else both, so the message points at what to change.
func sourceOf(list []*setting, goName string) string {
	for _, s := range list {
		if s.goName == goName {
			if s.source != "" {
				return s.source
			}
			return fmt.Sprintf("--%s (default)", s.flag)
		}
	}
	return goName
}

// writeUsage prints the synopsis and one row per flag: its variable, its
// effective default (after the environment) and what it does.
func writeUsage(w io.Writer, cmd, synopsis string, list []*setting) {
	fmt.Fprintf(w, "%s\n\nFlags (each also read from its environment variable; a flag wins):\n", synopsis)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, s := range list {
		arg := " " + s.arg
		switch {
		case s.arg != "":
		case s.value.Kind() == reflect.Bool:
			arg = ""
		case s.value.Kind() == reflect.Int:
			arg = " n"
		case s.value.Type() == reflect.TypeFor[time.Duration]():
			arg = " duration"
		default:
			arg = " value"
		}
		def := s.String()
		if def == "" {
			def = `""`
		}
		fmt.Fprintf(tw, "  --%s%s\t%s\t(default %s)\t%s\n", s.flag, arg, s.key, def, s.help)
	}
	fmt.Fprintf(tw, "  -h, --help\t\t\tshow this help\n")
	tw.Flush()
}
