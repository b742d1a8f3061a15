package probe

import (
	"bytes"
	"encoding/json"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"
)

// TestTraceTellsTheFirstRoundTrips: the trace tells the first connection
// only, its first measured round trips one by one after the warm-up, and
// counts the rest; a datagram lost among them is told as such.
func TestTraceTellsTheFirstRoundTrips(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name   string
		target Target
		want   string
	}{
		{"tcp", serveTCP(t, tcpEcho), "connecting,connection made,warm-up done," +
			"request sent,reply received,request sent,reply received,request sent,reply received," +
			"more not told 17,socket closed"},
		{"udp, a datagram lost", serveUDP(t, udpEchoWith(func(seq uint64, _ []byte) bool { return seq != 4 })),
			"connecting,connection made,warm-up done," +
				"request sent,reply received,request sent,reply missing,request sent,reply received," +
				"more not told 17,socket closed"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var b bytes.Buffer
			o := Options{Count: 20, Warmup: 3, Size: 64, Timeout: time.Second, Concurrency: 2,
				Trace: zerolog.New(zerolog.SyncWriter(&b)).Level(zerolog.TraceLevel), TraceRoundTrips: 3}
			if _, err := Run(t.Context(), tt.target, o); err != nil {
				t.Fatal(err)
			}
			var got []string
			for line := range strings.SplitSeq(strings.TrimSpace(b.String()), "\n") {
				var e struct {
					Message, Network string
					Count            int
				}
				if err := json.Unmarshal([]byte(line), &e); err != nil || e.Network != tt.target.Network {
					t.Fatalf("%q: %v, or not the target's network", line, err)
				}
				if e.Message == "more not told" {
					e.Message += " " + strconv.Itoa(e.Count)
				}
				got = append(got, e.Message)
			}
			if strings.Join(got, ",") != tt.want {
				t.Errorf("events\n%s\nwant\n%s", strings.Join(got, ","), tt.want)
			}
		})
	}
}
