package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/rs/zerolog"

	"github.com/loopback-dev/loopback/config"
	"github.com/loopback-dev/loopback/probe"
	probereport "github.com/loopback-dev/loopback/probe/report"
	"github.com/loopback-dev/loopback/server"
)

// checkConfig is what `loopback check` (and `loopback` alone) reads, each
// setting from its flag or LOOPBACK_CHECK_<KEY>.
type checkConfig struct {
	Count  int  `env:"COUNT" envDefault:"1000" short:"c" help:"round trips per protocol"`
	Warmup int  `env:"WARMUP" envDefault:"100" help:"round trips per protocol before measuring"`
	All    bool `env:"ALL" envDefault:"false" help:"check IPv6 loopback (::1) and Unix sockets (stream and datagram) too, side by side"`
	JSON   bool `env:"JSON" deprecated:"LOOPBACK_JSON" envDefault:"false" short:"j" help:"print each probe result as a JSON object, one per line"`
	Log    config.Log
}

// checkSynopsis is the help of check, which is also the program's own.
const checkSynopsis = `usage: loopback [command] [flags]

Commands:
  check       check this machine's loopback stack (the default when no command is given)
  serve       TCP and UDP echo server on 127.0.0.1: loopback serve --help
  stop        stop a server that serve --detach started: loopback stop PID
  probe       measure round trips to an echo server: loopback probe --help
  explain     what an address and port mean here, and who is on it: loopback explain 127.0.0.1:62893
  who         which process holds a port: loopback who 7007
  ports       every socket listening on loopback
  version     print the version (so do -V and --version, after any command)
  help        a command's help: loopback help serve, the same as loopback serve --help
  completion  a shell completion script: loopback completion bash|zsh|fish

With no command, loopback checks this machine's loopback stack: it starts an echo
server on 127.0.0.1:0 in this process, probes it over TCP and UDP, and prints a
verdict. --all adds IPv6 and Unix sockets, to compare what each transport costs.
Exit 0 when loopback works.`

// checkSize is the payload of the self-check's round trips: a typical
// small request.
const checkSize = 64

// loadCheck reads the settings of `loopback check`; the probe package
// judges the options the check will run it with.
func loadCheck(args, environ []string, stdout, stderr io.Writer) (checkConfig, error) {
	var c checkConfig
	l, err := config.Load("check", checkSynopsis, &c, args, environ, stdout, stderr)
	if err != nil {
		return c, err
	}
	var problems []error
	if len(l.Args) > 0 {
		problems = append(problems, config.Usagef("check takes no arguments, got %q", l.Args[0]))
	}
	problems = append(problems, namedProblems(l, c.options().Validate("udp"), checkFields)...)
	return c, errors.Join(problems...)
}

// checkFields maps the fields of probe.Options that the check's settings
// fill to those settings; the rest are the check's own constants.
var checkFields = map[string]string{"Count": "Count", "Warmup": "Warmup"}

// options are the probe's options for each protocol of the check; UDP's
// limits are the narrower, so they are the ones validated.
func (c checkConfig) options() probe.Options {
	return probe.Options{Count: c.Count, Warmup: c.Warmup, Size: checkSize, Timeout: checkTimeout}
}

// checkTimeout is how long one round trip of the self-check may take: on a
// working loopback stack a reply takes microseconds, so a second means the
// stack (or the machine) is in trouble.
const checkTimeout = time.Second

// runCheck is `loopback` alone: start an echo server in this process on
// 127.0.0.1:0 (and [::1]:0 and Unix sockets with --all), probe it over TCP
// and UDP, and say whether loopback works. An interruption ends it after
// the probe it cut short; with --json each probe that ran has its line, on
// every outcome.
func runCheck(ctx context.Context, args, environ []string, stdout, stderr io.Writer) error {
	c, err := loadCheck(args, environ, stdout, stderr)
	if err != nil {
		return err
	}
	log := newLogger(stderr, c.Log)
	addrs := []string{"127.0.0.1:0"}
	if c.All {
		addrs = append(addrs, "[::1]:0")
	}
	var results []*probe.Result
	var errs []error
	for _, a := range addrs {
		rs, es := checkOne(ctx, netip.MustParseAddrPort(a), c, log)
		results, errs = append(results, rs...), append(errs, es...)
		if ctx.Err() != nil {
			break
		}
	}
	var notes []string
	if c.All && ctx.Err() == nil {
		rs, es, ns := checkUnix(ctx, c, log)
		results, errs, notes = append(results, rs...), append(errs, es...), ns
	}
	if c.JSON {
		for _, n := range notes {
			log.Warn().Msg(n)
		}
		for i, r := range results {
			if err := probereport.WriteJSON(stdout, r, errs[i]); err != nil {
				return fmt.Errorf("write report: %w", err)
			}
		}
	} else if err := writeVerdict(stdout, results, notes, c.Log.Quiet); err != nil {
		return fmt.Errorf("write report: %w", err)
	}
	return errors.Join(errs...)
}

// checkOne serves TCP and UDP echo on addr in this process and probes
// both, or as many as it can before an interruption. It returns each
// probe's result and what failed it, nil when the probe passed; if the
// server cannot listen, one result for TCP that measured nothing, and why.
func checkOne(ctx context.Context, addr netip.AddrPort, c checkConfig, log zerolog.Logger) ([]*probe.Result, []error) {
	l, err := server.Listen(ctx, addr, true, true)
	if err != nil {
		t := probe.Target{Network: "tcp", Host: addr.Addr().String(), Port: addr.Port()}
		return []*probe.Result{probe.NewResult(t, c.options())}, []error{fmt.Errorf("self-check: %w", err)}
	}
	defer serveCheck(ctx, l, c, log)()
	port := uint16(l.TCP.Addr().(*net.TCPAddr).Port)
	var targets []probe.Target
	for _, network := range []string{"tcp", "udp"} {
		targets = append(targets, probe.Target{Network: network, Host: addr.Addr().String(), Port: port})
	}
	return probeEach(ctx, targets, c, log)
}

// checkUnix serves Unix stream and datagram echo in this process, on
// sockets in a new temporary directory, and probes each. Unix sockets are
// there to compare with loopback, not part of it: one that cannot be set
// up here (no datagram sockets on Windows, no temporary directory) is
// left out with a note saying why, and the verdict stands on the rest.
func checkUnix(ctx context.Context, c checkConfig, log zerolog.Logger) ([]*probe.Result, []error, []string) {
	dir, err := os.MkdirTemp("", "loopback-check-")
	if err != nil {
		return nil, nil, []string{fmt.Sprintf("unix sockets not measured: %v", err)}
	}
	defer os.RemoveAll(dir)
	var results []*probe.Result
	var errs []error
	var notes []string
	for _, network := range []string{"unix", "unixgram"} {
		path := filepath.Join(dir, network+".sock")
		stream, datagram := path, ""
		if network == "unixgram" {
			stream, datagram = "", path
		}
		ul, err := server.ListenUnix(ctx, stream, datagram, 0o600)
		if err != nil {
			notes = append(notes, fmt.Sprintf("%s not measured: %v", network, err))
			continue
		}
		stop := serveCheck(ctx, ul.Listeners(), c, log)
		rs, es := probeEach(ctx, []probe.Target{{Network: network, Path: path}}, c, log)
		stop()
		results, errs = append(results, rs...), append(errs, es...)
		if ctx.Err() != nil {
			break
		}
	}
	return results, errs, notes
}

// serveCheck serves echo on l in this process until the returned function
// is called, which waits for the servers to stop. The servers' events are
// noise in a verdict; they show only when the user asked for debug
// detail.
func serveCheck(ctx context.Context, l server.Listeners, c checkConfig, log zerolog.Logger) (stop func()) {
	if c.Log.Level.Level > zerolog.DebugLevel {
		log = log.Level(zerolog.WarnLevel)
	}
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	if l.TCP != nil {
		wg.Go(func() { (&server.TCP{Log: log}).Serve(ctx, l.TCP) })
	}
	if l.UDP != nil {
		wg.Go(func() { (&server.UDP{Log: log}).Serve(ctx, l.UDP) })
	}
	if l.UnixGram != nil {
		wg.Go(func() { (&server.UnixGram{Log: log}).Serve(ctx, l.UnixGram) })
	}
	return func() {
		cancel()
		wg.Wait()
	}
}

// probeEach probes each target in turn, or as many as it can before an
// interruption, and returns each result and what failed it, nil when the
// probe passed.
func probeEach(ctx context.Context, targets []probe.Target, c checkConfig, log zerolog.Logger) ([]*probe.Result, []error) {
	o := c.options()
	o.Log = log
	var results []*probe.Result
	var errs []error
	for _, t := range targets {
		r, err := probe.Run(ctx, t, o)
		if err != nil {
			err = fmt.Errorf("self-check: loopback %s does not work: %w", t, err)
		}
		results, errs = append(results, r), append(errs, cmp.Or(err, r.Err()))
		if ctx.Err() != nil {
			break
		}
	}
	return results, errs
}

// writeVerdict prints one line of judgement and, unless quiet, one row per
// protocol and address and the notes.
func writeVerdict(w io.Writer, results []*probe.Result, notes []string, quiet bool) error {
	ok := "OK"
	var where []string
	ips := 0
	for _, r := range results {
		if !r.OK() {
			ok = "FAILED"
		}
		a := "Unix sockets"
		if !r.Target.Unix() {
			a = r.Addr.String()
		}
		if !slices.Contains(where, a) {
			where = append(where, a)
			if !r.Target.Unix() {
				ips++
			}
		}
	}
	fmt.Fprintf(w, "loopback %s: echo on %s, %d round trips of %d bytes per protocol\n",
		ok, andList(where), results[0].Sent, results[0].Size)
	if quiet {
		return nil
	}
	tw := tabwriter.NewWriter(w, 0, 0, 3, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "proto\tconnect\trtt p50\trtt p99\trtt max\tlost\tcorrupt\t")
	for _, r := range results {
		connect := "-"
		if r.Target.Stream() {
			connect = micros(r.Connect)
		}
		proto := r.Target.Network
		if ips > 1 && !r.Target.Unix() {
			proto += map[bool]string{true: " ipv4", false: " ipv6"}[r.Addr.Addr().Is4()]
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%d/%d\t%d\t\n", proto, connect,
			micros(r.Quantile(50)), micros(r.Quantile(99)), micros(r.Max), r.Lost, r.Sent, r.Corrupt)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, n := range notes {
		if _, err := fmt.Fprintf(w, "note: %s\n", n); err != nil {
			return err
		}
	}
	return nil
}

// andList joins words as a sentence does: "a", "a and b", "a, b and c".
func andList(words []string) string {
	if len(words) < 2 {
		return strings.Join(words, "")
	}
	return strings.Join(words[:len(words)-1], ", ") + " and " + words[len(words)-1]
}

// micros formats a duration in microseconds with one decimal, the unit in
// which loopback round trips are read.
func micros(d time.Duration) string {
	return fmt.Sprintf("%.1f µs", float64(d)/1e3)
}
