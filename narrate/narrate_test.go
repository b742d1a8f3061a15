package narrate

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files")

// events is a connection's and a datagram's life as the server logs them,
// without times, so that the rendering is fixed.
const events = `{"level":"info","tcp":{"ip":"127.0.0.1","port":7007},"udp":{"ip":"127.0.0.1","port":7007},"message":"listening"}
{"level":"info","component":"tcp","peer":{"ip":"127.0.0.1","port":53422},"message":"connection open"}
{"level":"trace","component":"tcp","peer":{"ip":"127.0.0.1","port":53422},"bytes":6,"payload":"68656c6c6f0a","payload_cut":0,"message":"read"}
{"level":"trace","component":"tcp","peer":{"ip":"127.0.0.1","port":53422},"bytes":6,"message":"echoed"}
{"level":"trace","component":"tcp","peer":{"ip":"127.0.0.1","port":53422},"bytes":300,"payload":"000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f2021","payload_cut":266,"message":"read"}
{"level":"info","component":"tcp","peer":{"ip":"127.0.0.1","port":53422},"bytes_in":306,"bytes_out":306,"duration_ms":1234.5,"reason":"closed by peer","message":"connection closed"}
{"level":"info","component":"tcp","peer":{"ip":"127.0.0.1","port":53423},"bytes_in":0,"bytes_out":0,"duration_ms":300000,"reason":"idle timeout","message":"connection closed"}
{"level":"trace","component":"udp","peer":{"ip":"127.0.0.1","port":40211},"bytes":5,"payload":"70696e670a","payload_cut":0,"message":"datagram"}
{"level":"debug","component":"udp","peer":{"ip":"127.0.0.1","port":40211},"bytes":5,"message":"datagram echoed"}
{"level":"warn","component":"udp","peer":{"ip":"127.0.0.1","port":7},"reason":"source port below the lowest answered","suppressed":0,"message":"datagram not answered"}
{"level":"warn","component":"tcp","max_conns":1,"message":"connection refused: too many open"}
{"level":"info","cause":"interrupt signal received","message":"stopping"}
{"level":"info","uptime_ms":5200,"tcp_conns":2,"udp_datagrams":1,"message":"stopped"}
not json at all
`

func TestNarrationGolden(t *testing.T) {
	checkNarration(t, events, "narration.golden")
}

// probeEvents are the probe's trace events (probe --trace) for each kind
// of socket, as it logs them, without times.
const probeEvents = `{"level":"trace","component":"probe","network":"tcp","addr":{"ip":"127.0.0.1","port":7007},"message":"connecting"}
{"level":"trace","component":"probe","network":"tcp","addr":{"ip":"127.0.0.1","port":7007},"local":{"ip":"127.0.0.1","port":53422},"connect_ms":0.0453,"message":"connection made"}
{"level":"trace","component":"probe","network":"tcp","count":10,"message":"warm-up done"}
{"level":"trace","component":"probe","network":"tcp","seq":1,"bytes":64,"message":"request sent"}
{"level":"trace","component":"probe","network":"tcp","seq":1,"bytes":64,"intact":true,"rtt_ms":0.0234,"message":"reply received"}
{"level":"trace","component":"probe","network":"tcp","seq":2,"bytes":32,"part":1,"parts":2,"message":"request sent"}
{"level":"trace","component":"probe","network":"tcp","seq":2,"bytes":32,"part":2,"parts":2,"message":"request sent"}
{"level":"trace","component":"probe","network":"tcp","seq":2,"bytes":64,"intact":false,"rtt_ms":41.2,"message":"reply received"}
{"level":"trace","component":"probe","network":"tcp","count":95,"told":5,"message":"more not told"}
{"level":"trace","component":"probe","network":"tcp","local":{"ip":"127.0.0.1","port":53422},"message":"socket closed"}
{"level":"trace","component":"probe","network":"tcp","addr":{"host":"localhost","port":9},"message":"connecting"}
{"level":"trace","component":"probe","network":"tcp","addr":{"ip":"127.0.0.1","port":9},"error":"connection refused: nothing listening on 127.0.0.1:9","message":"connect failed"}
{"level":"trace","component":"probe","network":"udp","addr":{"ip":"127.0.0.1","port":7007},"message":"connecting"}
{"level":"trace","component":"probe","network":"udp","addr":{"ip":"127.0.0.1","port":7007},"local":{"ip":"127.0.0.1","port":40211},"message":"connection made"}
{"level":"trace","component":"probe","network":"udp","seq":1,"bytes":64,"message":"request sent"}
{"level":"trace","component":"probe","network":"udp","seq":1,"timeout_ms":1000,"message":"reply missing"}
{"level":"trace","component":"probe","network":"udp","seq":2,"bytes":64,"intact":true,"rtt_ms":0.0191,"message":"reply received"}
{"level":"trace","component":"probe","network":"udp","count":2000,"told":0,"message":"more not told"}
{"level":"trace","component":"probe","network":"udp","local":{"ip":"127.0.0.1","port":40211},"message":"socket closed"}
{"level":"trace","component":"probe","network":"unix","addr":{"path":"/tmp/echo.sock"},"message":"connecting"}
{"level":"trace","component":"probe","network":"unix","addr":{"path":"/tmp/echo.sock"},"local":null,"connect_ms":0.0091,"message":"connection made"}
{"level":"trace","component":"probe","network":"unix","count":1,"told":5,"message":"more not told"}
{"level":"trace","component":"probe","network":"unix","local":null,"message":"socket closed"}
{"level":"trace","component":"probe","network":"unixgram","addr":{"path":"/tmp/echo.dgram"},"message":"connecting"}
{"level":"trace","component":"probe","network":"unixgram","addr":{"path":"/tmp/echo.dgram"},"local":{"path":"/tmp/loopback-probe-1/probe.sock"},"message":"connection made"}
{"level":"trace","component":"probe","network":"unixgram","seq":1,"bytes":64,"message":"request sent"}
{"level":"trace","component":"probe","network":"unixgram","seq":1,"bytes":64,"intact":true,"rtt_ms":0.0098,"message":"reply received"}
{"level":"trace","component":"probe","network":"unixgram","local":{"path":"/tmp/loopback-probe-1/probe.sock"},"message":"socket closed"}
{"level":"debug","component":"probe","addr":{"ip":"127.0.0.1","port":7007},"seq":3,"rtt":0.02,"message":"reply"}
`

func TestProbeNarrationGolden(t *testing.T) {
	checkNarration(t, probeEvents, "probe.golden")
}

// checkNarration narrates events and compares the text with the golden
// file name in testdata.
func checkNarration(t *testing.T, events, name string) {
	t.Helper()
	var out bytes.Buffer
	w := NewWriter(&out)
	for _, line := range bytes.SplitAfter([]byte(events), []byte("\n")) {
		if len(line) > 0 {
			if _, err := w.Write(line); err != nil {
				t.Fatal(err)
			}
		}
	}
	golden := filepath.Join("testdata", name)
	if *update {
		os.WriteFile(golden, out.Bytes(), 0o644)
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(out.Bytes(), want) {
		t.Errorf("narration differs from %s (go test -update to rewrite):\n%s", golden, out.Bytes())
	}
}
