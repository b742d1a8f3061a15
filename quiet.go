package main

import (
	"fmt"
	"io"

	"github.com/loopback-dev/loopback/probe"
)

// -q (--quiet, LOOPBACK_QUIET) prints only what a script reads: serve's
// ready lines, check's verdict line, and probe's one-line verdict in place
// of its text report. JSON, JSON lines and CSV are what a script asked for,
// so -q leaves them alone. Every command's log shows only warnings and
// errors (newLogger).

// quietProbe reports whether the probe's report is the -q verdict line.
func (c probeConfig) quietProbe() bool { return c.Log.Quiet && c.Output == outputText }

// writeProbeVerdict is the probe's report under -q: whether every round
// trip came back intact, with the median and the tail, in one line. Why
// not is on stderr, as without -q.
func writeProbeVerdict(w io.Writer, r *probe.Result) error {
	verdict := "OK"
	if !r.OK() {
		verdict = "FAILED"
	}
	var err error
	if r.Mode == probe.ModeThroughput {
		_, err = fmt.Fprintf(w, "probe %s: %s, %d of %d bytes back intact, %.2f Gbit/s\n",
			verdict, r.Target, r.BytesReceived, r.BytesSent, r.ReceiveGbps())
	} else {
		_, err = fmt.Fprintf(w, "probe %s: %s, %d of %d round trips back intact, rtt p50 %s, p99 %s\n",
			verdict, r.Target, r.Received, r.Sent, micros(r.Quantile(50)), micros(r.Quantile(99)))
	}
	if err != nil {
		return fmt.Errorf("write report: %w", err)
	}
	return nil
}
