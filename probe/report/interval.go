package report

import (
	"encoding/json"
	"fmt"
	"io"
	"math"

	"github.com/loopback-dev/loopback/internal/human"
	"github.com/loopback-dev/loopback/probe"
)

// WriteIntervalText writes the interval as one line.
func WriteIntervalText(w io.Writer, iv *probe.Interval) error {
	span := fmt.Sprintf("%6.2f-%.2f s", iv.From.Seconds(), iv.To.Seconds())
	if iv.Mode == probe.ModeThroughput {
		out, back := iv.Gbps()
		_, err := fmt.Fprintf(w, "%s  sent %.2f Gbit/s  echoed %.2f Gbit/s (checked)\n", span, out, back)
		return err
	}
	what, unit := "rtt", "round trips/s"
	if iv.Mode == probe.ModeConnect {
		what, unit = "connect+echo+close", "connections/s"
	}
	line := fmt.Sprintf("%s  sent %d  lost %d  corrupt %d", span, iv.Sent, iv.Lost, iv.Corrupt)
	if iv.Count() > 0 {
		line += fmt.Sprintf("  %s p50 %s  p99 %s  max %s", what, quantile(&iv.Dist, 50), quantile(&iv.Dist, 99), human.Duration(iv.Max))
	}
	_, err := fmt.Fprintf(w, "%s  %.0f %s\n", line, iv.RPS(), unit)
	return err
}

// jsonInterval is the shape of WriteIntervalJSON's object; "interval":
// true tells it from the summary that follows the intervals in jsonl.
type jsonInterval struct {
	Interval bool       `json:"interval"`
	Mode     probe.Mode `json:"mode"`
	FromS    float64    `json:"from_s"`
	ToS      float64    `json:"to_s"`
	Sent     uint64     `json:"sent"`
	Received uint64     `json:"received"`
	Lost     uint64     `json:"lost"`
	Corrupt  uint64     `json:"corrupt"`
	Late     uint64     `json:"late"`
	Dup      uint64     `json:"dup"`
	RPS      float64    `json:"round_trips_per_s"`
	RTT      *jsonRTT   `json:"rtt_us"`
	// ModeThroughput only.
	BytesSent     uint64  `json:"bytes_sent,omitempty"`
	BytesReceived uint64  `json:"bytes_received,omitempty"`
	SendGbps      float64 `json:"send_gbit_s,omitempty"`
	ReceiveGbps   float64 `json:"receive_gbit_s,omitempty"`
}

// WriteIntervalJSON writes the interval as one JSON object and a newline.
func WriteIntervalJSON(w io.Writer, iv *probe.Interval) error {
	out, back := iv.Gbps()
	j := jsonInterval{Interval: true, Mode: iv.Mode, FromS: iv.From.Seconds(), ToS: iv.To.Seconds(),
		BytesSent: iv.BytesSent, BytesReceived: iv.BytesReceived, SendGbps: round3(out), ReceiveGbps: round3(back),
		Sent: iv.Sent, Received: iv.Received, Lost: iv.Lost, Corrupt: iv.Corrupt, Late: iv.Late, Dup: iv.Dup,
		RPS: math.Round(iv.RPS()*10) / 10}
	if iv.Count() > 0 {
		j.RTT = statsJSON(&iv.Dist)
	}
	return json.NewEncoder(w).Encode(j)
}
