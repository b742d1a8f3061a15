package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"

	"loopback/config"
	"loopback/probe"
)

// runProbe is `loopback probe URL`: measure, report on stdout, and exit 1
// unless every round trip came back intact, so it doubles as a health check.
func runProbe(ctx context.Context, args, environ []string, stdout, stderr io.Writer) error {
	c, err := config.LoadProbe(args, environ, stdout)
	if err != nil {
		return err
	}
	o := c.ProbeOptions()
	o.Log = newLogger(stderr, c.Log)
	r, err := probe.Run(ctx, c.Target, o)
	if err != nil {
		return err
	}
	if err := report(stdout, r, c.Output); err != nil {
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
	if err := probe.CheckAssertions(c.Assert.List, r.Metrics()); err != nil {
		return fmt.Errorf("%s: %w", r.Target, err)
	}
	return nil
}

func report(w io.Writer, r *probe.Result, format config.Output) error {
	write := r.WriteText
	if format == config.OutputJSON {
		write = r.WriteJSON
	}
	if err := write(w); err != nil {
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
	if err := probe.WriteHgrm(&b, r.RTT); err != nil {
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
