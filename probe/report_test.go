package probe

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"net/netip"
	"os"
	"path/filepath"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden from the current output")

// goldenResults are Results built by hand with fixed values, one per kind
// of report. Jitter is what the probe computes from these RTTs.
func goldenResults() map[string]*Result {
	tcp := newResult(Target{"tcp", "127.0.0.1", 41234}, Options{Size: 64, Warmup: 10, Timeout: time.Second})
	tcp.Addr = netip.MustParseAddrPort("127.0.0.1:41234")
	tcp.Connect, tcp.Elapsed = 48312*time.Nanosecond, 31200*time.Microsecond
	var rtts []time.Duration
	for i := range 1000 {
		rtt := 17900 + time.Duration(i*7919%4000)
		if i%100 == 0 {
			rtt += 15000
		}
		rtts = append(rtts, rtt)
	}
	rtts = append(rtts, 74321) // the exact max, which the histogram alone would round
	replies(tcp, rtts, nil)
	tcp.Sent, tcp.Jitter = 1001, 3528

	udp := newResult(Target{"udp", "localhost", 7}, Options{Size: 1400, Interval: time.Millisecond, Timeout: 200 * time.Millisecond})
	udp.Addr = netip.MustParseAddrPort("127.0.0.1:7")
	udp.Elapsed = 99400 * time.Microsecond
	udp.Aborted = "connection refused: the echo server went away after 100 round trips"
	var corrected, raw []time.Duration
	for i := range 98 {
		r := 2100*time.Microsecond + time.Duration(i)*130*time.Microsecond
		corrected, raw = append(corrected, r+time.Duration(i%5)*400*time.Microsecond), append(raw, r) // some sends went out late
	}
	replies(udp, corrected, raw)
	udp.Sent, udp.Lost, udp.Corrupt, udp.Late, udp.Behind, udp.Jitter = 101, 1, 1, 1, 2, 129752

	silent := newResult(Target{"tcp", "127.0.0.1", 9}, Options{Size: 64, Timeout: time.Second})
	silent.Addr = netip.MustParseAddrPort("127.0.0.1:9")
	silent.Sent, silent.Lost, silent.Connect, silent.Elapsed = 1, 1, 35100, time.Second
	silent.Aborted = "reply 1 timed out after 1s: the TCP stream cannot resynchronise; nothing ever came back: is it an echo server?"

	slow := newResult(Target{"udp", "::1", 7}, Options{Size: 16, Timeout: 2 * time.Minute})
	slow.Addr = netip.MustParseAddrPort("[::1]:7")
	slow.Elapsed = 65 * time.Second
	slow.Aborted, slow.Interrupted = "interrupted", true
	replies(slow, []time.Duration{1500 * time.Millisecond, 2 * time.Second, 61 * time.Second}, nil)
	slow.Sent, slow.Jitter = 3, 3716796875
	return map[string]*Result{"tcp": tcp, "udp-loss": udp, "tcp-silent": silent, "udp-interrupted": slow}
}

// replies makes rtts r's intact replies: timed from when each was due,
// and from the actual send in raw, if there is a schedule.
func replies(r *Result, rtts, raw []time.Duration) {
	r.Received, r.Dist = uint64(len(rtts)), NewDist(rtts...)
	if raw != nil {
		d := NewDist(raw...)
		r.Raw = &d
	}
}

func TestReportGolden(t *testing.T) {
	t.Parallel()
	for name, r := range goldenResults() {
		t.Run(name, func(t *testing.T) {
			var text, js bytes.Buffer
			if err := r.WriteText(&text); err != nil {
				t.Fatal(err)
			}
			if err := r.WriteJSON(&js); err != nil {
				t.Fatal(err)
			}
			checkGolden(t, name+".txt.golden", text.Bytes())
			checkGolden(t, name+".json.golden", js.Bytes())
			if n := bytes.Count(js.Bytes(), []byte("\n")); n != 1 || !json.Valid(js.Bytes()) {
				t.Errorf("WriteJSON wrote %d lines of valid=%v JSON, want one object and a newline", n, json.Valid(js.Bytes()))
			}
		})
	}
}

func checkGolden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs (run go test -update if the change is intended)\ngot:\n%s\nwant:\n%s", path, got, want)
	}
}

func TestResultStats(t *testing.T) {
	t.Parallel()
	r := goldenResults()["tcp"]
	// The histogram keeps 3 significant digits: p99.9 of this data is a
	// bucket bound above the exact max unless clamped.
	if got := r.Quantile(100); got != 74321 {
		t.Errorf("Quantile(100) = %d, want the exact max 74321", got)
	}
	if got := r.Quantile(0); got != r.Min || r.Min != 17905 {
		t.Errorf("Quantile(0) = %d, min %d; want both the exact min 17905", got, r.Min)
	}
	if mean := r.Mean(); mean < 19900 || mean > 20200 {
		t.Errorf("Mean() = %v, want about 20.05µs", mean)
	}
	empty := newResult(Target{"udp", "127.0.0.1", 7}, Options{Size: 16})
	if empty.Quantile(50) != 0 || empty.Mean() != 0 || empty.StdDev() != 0 || empty.OK() {
		t.Error("an empty Result reports statistics or OK")
	}
	slow := goldenResults()["udp-interrupted"]
	if slow.OutOfRange != 1 || slow.Received != 3 || slow.Max != 61*time.Second || !slow.OK() {
		t.Errorf("out of range %d, received %d, max %v, OK() %v; want 1, 3, 61s, true",
			slow.OutOfRange, slow.Received, slow.Max, slow.OK())
	}
}

type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

func TestReportWriteError(t *testing.T) {
	t.Parallel()
	r := goldenResults()["tcp"]
	if err := r.WriteText(failWriter{}); err == nil {
		t.Error("WriteText hid a write error")
	}
	if err := r.WriteJSON(failWriter{}); err == nil {
		t.Error("WriteJSON hid a write error")
	}
}
