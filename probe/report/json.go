package report

import (
	"encoding/json"
	"io"
	"math"
	"strings"
	"time"

	"github.com/loopback-dev/loopback/probe"
)

// jsonResult is the shape of WriteJSON's object. Durations are float
// numbers in the unit their name ends with.
type jsonResult struct {
	Target      string     `json:"target"`
	Proto       string     `json:"proto"`
	Addr        string     `json:"addr,omitempty"`
	Size        int        `json:"size"`
	Warmup      int        `json:"warmup"`
	IntervalMS  float64    `json:"interval_ms"`
	TimeoutMS   float64    `json:"timeout_ms"`
	Sent        uint64     `json:"sent"`
	Received    uint64     `json:"received"`
	Lost        uint64     `json:"lost"`
	Corrupt     uint64     `json:"corrupt"`
	Late        uint64     `json:"late"`
	Behind      uint64     `json:"behind"`
	Dup         uint64     `json:"dup"`
	Reordered   uint64     `json:"reordered"`
	MaxReorder  uint64     `json:"max_reorder"`
	AboveRange  uint64     `json:"rtt_out_of_range"`
	ConnectUS   *float64   `json:"connect_us,omitempty"`
	ElapsedS    float64    `json:"elapsed_s"`
	OK          bool       `json:"ok"`
	Interrupted bool       `json:"interrupted"`
	Aborted     string     `json:"aborted,omitempty"`
	Conns       int        `json:"conns"`
	RPS         float64    `json:"round_trips_per_s"`
	JitterUS    float64    `json:"jitter_us"`
	SpreadUS    *float64   `json:"spread_us"`
	ClockReadNS int64      `json:"clock_read_ns"`
	ClockResNS  int64      `json:"clock_resolution_ns"`
	BusyPoll    bool       `json:"busy_poll"`
	Reads       string     `json:"reads,omitempty"`
	Mode        probe.Mode `json:"mode"`
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
	// AboveRange counts the values above the histogram's 60 s, and
	// AboveRangeStats names the percentiles that landed among them: their
	// value is the range's top, a lower bound.
	AboveRange      uint64   `json:"above_range"`
	AboveRangeStats []string `json:"above_range_stats"`
}

// WriteJSON writes the result as one JSON object and a newline. RTT
// statistics are in rtt_us as microseconds with nanosecond precision
// (23.456); rtt_us is null when nothing was received. connect_us appears
// for TCP only; aborted only when the run stopped early.
func WriteJSON(w io.Writer, r *probe.Result) error {
	j := jsonResult{
		Target: r.Target.String(), Proto: r.Target.Network, Size: r.Size, Warmup: r.Warmup,
		IntervalMS: ms(r.Interval), TimeoutMS: ms(r.Timeout),
		Sent: r.Sent, Received: r.Received, Lost: r.Lost, Corrupt: r.Corrupt, Late: r.Late,
		Behind: r.Behind, Dup: r.Dup, Reordered: r.Reordered, MaxReorder: r.MaxReorder, AboveRange: r.AboveRange, ElapsedS: r.Elapsed.Seconds(),
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
		j.ConnectsUS = statsJSON(r.Connects)
	}
	if r.Received > 0 {
		j.RTT = statsJSON(&r.Dist)
		if r.Raw != nil {
			j.RawRTT = statsJSON(r.Raw)
		}
		j.JitterUS = us(r.Jitter)
		if !r.Above(99) { // else p99 is only a lower bound, and so is the spread
			spread := us(r.Quantile(99) - r.Quantile(50))
			j.SpreadUS = &spread
		}
	}
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	return enc.Encode(j)
}

func statsJSON(d *probe.Dist) *jsonRTT {
	st := d.Stats()
	j := &jsonRTT{us(st[0].Value), us(st[1].Value), us(st[2].Value), us(st[3].Value),
		us(st[4].Value), us(st[5].Value), us(st[6].Value), us(st[7].Value), d.AboveRange, []string{}}
	for _, s := range st {
		if s.Above {
			j.AboveRangeStats = append(j.AboveRangeStats, strings.ReplaceAll(s.Name, ".", ""))
		}
	}
	return j
}

func round3(f float64) float64 { return math.Round(f*1000) / 1000 }

func us(d time.Duration) float64 { return float64(d) / 1e3 }

func ms(d time.Duration) float64 { return math.Round(float64(d)/1e3) / 1e3 }
