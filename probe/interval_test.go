package probe

import (
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
