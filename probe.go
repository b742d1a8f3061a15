package main

import (
	"context"
	"fmt"
	"io"

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
	if err := report(stdout, r, c.JSON); err != nil {
		return err
	}
	return verdict(r)
}

func report(w io.Writer, r *probe.Result, asJSON bool) error {
	write := r.WriteText
	if asJSON {
		write = r.WriteJSON
	}
	if err := write(w); err != nil {
		return fmt.Errorf("write report: %w", err)
	}
	return nil
}

// verdict is the one line on stderr that says why the exit status is 1.
func verdict(r *probe.Result) error {
	if r.OK() {
		return nil
	}
	if r.Aborted != "" {
		return fmt.Errorf("%s: stopped after %d round trips: %s", r.Target, r.Sent, r.Aborted)
	}
	return fmt.Errorf("%s: %d of %d round trips lost, %d corrupt", r.Target, r.Lost, r.Sent, r.Corrupt)
}
