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
//
// Every field is there on every outcome, null when it has no value (not
// resolved, nothing measured, not ok), never a 0 standing in for one. The
// fields of one protocol or mode (opt) are left out of the others.
type jsonResult struct {
	Target      string       `json:"target"`
	Proto       string       `json:"proto"`
	Addr        *jsonAddr    `json:"addr"`
	Family      *string      `json:"family"`
	Size        int          `json:"size"`
	Warmup      int          `json:"warmup"`
	IntervalMS  float64      `json:"interval_ms"`
	TimeoutMS   float64      `json:"timeout_ms"`
	Sent        uint64       `json:"sent"`
	Received    uint64       `json:"received"`
	Lost        uint64       `json:"lost"`
	Corrupt     uint64       `json:"corrupt"`
	Late        uint64       `json:"late"`
	Behind      uint64       `json:"behind"`
	Dup         uint64       `json:"dup"`
	Reordered   uint64       `json:"reordered"`
	MaxReorder  uint64       `json:"max_reorder"`
	AboveRange  uint64       `json:"rtt_out_of_range"`
	ConnectUS   opt[float64] `json:"connect_us,omitzero"`
	ElapsedS    *float64     `json:"elapsed_s"`
	OK          bool         `json:"ok"`
	Error       *jsonError   `json:"error"`
	Interrupted bool         `json:"interrupted"`
	Aborted     *string      `json:"aborted"`
	Conns       int          `json:"conns"`
	RPS         *float64     `json:"round_trips_per_s"`
	JitterUS    *float64     `json:"jitter_us"`
	SpreadUS    *float64     `json:"spread_us"`
	ClockReadNS *int64       `json:"clock_read_ns"`
	ClockResNS  *int64       `json:"clock_resolution_ns"`
	BusyPoll    bool         `json:"busy_poll"`
	Reads       *string      `json:"reads"`
	Mode        probe.Mode   `json:"mode"`
	// ModeConnect: connect time alone; ModeThroughput: the stream.
	ConnectsUS    opt[jsonRTT] `json:"connects_us,omitzero"`
	BytesSent     opt[uint64]  `json:"bytes_sent,omitzero"`
	BytesReceived opt[uint64]  `json:"bytes_received,omitzero"`
	SendGbps      opt[float64] `json:"send_gbit_s,omitzero"`
	ReceiveGbps   opt[float64] `json:"receive_gbit_s,omitzero"`
	// RTT is null when nothing was received: no statistic would be honest.
	// With a send schedule it is timed from when each send was due, and
	// RawRTT from the actual send.
	RTT    *jsonRTT     `json:"rtt_us"`
	RawRTT opt[jsonRTT] `json:"rtt_raw_us,omitzero"`
}

// jsonError says why the command failed: a stable code for machines (see
// probe.ErrorCode) and the line printed on stderr for people.
type jsonError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// opt is a field of one protocol or mode: left out of the others
// (omitzero), and null where it belongs but has no value.
type opt[T any] struct {
	applies bool
	v       *T
}

func (o opt[T]) IsZero() bool                 { return !o.applies }
func (o opt[T]) MarshalJSON() ([]byte, error) { return json.Marshal(o.v) }

// optIf is a field that applies when applies is true, with the value v
// when known is true too.
func optIf[T any](applies, known bool, v T) opt[T] {
	if !known {
		return opt[T]{applies: applies}
	}
	return opt[T]{applies, &v}
}

// ptrIf returns &v when known, else nil: null.
func ptrIf[T any](known bool, v T) *T {
	if !known {
		return nil
	}
	return &v
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

// WriteJSON writes the result as one JSON object and a newline, on every
// outcome: err is why the command fails, nil when it succeeds (then r's own
// verdict, r.Err, counts). "ok" is true when there is no error, and
// "error" is its code and message, null when ok. RTT statistics are in
// rtt_us as microseconds with nanosecond precision (23.456); rtt_us is
// null when nothing was received. connect_us appears for streams only (TCP
// and Unix stream sockets).
func WriteJSON(w io.Writer, r *probe.Result, err error) error {
	if err == nil {
		err = r.Err()
	}
	measured := r.Elapsed > 0
	rtt := r.Mode != probe.ModeThroughput
	j := jsonResult{
		Target: r.Target.String(), Proto: r.Target.Network, Addr: addr(r), Family: family(r),
		Size: r.Size, Warmup: r.Warmup, IntervalMS: ms(r.Interval), TimeoutMS: ms(r.Timeout),
		Sent: r.Sent, Received: r.Received, Lost: r.Lost, Corrupt: r.Corrupt, Late: r.Late,
		Behind: r.Behind, Dup: r.Dup, Reordered: r.Reordered, MaxReorder: r.MaxReorder, AboveRange: r.AboveRange,
		ConnectUS: optIf(r.Target.Stream(), r.Connect > 0, us(r.Connect)),
		ElapsedS:  ptrIf(measured, r.Elapsed.Seconds()),
		OK:        err == nil, Interrupted: r.Interrupted, Aborted: ptrIf(r.Aborted != "", r.Aborted),
		Conns: r.Conns, RPS: ptrIf(measured && rtt, math.Round(r.RPS()*10)/10),
		JitterUS:    ptrIf(r.Received > 1, us(r.Jitter)),
		SpreadUS:    ptrIf(r.Received > 0 && !r.Above(99), us(r.Quantile(99)-r.Quantile(50))),
		ClockReadNS: ptrIf(r.Clock != probe.Clock{}, int64(r.Clock.ReadCost)),
		ClockResNS:  ptrIf(r.Clock != probe.Clock{}, int64(r.Clock.Resolution)),
		BusyPoll:    r.BusyPoll, Reads: ptrIf(r.Reads != "", r.Reads), Mode: r.Mode,
	}
	if err != nil {
		j.Error = &jsonError{Code: probe.ErrorCode(err), Message: err.Error()}
	}
	stream := r.Mode == probe.ModeThroughput
	j.BytesSent, j.BytesReceived = optIf(stream, true, r.BytesSent), optIf(stream, true, r.BytesReceived)
	j.SendGbps = optIf(stream, r.SendFor > 0, round3(r.SendGbps()))
	j.ReceiveGbps = optIf(stream, measured, round3(r.ReceiveGbps()))
	j.ConnectsUS = optStats(r.Mode == probe.ModeConnect, r.Connects)
	j.RawRTT = optStats(r.Raw != nil, r.Raw)
	if r.Received > 0 {
		j.RTT = statsJSON(&r.Dist)
	}
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	return enc.Encode(j)
}

// jsonAddr is an address in the vocabulary of every command's JSON:
// {"ip", "port"}, or a Unix socket's {"path"}.
type jsonAddr struct {
	IP   string `json:"ip,omitempty"`
	Port uint16 `json:"port,omitempty"`
	Path string `json:"path,omitempty"`
}

// addr is the address connected to, once resolved, or a Unix socket's
// path as given (@name for an abstract one), which needs no resolving;
// nil when a name did not resolve.
func addr(r *probe.Result) *jsonAddr {
	switch {
	case r.Target.Unix():
		return &jsonAddr{Path: r.Target.Path}
	case r.Addr.IsValid():
		return &jsonAddr{IP: r.Addr.Addr().Unmap().String(), Port: r.Addr.Port()}
	}
	return nil
}

// family is ipv4 or ipv6 for an IP target once resolved; nil for a Unix
// socket, which has none, and for a name that did not resolve.
func family(r *probe.Result) *string {
	if r.Target.Unix() || !r.Addr.IsValid() {
		return nil
	}
	f := "ipv6"
	if r.Addr.Addr().Unmap().Is4() {
		f = "ipv4"
	}
	return &f
}

// optStats is the statistics of d as a field that applies when applies is
// true: null when d holds nothing.
func optStats(applies bool, d *probe.Dist) opt[jsonRTT] {
	o := opt[jsonRTT]{applies: applies}
	if applies && d != nil && d.Count() > 0 {
		o.v = statsJSON(d)
	}
	return o
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
