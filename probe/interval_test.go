package probe

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

func TestIntervalsAddUpToTheRun(t *testing.T) {
	t.Parallel()
	for _, network := range []string{"tcp", "udp"} {
		t.Run(network, func(t *testing.T) {
			target := serveTCP(t, tcpEcho)
			if network == "udp" {
				target = serveUDP(t, udpEchoWith(nil))
			}
			var ivs []Interval
			o := Options{Count: 300, Size: 64, Interval: time.Millisecond, Timeout: 5 * time.Second, Concurrency: 2,
				ReportEvery: 50 * time.Millisecond, Report: func(iv Interval) { ivs = append(ivs, iv) }}
			r, err := Run(t.Context(), target, o)
			if err != nil {
				t.Fatal(err)
			}
			var sent, received, recorded uint64
			var to time.Duration
			for i, iv := range ivs {
				if iv.From != to || iv.To <= iv.From {
					t.Errorf("interval %d is %v-%v, want it to start at %v", i, iv.From, iv.To, to)
				}
				to = iv.To
				sent, received, recorded = sent+iv.Sent, received+iv.Received, recorded+iv.Count()
			}
			if len(ivs) < 3 || sent != r.Sent || received != r.Received || recorded != r.Count() {
				t.Errorf("%d intervals add up to sent %d, received %d, recorded %d; the run had %d, %d, %d",
					len(ivs), sent, received, recorded, r.Sent, r.Received, r.Count())
			}
		})
	}
}

// TestIntervalsInTheOtherModes: connect samples and the throughput
// stream's bytes are reported per interval too, and add up to the run.
func TestIntervalsInTheOtherModes(t *testing.T) {
	t.Parallel()
	collect := func(o *Options) *[]Interval {
		var ivs []Interval
		o.ReportEvery, o.Report = 20*time.Millisecond, func(iv Interval) { ivs = append(ivs, iv) }
		return &ivs
	}
	t.Run("connect", func(t *testing.T) {
		t.Parallel()
		o := Options{Mode: ModeConnect, Count: 60, Size: 64, Timeout: 5 * time.Second, Concurrency: 2}
		ivs := collect(&o)
		r, err := Run(t.Context(), serveTCP(t, tcpEcho), o)
		if err != nil {
			t.Fatal(err)
		}
		var sent, recorded uint64
		for _, iv := range *ivs {
			if iv.Mode != ModeConnect {
				t.Fatalf("interval mode %q, want connect", iv.Mode)
			}
			sent, recorded = sent+iv.Sent, recorded+iv.Count()
		}
		if len(*ivs) < 2 || sent != r.Sent || recorded != r.Count() || r.Sent != 120 {
			t.Errorf("%d intervals add up to %d sent, %d recorded; the run had %d, %d (want 120)", len(*ivs), sent, recorded, r.Sent, r.Count())
		}
	})
	t.Run("throughput", func(t *testing.T) {
		t.Parallel()
		o := Options{Mode: ModeThroughput, Count: 1, Duration: 100 * time.Millisecond, Size: 64, Timeout: 5 * time.Second}
		ivs := collect(&o)
		r, err := Run(t.Context(), serveTCP(t, tcpEcho), o)
		if err != nil {
			t.Fatal(err)
		}
		var out, back uint64
		for _, iv := range *ivs {
			out, back = out+iv.BytesSent, back+iv.BytesReceived
		}
		if len(*ivs) < 3 || !r.OK() || out != r.BytesSent || back != r.BytesReceived {
			t.Errorf("%d intervals add up to %d bytes out, %d back; the run had %d, %d", len(*ivs), out, back, r.BytesSent, r.BytesReceived)
		}
		var text bytes.Buffer
		(*ivs)[0].WriteText(&text)
		if !strings.Contains(text.String(), " Gbit/s  echoed ") {
			t.Errorf("a throughput interval reads %q, want its rates", text.String())
		}
	})
}
