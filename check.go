package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/rs/zerolog"

	"loopback/config"
	"loopback/probe"
	"loopback/server"
)

// checkTimeout is how long one round trip of the self-check may take: on a
// working loopback stack a reply takes microseconds, so a second means the
// stack (or the machine) is in trouble.
const checkTimeout = time.Second

// runCheck is `loopback` alone: start an echo server in this process on
// 127.0.0.1:0, probe it over TCP and UDP, and say whether loopback works.
func runCheck(ctx context.Context, args, environ []string, stdout, stderr io.Writer) error {
	c, err := config.LoadCheck(args, environ, stdout)
	if err != nil {
		return err
	}
	log := newLogger(stderr, c.Log)
	// The server's per-connection events are noise in a verdict; show them
	// only when the user asked for debug detail.
	srvLog := log
	if c.Log.Level.Level > zerolog.DebugLevel {
		srvLog = log.Level(zerolog.WarnLevel)
	}
	l, err := server.Listen(ctx, netip.MustParseAddrPort("127.0.0.1:0"), true, true)
	if err != nil {
		return fmt.Errorf("self-check: %w", err)
	}
	srvCtx, stop := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Go(func() { (&server.TCP{Log: srvLog}).Serve(srvCtx, l.TCP) })
	wg.Go(func() { (&server.UDP{Log: srvLog}).Serve(srvCtx, l.UDP) })
	defer wg.Wait()
	defer stop()

	port := uint16(l.TCP.Addr().(*net.TCPAddr).Port)
	o := probe.Options{Count: c.Count, Warmup: c.Warmup, Size: 64, Timeout: checkTimeout, Log: log}
	var results []*probe.Result
	for _, network := range []string{"tcp", "udp"} {
		r, err := probe.Run(ctx, probe.Target{Network: network, Host: "127.0.0.1", Port: port}, o)
		if err != nil {
			return fmt.Errorf("self-check: loopback %s does not work: %w", network, err)
		}
		results = append(results, r)
	}
	if c.JSON {
		for _, r := range results {
			if err := r.WriteJSON(stdout); err != nil {
				return fmt.Errorf("write report: %w", err)
			}
		}
	} else if err := writeVerdict(stdout, results); err != nil {
		return fmt.Errorf("write report: %w", err)
	}
	var errs []error
	for _, r := range results {
		errs = append(errs, verdict(r))
	}
	return errors.Join(errs...)
}

// writeVerdict prints one line of judgement and one row per protocol.
func writeVerdict(w io.Writer, results []*probe.Result) error {
	ok := "OK"
	for _, r := range results {
		if !r.OK() {
			ok = "FAILED"
		}
	}
	r0 := results[0]
	fmt.Fprintf(w, "loopback %s: echo on 127.0.0.1:%d, %d round trips of %d bytes per protocol\n",
		ok, r0.Target.Port, r0.Sent, r0.Size)
	tw := tabwriter.NewWriter(w, 0, 0, 3, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "proto\tconnect\trtt p50\trtt p99\trtt max\tlost\tcorrupt\t")
	for _, r := range results {
		connect := "-"
		if r.Target.Network == "tcp" {
			connect = micros(r.Connect)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%d/%d\t%d\t\n", r.Target.Network, connect,
			micros(r.Quantile(50)), micros(r.Quantile(99)), micros(r.Max), r.Lost, r.Sent, r.Corrupt)
	}
	return tw.Flush()
}

// micros formats a duration in microseconds with one decimal, the unit in
// which loopback round trips are read.
func micros(d time.Duration) string {
	return fmt.Sprintf("%.1f µs", float64(d)/1e3)
}
