package report

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/loopback-dev/loopback/probe"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden from the current output")

// goldenResults are Results built by hand with fixed values, one per kind
// of report. Jitter is what the probe computes from these RTTs.
func goldenResults() map[string]*probe.Result {
	tcp := probe.NewResult(probe.Target{Network: "tcp", Host: "127.0.0.1", Port: 41234}, probe.Options{Size: 64, Warmup: 10, Timeout: time.Second})
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

	udp := probe.NewResult(probe.Target{Network: "udp", Host: "localhost", Port: 7}, probe.Options{Size: 1400, Interval: time.Millisecond, Timeout: 200 * time.Millisecond})
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

	silent := probe.NewResult(probe.Target{Network: "tcp", Host: "127.0.0.1", Port: 9}, probe.Options{Size: 64, Timeout: time.Second})
	silent.Addr = netip.MustParseAddrPort("127.0.0.1:9")
	silent.Sent, silent.Lost, silent.Connect, silent.Elapsed = 1, 1, 35100, time.Second
	silent.Aborted = "nothing came back: is it an echo server? (request 1 sent, no reply within 1s)"

	slow := probe.NewResult(probe.Target{Network: "udp", Host: "::1", Port: 7}, probe.Options{Size: 16, Timeout: 2 * time.Minute})
	slow.Addr = netip.MustParseAddrPort("[::1]:7")
	slow.Elapsed = 65 * time.Second
	slow.Aborted, slow.Interrupted = "interrupted", true
	replies(slow, []time.Duration{1500 * time.Millisecond, 2 * time.Second, 61 * time.Second}, nil)
	slow.Sent, slow.Jitter = 3, 3716796875

	// Unix sockets: a path instead of an address; the stream's connect is
	// timed, the datagrams are counted as UDP's are.
	unix := probe.NewResult(probe.Target{Network: "unix", Path: "/run/echo.sock"}, probe.Options{Size: 64, Warmup: 10, Timeout: time.Second})
	unix.Connect, unix.Elapsed = 9100, 3*time.Millisecond
	replies(unix, []time.Duration{7 * time.Microsecond, 8 * time.Microsecond, 9 * time.Microsecond}, nil)
	unix.Sent, unix.Jitter = 3, 62
	gram := probe.NewResult(probe.Target{Network: "unixgram", Path: "@echo"}, probe.Options{Size: 64, Warmup: 10, Timeout: time.Second})
	gram.Elapsed = 3 * time.Millisecond
	replies(gram, []time.Duration{8 * time.Microsecond, 9 * time.Microsecond}, nil)
	gram.Sent, gram.Lost, gram.Jitter = 3, 1, 62
	return map[string]*probe.Result{"tcp": tcp, "udp-loss": udp, "tcp-silent": silent, "udp-interrupted": slow, "unix": unix, "unixgram-lost": gram}
}

// goldenErrs are what the probe makes of the golden results that stopped
// early, with the kind it gives them.
var goldenErrs = map[string]error{
	"udp-loss": kindErr{probe.ErrClosed, "udp://localhost:7: stopped after 101 round trips: connection refused: the echo server went away after 100 round trips"},
	"tcp-silent": kindErr{probe.ErrNoReply, "tcp://127.0.0.1:9: stopped after 1 round trip: " +
		"nothing came back: is it an echo server? (request 1 sent, no reply within 1s)"},
}

// kindErr is an error of one of the probe's kinds in words of its own.
type kindErr struct {
	kind error
	msg  string
}

func (e kindErr) Error() string { return e.msg }
func (e kindErr) Unwrap() error { return e.kind }

// replies makes rtts r's intact replies: timed from when each was due,
// and from the actual send in raw, if there is a schedule.
func replies(r *probe.Result, rtts, raw []time.Duration) {
	r.Received, r.Dist = uint64(len(rtts)), probe.NewDist(rtts...)
	if raw != nil {
		d := probe.NewDist(raw...)
		r.Raw = &d
	}
}

func TestReportGolden(t *testing.T) {
	t.Parallel()
	for name, r := range goldenResults() {
		t.Run(name, func(t *testing.T) {
			var text, js bytes.Buffer
			if err := WriteText(&text, r); err != nil {
				t.Fatal(err)
			}
			if err := WriteJSON(&js, r, goldenErrs[name]); err != nil {
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

type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

func TestReportWriteError(t *testing.T) {
	t.Parallel()
	r := goldenResults()["tcp"]
	if err := WriteText(failWriter{}, r); err == nil {
		t.Error("WriteText hid a write error")
	}
	if err := WriteJSON(failWriter{}, r, nil); err == nil {
		t.Error("WriteJSON hid a write error")
	}
}

// TestJSONOnFailure: a run that failed before measuring anything still
// has its document, with ok false, the error's code and message, and null
// for every value it has none of, never a 0 standing in.
func TestJSONOnFailure(t *testing.T) {
	t.Parallel()
	r := probe.NewResult(probe.Target{Network: "tcp", Host: "127.0.0.1", Port: 9}, probe.Options{Size: 64, Warmup: 10, Timeout: time.Second})
	r.Addr = netip.MustParseAddrPort("127.0.0.1:9")
	r.Clock = probe.Clock{ReadCost: 40, Resolution: 38}
	refused := fmt.Errorf("%w: nothing listening on 127.0.0.1:9", probe.ErrRefused)
	var js bytes.Buffer
	if err := WriteJSON(&js, r, refused); err != nil {
		t.Fatal(err)
	}
	checkGolden(t, "tcp-refused.json.golden", js.Bytes())
	var got map[string]any
	if err := json.Unmarshal(js.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"ok": false, "error": map[string]any{"code": "refused", "message": "connection refused: nothing listening on 127.0.0.1:9"},
		"addr": map[string]any{"ip": "127.0.0.1", "port": 9.0}, "family": "ipv4", "sent": 0.0, "clock_read_ns": 40.0}
	for _, k := range []string{"connect_us", "elapsed_s", "round_trips_per_s", "jitter_us", "spread_us", "reads", "aborted", "rtt_us"} {
		want[k] = nil
	}
	for k, v := range want {
		if g, ok := got[k]; !ok || fmt.Sprint(g) != fmt.Sprint(v) {
			t.Errorf("%s = %v (present %v), want %v", k, g, ok, v)
		}
	}
	// Nothing resolved: no address either; and a success says error null.
	r.Addr = netip.AddrPort{}
	js.Reset()
	WriteJSON(&js, r, errors.New("lookup nowhere.invalid: no such host"))
	if !bytes.Contains(js.Bytes(), []byte(`"addr":null`)) || !bytes.Contains(js.Bytes(), []byte(`"error":{"code":"failed"`)) {
		t.Errorf("unresolved: %s", js.Bytes())
	}
	js.Reset()
	WriteJSON(&js, goldenResults()["tcp"], nil)
	if !bytes.Contains(js.Bytes(), []byte(`"ok":true,"error":null`)) {
		t.Errorf("success: %s", js.Bytes())
	}
}
