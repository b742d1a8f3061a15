package report

import (
	"bytes"
	"encoding/json"
	"errors"
	"maps"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/loopback-dev/loopback/probe"
)

// readmeFields returns the field names in the first column of the README
// table between <!-- name --> and <!-- /name -->; a row may name several,
// each in backquotes.
func readmeFields(t *testing.T, readme, name string) []string {
	t.Helper()
	start, end := "<!-- "+name+" -->", "<!-- /"+name+" -->"
	i, j := strings.Index(readme, start), strings.Index(readme, end)
	if i < 0 || j < i {
		t.Fatalf("docs/json.md has no %s ... %s", start, end)
	}
	var fields []string
	for _, line := range strings.Split(readme[i+len(start):j], "\n") {
		cols := strings.Split(line, "|")
		if len(cols) < 3 {
			continue
		}
		for _, m := range regexp.MustCompile("`([a-z0-9_]+)`").FindAllStringSubmatch(cols[1], -1) {
			fields = append(fields, m[1])
		}
	}
	slices.Sort(fields)
	return fields
}

// keysOf decodes one JSON object and returns its keys, and the object.
func keysOf(t *testing.T, b []byte) ([]string, map[string]any) {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("%v: %s", err, b)
	}
	return slices.Sorted(maps.Keys(m)), m
}

// TestJSONFieldsAreTheREADMEs: every field the JSON output can have is in
// the README's tables, and every field there is one the output has.
func TestJSONFieldsAreTheREADMEs(t *testing.T) {
	t.Parallel()
	b, err := os.ReadFile("../../docs/json.md")
	if err != nil {
		t.Fatal(err)
	}
	readme := string(b)

	// The fields of one protocol or mode are left out of the others, so it
	// takes three runs to show them all: TCP on a schedule (connect_us,
	// rtt_raw_us), connect mode (connects_us) and a stream (bytes_*), each
	// stopped early, with a read method.
	o := probe.Options{Size: 64, Interval: time.Millisecond, Timeout: time.Second}
	var runs [3]*probe.Result
	for i, mode := range []probe.Mode{probe.ModeRTT, probe.ModeConnect, probe.ModeThroughput} {
		o.Mode = mode
		r := probe.NewResult(probe.Target{Network: "tcp", Host: "127.0.0.1", Port: 7}, o)
		r.Addr = goldenResults()["tcp"].Addr
		r.Sent, r.Elapsed, r.SendFor = 2, time.Second, time.Second
		replies(r, []time.Duration{20 * time.Microsecond, 22 * time.Microsecond}, []time.Duration{19 * time.Microsecond, 21 * time.Microsecond})
		connects := probe.NewDist(15 * time.Microsecond)
		r.Connects = &connects
		r.BytesSent, r.BytesReceived = 1<<20, 1<<20
		r.Aborted, r.Reads = "interrupted", "by blocking read(2)"
		runs[i] = r
	}
	fields := map[string]any{}
	for _, r := range runs {
		var js bytes.Buffer
		if err := WriteJSON(&js, r, errors.New("failed")); err != nil {
			t.Fatal(err)
		}
		_, obj := keysOf(t, js.Bytes())
		maps.Copy(fields, obj)
	}
	obj := fields
	got := slices.Sorted(maps.Keys(fields))
	if want := readmeFields(t, readme, "json-summary"); !slices.Equal(got, want) {
		t.Errorf("JSON fields and README's json-summary table differ\njson:   %v\nREADME: %v", got, want)
	}
	sub, _ := json.Marshal(obj["error"])
	if got, _ := keysOf(t, sub); !slices.Equal(got, readmeFields(t, readme, "json-error")) {
		t.Errorf("error has %v, README's json-error table %v", got, readmeFields(t, readme, "json-error"))
	}
	stats := readmeFields(t, readme, "json-stats")
	for _, name := range []string{"rtt_us", "rtt_raw_us", "connects_us"} {
		sub, _ := json.Marshal(obj[name])
		if got, _ := keysOf(t, sub); !slices.Equal(got, stats) {
			t.Errorf("%s has %v, README's json-stats table %v", name, got, stats)
		}
	}

	// Stream fields appear in throughput intervals only; one interval with
	// everything shows them all.
	iv := probe.Interval{Mode: probe.ModeThroughput, To: time.Second, Sent: 2, Received: 2, BytesSent: 1 << 20, BytesReceived: 1 << 20,
		Dist: probe.NewDist(20 * time.Microsecond)}
	var js bytes.Buffer
	if err := WriteIntervalJSON(&js, &iv); err != nil {
		t.Fatal(err)
	}
	got, obj = keysOf(t, js.Bytes())
	if want := readmeFields(t, readme, "json-interval"); !slices.Equal(got, want) {
		t.Errorf("interval JSON fields and README's json-interval table differ\njson:   %v\nREADME: %v", got, want)
	}
	sub, _ = json.Marshal(obj["rtt_us"])
	if got, _ := keysOf(t, sub); !slices.Equal(got, stats) {
		t.Errorf("an interval's rtt_us has %v, README's json-stats table %v", got, stats)
	}
}
