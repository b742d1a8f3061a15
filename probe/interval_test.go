package probe

import (
	"testing"
	"time"
)

// checkIntervals fails the test unless ivs are what an interval report
// must be however fast the machine ran: at least one interval; each
// starting where the last one ended, from 0, and ending after it starts;
// the last one, forced at the end, ending no earlier than the run; every
// RTT inside its interval (a sample cannot take longer than the time since
// the run started); each interval's counts adding up as Interval says; and
// all of them adding up to the run's. How many
// intervals a run makes depends on its speed and is not checked.
func checkIntervals(t *testing.T, ivs []Interval, r *Result, mode Mode) {
	t.Helper()
	if len(ivs) == 0 {
		t.Fatal("no interval reported; the last one is forced at the end")
	}
	// sent, received, lost, corrupt, late, dup, recorded, bytes out, bytes back
	var got [9]uint64
	var from time.Duration
	for i, iv := range ivs {
		if iv.Mode != mode || iv.From != from || iv.To <= iv.From {
			t.Errorf("interval %d: %s %v-%v, want %s from %v to a later time", i, iv.Mode, iv.From, iv.To, mode, from)
		}
		if iv.Sent != iv.Received+iv.Lost+iv.Corrupt {
			t.Errorf("interval %d: sent %d != received %d + lost %d + corrupt %d", i, iv.Sent, iv.Received, iv.Lost, iv.Corrupt)
		}
		if iv.Count() > 0 && iv.Max > iv.To {
			t.Errorf("interval %d (%v-%v) holds an RTT of %v, longer than the run so far", i, iv.From, iv.To, iv.Max)
		}
		from = iv.To
		for j, n := range [...]uint64{iv.Sent, iv.Received, iv.Lost, iv.Corrupt, iv.Late, iv.Dup, iv.Count(), iv.BytesSent, iv.BytesReceived} {
			got[j] += n
		}
	}
	if last := ivs[len(ivs)-1]; last.To < r.Elapsed {
		t.Errorf("the last interval ends at %v, before the run's %v", last.To, r.Elapsed)
	}
	// A reply that timed out is lost in the interval where its timeout ran
	// out, and late in the one where it came: the run counts it late only.
	want := [...]uint64{r.Sent, r.Received, r.Lost + r.Late, r.Corrupt, r.Late, r.Dup, r.Count(), r.BytesSent, r.BytesReceived}
	if got != want {
		t.Errorf("%d intervals add up to (sent, received, lost, corrupt, late, dup, recorded, bytes out, bytes back)\n%v\nthe run had\n%v",
			len(ivs), got, want)
	}
}

// collect sets o to report every period and returns where the intervals go.
func collect(o *Options, every time.Duration) *[]Interval {
	var ivs []Interval
	o.ReportEvery, o.Report = every, func(iv Interval) { ivs = append(ivs, iv) }
	return &ivs
}

func TestIntervalsAddUpToTheRun(t *testing.T) {
	t.Parallel()
	for _, network := range []string{"tcp", "udp"} {
		t.Run(network, func(t *testing.T) {
			t.Parallel()
			target := serveTCP(t, tcpEcho)
			if network == "udp" {
				target = serveUDP(t, udpEchoWith(nil))
			}
			o := Options{Count: 300, Size: 64, Interval: time.Millisecond, Timeout: 5 * time.Second, Concurrency: 2}
			ivs := collect(&o, 50*time.Millisecond)
			r, err := Run(t.Context(), target, o)
			if err != nil {
				t.Fatal(err)
			}
			checkIntervals(t, *ivs, r, ModeRTT)
		})
	}
}

// TestIntervalsCountFaults: lost, late, corrupt and duplicated replies on
// a schedule land in the intervals as in the run.
func TestIntervalsCountFaults(t *testing.T) {
	t.Parallel()
	f := faultyUDP{drop: 20, dup: 40, corrupt: 60, garbage: never, hold: []uint64{80}, releaseAt: []uint64{190}}
	o := Options{Count: 200, Size: 64, Interval: 5 * time.Millisecond, Timeout: 500 * time.Millisecond}
	ivs := collect(&o, 20*time.Millisecond)
	r, err := Run(t.Context(), serveUDP(t, f.serve), o)
	if err != nil {
		t.Fatal(err)
	}
	checkIntervals(t, *ivs, r, ModeRTT)
}

// TestIntervalsInTheOtherModes: connect samples and the throughput
// stream's bytes are reported per interval too, and add up to the run.
func TestIntervalsInTheOtherModes(t *testing.T) {
	t.Parallel()
	tests := []Options{
		{Mode: ModeConnect, Count: 60, Size: 64, Timeout: 5 * time.Second, Concurrency: 2},
		{Mode: ModeThroughput, Count: 1, Duration: 100 * time.Millisecond, Size: 64, Timeout: 5 * time.Second},
	}
	for _, o := range tests {
		t.Run(string(o.Mode), func(t *testing.T) {
			t.Parallel()
			ivs := collect(&o, 20*time.Millisecond)
			r, err := Run(t.Context(), serveTCP(t, tcpEcho), o)
			if err != nil {
				t.Fatal(err)
			}
			if !r.OK() {
				t.Fatalf("the run failed: %s", r.Aborted)
			}
			checkIntervals(t, *ivs, r, o.Mode)
		})
	}
}
