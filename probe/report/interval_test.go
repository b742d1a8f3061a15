package report

import (
	"bytes"
	"testing"
	"time"

	"github.com/loopback-dev/loopback/probe"
)

func TestWriteInterval(t *testing.T) {
	t.Parallel()
	rtts := probe.NewDist(18*time.Microsecond, 19*time.Microsecond, 20*time.Microsecond, 95*time.Microsecond)
	tests := []struct {
		name       string
		iv         probe.Interval
		text, json string
	}{
		{"rtt", probe.Interval{Mode: probe.ModeRTT, From: time.Second, To: 2 * time.Second, Sent: 5, Received: 4, Lost: 1, Late: 1, Dist: rtts},
			"  1.00-2.00 s  sent 5  lost 1  corrupt 0  rtt p50 19.0 µs  p99 95.0 µs  max 95.0 µs  4 round trips/s\n",
			`{"interval":true,"mode":"rtt","from_s":1,"to_s":2,"sent":5,"received":4,"lost":1,"corrupt":0,"late":1,"dup":0,"round_trips_per_s":4,"rtt_us":{"min":18,"mean":38.006,"stddev":32.918,"p50":19.007,"p90":95,"p99":95,"p999":95,"max":95,"above_range":0,"above_range_stats":[]}}` + "\n"},
		{"nothing back", probe.Interval{Mode: probe.ModeRTT, To: 500 * time.Millisecond, Sent: 2, Lost: 2, Dist: probe.NewDist()},
			"  0.00-0.50 s  sent 2  lost 2  corrupt 0  0 round trips/s\n",
			`{"interval":true,"mode":"rtt","from_s":0,"to_s":0.5,"sent":2,"received":0,"lost":2,"corrupt":0,"late":0,"dup":0,"round_trips_per_s":0,"rtt_us":null}` + "\n"},
		{"connect", probe.Interval{Mode: probe.ModeConnect, To: time.Second, Sent: 4, Received: 4, Dist: rtts},
			"  0.00-1.00 s  sent 4  lost 0  corrupt 0  connect+echo+close p50 19.0 µs  p99 95.0 µs  max 95.0 µs  4 connections/s\n", ""},
		{"throughput", probe.Interval{Mode: probe.ModeThroughput, To: time.Second, BytesSent: 1 << 30, BytesReceived: 1 << 29, Dist: probe.NewDist()},
			"  0.00-1.00 s  sent 8.59 Gbit/s  echoed 4.29 Gbit/s (checked)\n",
			`{"interval":true,"mode":"throughput","from_s":0,"to_s":1,"sent":0,"received":0,"lost":0,"corrupt":0,"late":0,"dup":0,"round_trips_per_s":0,"rtt_us":null,"bytes_sent":1073741824,"bytes_received":536870912,"send_gbit_s":8.59,"receive_gbit_s":4.295}` + "\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var text, js bytes.Buffer
			if err := WriteIntervalText(&text, &tt.iv); err != nil || text.String() != tt.text {
				t.Errorf("text %q, %v\nwant %q", text.String(), err, tt.text)
			}
			if err := WriteIntervalJSON(&js, &tt.iv); err != nil || tt.json != "" && js.String() != tt.json {
				t.Errorf("JSON %s, %v\nwant %s", js.String(), err, tt.json)
			}
			if err := WriteIntervalText(failWriter{}, &tt.iv); err == nil {
				t.Error("WriteIntervalText hid a write error")
			}
			if err := WriteIntervalJSON(failWriter{}, &tt.iv); err == nil {
				t.Error("WriteIntervalJSON hid a write error")
			}
		})
	}
}
