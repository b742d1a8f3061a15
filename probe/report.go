package probe

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"time"
)

// WriteText writes a report for a terminal: what was probed, the counts,
// one table of RTT statistics in a unit that suits them, then any warning
// and the reason the run stopped early.
func (r *Result) WriteText(w io.Writer) error {
	var b bytes.Buffer
	if r.Mode == ModeThroughput {
		r.writeThroughput(&b)
		_, err := w.Write(b.Bytes())
		return err
	}
	fmt.Fprintf(&b, "%s  %s\n", r.where(), r.what())
	if r.Target.Network == "tcp" && r.Mode != ModeConnect {
		fmt.Fprintf(&b, "connect   %s\n", fmtDuration(r.Connect))
	}
	b.WriteString(r.counts() + "\n")
	r.writeTable(&b)
	if r.Received > 1 {
		fmt.Fprintf(&b, "jitter    %s  spread (p99-p50) %s  %s\n", fmtDuration(r.Jitter),
			fmtDuration(r.Quantile(99)-r.Quantile(50)), r.throughput())
	}
	if r.Clock.ReadCost > 0 {
		fmt.Fprintf(&b, "clock     %s per reading, %s resolution; %s\n",
			fmtDuration(r.Clock.ReadCost), fmtDuration(r.Clock.Resolution), r.mode())
	}
	if r.OutOfRange > 0 {
		fmt.Fprintf(&b, "note: %d RTT%s above 60 s counted in min and max only, not in mean, stddev or percentiles\n",
			r.OutOfRange, plural(r.OutOfRange))
	}
	if r.Behind > 0 {
		fmt.Fprintf(&b, "warning: %.3g%% of sends (%d of %d) went out late: round trips took longer than the %s interval; the corrected row counts that wait\n",
			100*float64(r.Behind)/float64(max(r.Sent, 1)), r.Behind, r.Sent, r.Interval)
	}
	if r.Aborted != "" {
		fmt.Fprintf(&b, "stopped early: %s\n", r.Aborted)
	}
	if r.Received > 0 {
		b.WriteString("\n")
		if err := WriteHistogram(&b, r.RTT, histWidth); err != nil {
			return err
		}
	}
	_, err := w.Write(b.Bytes())
	return err
}

// writeThroughput reports a stream: bytes and rate each way, and whether
// every byte came back as sent.
func (r *Result) writeThroughput(b *bytes.Buffer) {
	fmt.Fprintf(b, "%s  stream of %d KiB writes for %s", r.where(), streamChunk>>10, fmtDuration(r.SendFor))
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

func (r *Result) mode() string {
	if r.Reads == "" {
		return "replies read through the Go poller"
	}
	return "replies read " + r.Reads
}

// where names the target, and the address it resolved to when the user
// gave a host name.
func (r *Result) where() string {
	s := r.Target.String()
	if r.Addr.IsValid() && r.Addr.Addr().String() != r.Target.Host {
		s += " (" + r.Addr.String() + ")"
	}
	return s
}

func (r *Result) what() string {
	unit := "round trip"
	if r.Mode == ModeConnect {
		unit = "connection"
	}
	s := fmt.Sprintf("%d-byte payload, %d %s%s", r.Size, r.Sent, unit, plural(r.Sent))
	if r.Interval > 0 {
		s += " every " + r.Interval.String()
	}
	s += " in " + fmtDuration(r.Elapsed)
	if r.Warmup > 0 {
		s += fmt.Sprintf(" (warm-up %d)", r.Warmup)
	}
	return s
}

func (r *Result) counts() string {
	s := fmt.Sprintf("sent %d  received %d  lost %d", r.Sent, r.Received, r.Lost)
	if r.Lost > 0 && r.Late == 0 {
		s += fmt.Sprintf(" (%.3g%%)", r.LossPct())
	}
	s += fmt.Sprintf("  corrupt %d", r.Corrupt)
	if r.Target.Network == "udp" || r.Late > 0 {
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

// writeTable writes the RTT statistics in one unit, chosen from the
// largest value so that every column has the same scale: one row, or with
// a send schedule the corrected row above the raw one.
func (r *Result) writeTable(b *bytes.Buffer) {
	if r.Received == 0 {
		b.WriteString("rtt       no replies\n")
		return
	}
	rows := []struct {
		label string
		d     *Dist
	}{{"", &r.Dist}}
	switch {
	case r.Raw != nil:
		rows = []struct {
			label string
			d     *Dist
		}{{"corrected", &r.Dist}, {"raw", r.Raw}}
	case r.Connects != nil:
		// Each sample is connect + echo + close; the connect alone below.
		rows = []struct {
			label string
			d     *Dist
		}{{"sample", &r.Dist}, {"connect", r.Connects}}
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
			fmt.Fprintf(b, "%9.*f", decimals, float64(st.Value)/scale)
		}
	}
	b.WriteString("\n")
}

// throughput is the rate of intact round trips over the run.
func (r *Result) throughput() string {
	unit := "round trips/s"
	if r.Mode == ModeConnect {
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

// fmtDuration formats d with a unit and three or four significant digits:
// 850 ns, 48.3 µs, 2.05 ms, 1.00 s.
func fmtDuration(d time.Duration) string {
	v, unit := float64(d), "ns"
	switch {
	case d < time.Microsecond:
		return fmt.Sprintf("%d ns", d)
	case d < time.Millisecond:
		v, unit = v/1e3, "µs"
	case d < time.Second:
		v, unit = v/1e6, "ms"
	default:
		v, unit = v/1e9, "s"
	}
	if v < 10 {
		return fmt.Sprintf("%.2f %s", v, unit)
	}
	return fmt.Sprintf("%.1f %s", v, unit)
}

// jsonResult is the shape of WriteJSON's object. Durations are float
// numbers in the unit their name ends with.
type jsonResult struct {
	Target      string   `json:"target"`
	Proto       string   `json:"proto"`
	Addr        string   `json:"addr,omitempty"`
	Size        int      `json:"size"`
	Warmup      int      `json:"warmup"`
	IntervalMS  float64  `json:"interval_ms"`
	TimeoutMS   float64  `json:"timeout_ms"`
	Sent        uint64   `json:"sent"`
	Received    uint64   `json:"received"`
	Lost        uint64   `json:"lost"`
	Corrupt     uint64   `json:"corrupt"`
	Late        uint64   `json:"late"`
	Behind      uint64   `json:"behind"`
	Dup         uint64   `json:"dup"`
	Reordered   uint64   `json:"reordered"`
	MaxReorder  uint64   `json:"max_reorder"`
	OutOfRange  uint64   `json:"rtt_out_of_range"`
	ConnectUS   *float64 `json:"connect_us,omitempty"`
	ElapsedS    float64  `json:"elapsed_s"`
	OK          bool     `json:"ok"`
	Interrupted bool     `json:"interrupted"`
	Aborted     string   `json:"aborted,omitempty"`
	Conns       int      `json:"conns"`
	RPS         float64  `json:"round_trips_per_s"`
	JitterUS    float64  `json:"jitter_us"`
	SpreadUS    float64  `json:"spread_us"`
	ClockReadNS int64    `json:"clock_read_ns"`
	ClockResNS  int64    `json:"clock_resolution_ns"`
	BusyPoll    bool     `json:"busy_poll"`
	Reads       string   `json:"reads,omitempty"`
	Mode        Mode     `json:"mode"`
	// ModeConnect: connect time alone; ModeThroughput: the stream.
	ConnectsUS    *jsonRTT `json:"connects_us,omitempty"`
	BytesSent     uint64   `json:"bytes_sent,omitempty"`
	BytesReceived uint64   `json:"bytes_received,omitempty"`
	SendGbps      float64  `json:"send_gbit_s,omitempty"`
	ReceiveGbps   float64  `json:"receive_gbit_s,omitempty"`
	// RTT is null when nothing was received: no statistic would be honest.
	// With a send schedule it is timed from when each send was due, and
	// RawRTT from the actual send.
	RTT    *jsonRTT `json:"rtt_us"`
	RawRTT *jsonRTT `json:"rtt_raw_us,omitempty"`
}

type jsonRTT struct {
	Min    float64 `json:"min"`
	Mean   float64 `json:"mean"`
	StdDev float64 `json:"stddev"`
	P50    float64 `json:"p50"`
	P90    float64 `json:"p90"`
	P99    float64 `json:"p99"`
	P999   float64 `json:"p999"`
	Max    float64 `json:"max"`
}

// WriteJSON writes the result as one JSON object and a newline. RTT
// statistics are in rtt_us as microseconds with nanosecond precision
// (23.456); rtt_us is null when nothing was received. connect_us appears
// for TCP only; aborted only when the run stopped early.
func (r *Result) WriteJSON(w io.Writer) error {
	j := jsonResult{
		Target: r.Target.String(), Proto: r.Target.Network, Size: r.Size, Warmup: r.Warmup,
		IntervalMS: ms(r.Interval), TimeoutMS: ms(r.Timeout),
		Sent: r.Sent, Received: r.Received, Lost: r.Lost, Corrupt: r.Corrupt, Late: r.Late,
		Behind: r.Behind, Dup: r.Dup, Reordered: r.Reordered, MaxReorder: r.MaxReorder, OutOfRange: r.OutOfRange, ElapsedS: r.Elapsed.Seconds(),
		OK: r.OK(), Interrupted: r.Interrupted, Aborted: r.Aborted,
		Conns: r.Conns, RPS: math.Round(r.RPS()*10) / 10,
		ClockReadNS: int64(r.Clock.ReadCost), ClockResNS: int64(r.Clock.Resolution), BusyPoll: r.BusyPoll, Reads: r.Reads,
		Mode: r.Mode, BytesSent: r.BytesSent, BytesReceived: r.BytesReceived,
		SendGbps: round3(r.SendGbps()), ReceiveGbps: round3(r.ReceiveGbps()),
	}
	if r.Addr.IsValid() {
		j.Addr = r.Addr.String()
	}
	if r.Target.Network == "tcp" {
		c := us(r.Connect)
		j.ConnectUS = &c
	}
	if r.Connects != nil && r.Connects.Count() > 0 {
		j.ConnectsUS = r.Connects.json()
	}
	if r.Received > 0 {
		j.RTT = r.Dist.json()
		if r.Raw != nil {
			j.RawRTT = r.Raw.json()
		}
		j.JitterUS, j.SpreadUS = us(r.Jitter), us(r.Quantile(99)-r.Quantile(50))
	}
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	return enc.Encode(j)
}

func (d *Dist) json() *jsonRTT {
	st := d.Stats()
	return &jsonRTT{us(st[0].Value), us(st[1].Value), us(st[2].Value), us(st[3].Value),
		us(st[4].Value), us(st[5].Value), us(st[6].Value), us(st[7].Value)}
}

func round3(f float64) float64 { return math.Round(f*1000) / 1000 }

func us(d time.Duration) float64 { return float64(d) / 1e3 }

func ms(d time.Duration) float64 { return math.Round(float64(d)/1e3) / 1e3 }
