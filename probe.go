package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/loopback-dev/loopback/config"
	"github.com/loopback-dev/loopback/probe"
	probereport "github.com/loopback-dev/loopback/probe/report"
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
	var samples *probereport.SampleWriter
	if c.Output == config.OutputCSV {
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
	if err := probe.CheckAssertions(c.Assert.List, r.Metrics()); err != nil {
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
func reportIntervals(o *probe.Options, c config.Probe, stdout, stderr io.Writer) bool {
	live := isTerminal(stderr) && c.Output == config.OutputText && c.Mode == probe.ModeRTT
	o.ReportEvery = c.Every
	if o.ReportEvery == 0 && live {
		o.ReportEvery = statusEvery
	}
	var sent, lost uint64
	o.Report = func(iv probe.Interval) {
		switch {
		case c.Output == config.OutputJSONL:
			probereport.WriteIntervalJSON(stdout, &iv)
		case c.Every > 0 && c.Output == config.OutputText:
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

func report(w io.Writer, r *probe.Result, format config.Output) error {
	write := probereport.WriteText
	if format == config.OutputJSON || format == config.OutputJSONL {
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
