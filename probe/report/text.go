// Package report presents what a probe run measured: the text report with
// its histogram, JSON, HdrHistogram's .hgrm, a CSV row per round-trip
// event, and the interval lines. A new output format belongs here, and
// needs nothing from package probe but its exported results.
package report

import (
	"bytes"
	"fmt"
	"io"
	"time"

	"github.com/loopback-dev/loopback/internal/human"
	"github.com/loopback-dev/loopback/probe"
)

// WriteText writes a report for a terminal: what was probed, the counts,
// one table of RTT statistics in a unit that suits them, then any warning
// and the reason the run stopped early.
func WriteText(w io.Writer, r *probe.Result) error {
	var b bytes.Buffer
	if r.Mode == probe.ModeThroughput {
		writeThroughput(r, &b)
		_, err := w.Write(b.Bytes())
		return err
	}
	fmt.Fprintf(&b, "%s  %s\n", where(r), what(r))
	if r.Target.Stream() && r.Mode != probe.ModeConnect {
		fmt.Fprintf(&b, "connect   %s\n", human.Duration(r.Connect))
	}
	b.WriteString(counts(r) + "\n")
	writeTable(r, &b)
	if r.Received > 1 {
		fmt.Fprintf(&b, "jitter    %s (RFC 3550 interarrival)  spread (p99-p50) %s  %s\n", human.Duration(r.Jitter), spread(r), throughput(r))
	}
	if r.Clock.ReadCost > 0 {
		fmt.Fprintf(&b, "clock     %s per reading, %s resolution; %s\n",
			human.Duration(r.Clock.ReadCost), human.Duration(r.Clock.Resolution), mode(r))
	}
	writeNotes(r, &b)
	if r.Received > 0 {
		b.WriteString("\n")
		if err := writeHistogram(&b, r.RTT, r.AboveRange, histWidth); err != nil {
			return err
		}
	}
	_, err := w.Write(b.Bytes())
	return err
}

// writeNotes writes what the numbers need said about them: values past the
// histogram, a schedule that slipped, and why the run stopped early.
func writeNotes(r *probe.Result, b *bytes.Buffer) {
	if r.AboveRange > 0 {
		fmt.Fprintf(b, "note: %d RTT%s above the histogram's range of %s: in min, max, mean and stddev as measured; a percentile that lands there shows as %s\n",
			r.AboveRange, plural(r.AboveRange), human.Duration(probe.HistMax), aboveRange)
	}
	if r.Behind > 0 {
		fmt.Fprintf(b, "warning: %.3g%% of sends (%d of %d) went out late: round trips took longer than the %s interval; the corrected row counts that wait\n",
			100*float64(r.Behind)/float64(max(r.Sent, 1)), r.Behind, r.Sent, r.Interval)
	}
	if r.Aborted != "" {
		fmt.Fprintf(b, "stopped early: %s\n", r.Aborted)
	}
}

// writeThroughput reports a stream: bytes and rate each way, and whether
// every byte came back as sent.
func writeThroughput(r *probe.Result, b *bytes.Buffer) {
	fmt.Fprintf(b, "%s  stream of %d KiB writes for %s", where(r), probe.StreamChunk>>10, human.Duration(r.SendFor))
	if r.Conns > 1 {
		fmt.Fprintf(b, " on %d connections", r.Conns)
	}
	verdict := "every byte verified"
	if r.Corrupt > 0 {
		verdict = "CORRUPT"
	}
	fmt.Fprintf(b, "\nsent      %s  %.2f Gbit/s\nreceived  %s  %.2f Gbit/s  %s\n",
		fmtBytes(r.BytesSent), r.SendGbps(), fmtBytes(r.BytesReceived), r.ReceiveGbps(), verdict)
	if r.Aborted != "" {
		fmt.Fprintf(b, "stopped early: %s\n", r.Aborted)
	}
}

func fmtBytes(n uint64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.2f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	}
	return fmt.Sprintf("%d bytes", n)
}

// histWidth is the longest bar of the text report's histogram, in columns:
// with its labels the histogram fits in 80.
const histWidth = 40

func mode(r *probe.Result) string {
	if r.Reads == "" {
		return "replies read through the Go poller"
	}
	return "replies read " + r.Reads
}

// where names the target, and the address it resolved to when the user
// gave a host name.
func where(r *probe.Result) string {
	s := r.Target.String()
	if r.Addr.IsValid() && r.Addr.Addr().String() != r.Target.Host {
		s += " (" + r.Addr.String() + ")"
	}
	return s
}

func what(r *probe.Result) string {
	unit := "round trip"
	if r.Mode == probe.ModeConnect {
		unit = "connection"
	}
	s := fmt.Sprintf("%d-byte payload, %d %s%s", r.Size, r.Sent, unit, plural(r.Sent))
	if r.Interval > 0 {
		s += " every " + r.Interval.String()
	}
	s += " in " + human.Duration(r.Elapsed)
	if r.Warmup > 0 {
		s += fmt.Sprintf(" (warm-up %d)", r.Warmup)
	}
	if r.Mode == probe.ModeRTT {
		// Said once, where people compare: sockperf and qperf report half.
		s += "; times are the whole round trip, not half"
	}
	return s
}

func counts(r *probe.Result) string {
	s := fmt.Sprintf("sent %d  received %d  lost %d", r.Sent, r.Received, r.Lost)
	if r.Lost > 0 && r.Late == 0 {
		s += fmt.Sprintf(" (%.3g%%)", r.LossPct())
	}
	s += fmt.Sprintf("  corrupt %d", r.Corrupt)
	if !r.Target.Stream() || r.Late > 0 {
		s += fmt.Sprintf("  late %d", r.Late)
		if r.Late > 0 {
			// Both missed their deadline: the loss figure counts both.
			s += fmt.Sprintf(" (lost or late %.3g%%)", r.LossPct())
		}
		s += fmt.Sprintf("  dup %d  reordered %d", r.Dup, r.Reordered)
		if r.Reordered > 0 {
			s += fmt.Sprintf(" (by up to %d)", r.MaxReorder)
		}
	}
	return s
}

// tableRow is one row of the RTT table: its label and its distribution.
type tableRow struct {
	label string
	d     *probe.Dist
}

// writeTable writes the RTT statistics in one unit, chosen from the
// largest value so that every column has the same scale: one row, or with
// a send schedule the corrected row above the raw one.
func writeTable(r *probe.Result, b *bytes.Buffer) {
	if r.Received == 0 {
		b.WriteString("rtt       no replies\n")
		return
	}
	rows := []tableRow{{"", &r.Dist}}
	switch {
	case r.Raw != nil:
		rows = []tableRow{{"corrected", &r.Dist}, {"raw", r.Raw}}
	case r.Connects != nil:
		// Each sample is connect + echo + close; the connect alone below.
		rows = []tableRow{{"sample", &r.Dist}, {"connect", r.Connects}}
	}
	// The unit suits the median, so that typical values keep their
	// digits; a far tail just takes more of them.
	unit, scale := tableUnit(r.Quantile(50))
	decimals := 1
	switch t := float64(r.Quantile(50)) / scale; {
	case t < 1:
		decimals = 3
	case t < 10:
		decimals = 2
	}
	fmt.Fprintf(b, "%-10s", "rtt "+unit)
	for _, st := range r.Dist.Stats() {
		fmt.Fprintf(b, "%9s", st.Name)
	}
	for _, row := range rows {
		fmt.Fprintf(b, "\n%-10s", row.label)
		for _, st := range row.d.Stats() {
			if st.Above {
				fmt.Fprintf(b, "%9s", aboveRange)
				continue
			}
			fmt.Fprintf(b, "%9.*f", decimals, float64(st.Value)/scale)
		}
	}
	b.WriteString("\n")
}

// aboveRange stands for a percentile that landed above the histogram's
// range: all that is known of it.
var aboveRange = fmt.Sprintf("> %d s", probe.HistMax/time.Second)

// quantile formats percentile pct of d for a person.
func quantile(d *probe.Dist, pct float64) string {
	if d.Above(pct) {
		return aboveRange
	}
	return human.Duration(d.Quantile(pct))
}

// spread is p99 - p50, unknown when p99 is above the histogram's range.
func spread(r *probe.Result) string {
	if r.Above(99) {
		return "unknown (p99 " + aboveRange + ")"
	}
	return human.Duration(r.Quantile(99) - r.Quantile(50))
}

// throughput is the rate of intact round trips over the run.
func throughput(r *probe.Result) string {
	unit := "round trips/s"
	if r.Mode == probe.ModeConnect {
		unit = "connections/s"
	}
	s := fmt.Sprintf("%.0f %s", r.RPS(), unit)
	if r.RPS() < 100 {
		s = fmt.Sprintf("%.3g %s", r.RPS(), unit)
	}
	if r.Conns > 1 {
		s += fmt.Sprintf(" over %d connections", r.Conns)
	}
	return s
}

func tableUnit(typical time.Duration) (string, float64) {
	switch {
	case typical < 10*time.Millisecond:
		return "µs", 1e3
	case typical < 10*time.Second:
		return "ms", 1e6
	}
	return "s", 1e9
}

func plural(n uint64) string {
	if n == 1 {
		return ""
	}
	return "s"
}
