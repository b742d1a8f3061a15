package report

import (
	"bytes"
	"strings"
	"testing"

	"github.com/HdrHistogram/hdrhistogram-go"

	"github.com/loopback-dev/loopback/probe"
)

// hgrmHistogram holds 1000 fixed RTTs from 17.9 µs to 22 µs, one in a
// hundred 15 µs slower, and one of 1.5 ms.
func hgrmHistogram(t *testing.T) *hdrhistogram.Histogram {
	t.Helper()
	h := probe.NewDist().RTT
	for i := range 1000 {
		rtt := int64(17900 + i*7919%4000)
		if i%100 == 0 {
			rtt += 15000
		}
		if err := h.RecordValue(rtt); err != nil {
			t.Fatal(err)
		}
	}
	if err := h.RecordValue(1_500_000); err != nil {
		t.Fatal(err)
	}
	return h
}

func TestWriteHgrmGolden(t *testing.T) {
	t.Parallel()
	var b bytes.Buffer
	if err := WriteHgrm(&b, hgrmHistogram(t)); err != nil {
		t.Fatal(err)
	}
	checkGolden(t, "hgrm.golden", b.Bytes())
}

// TestWriteHgrmFormat checks the parts plotters and people rely on, apart
// from the golden file: the classic header, rows of four numbers in
// microseconds ending at percentile 1, and the three-line footer.
func TestWriteHgrmFormat(t *testing.T) {
	t.Parallel()
	var b bytes.Buffer
	if err := WriteHgrm(&b, hgrmHistogram(t)); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n")
	if lines[0] != "       Value   Percentile   TotalCount 1/(1-Percentile)" || lines[1] != "" {
		t.Errorf("header = %q, %q; want the classic HdrHistogram header and a blank line", lines[0], lines[1])
	}
	footer := lines[len(lines)-3:]
	for i, prefix := range []string{"#[Mean    = ", "#[Max     = ", "#[Buckets = "} {
		if !strings.HasPrefix(footer[i], prefix) {
			t.Errorf("footer line %d = %q, want it to start with %q", i, footer[i], prefix)
		}
	}
	first, last := strings.Fields(lines[2]), strings.Fields(lines[len(lines)-4])
	if len(first) != 4 || first[0] != "17.919" || first[1] != "0.000000" || first[2] != "4" {
		t.Errorf("first row = %q, want the 4 values up to 17.919 µs at percentile 0", lines[2])
	}
	if len(last) != 4 || last[0] != "1500.159" || last[1] != "1.000000" || last[2] != "1001" || last[3] != "inf" {
		t.Errorf("last row = %q, want 1500.159 µs at percentile 1, all 1001 values", lines[len(lines)-4])
	}
	if !strings.Contains(footer[1], "Total count    =         1001]") {
		t.Errorf("footer %q, want a total count of 1001", footer[1])
	}
}

func TestWriteHgrmEmpty(t *testing.T) {
	t.Parallel()
	var b bytes.Buffer
	if err := WriteHgrm(&b, probe.NewDist().RTT); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(b.String(), hgrmHeader) || !strings.Contains(b.String(), "Total count    =            0]") {
		t.Errorf("empty histogram:\n%s\nwant the header and a total count of 0", b.String())
	}
}

func TestWriteHgrmWriteError(t *testing.T) {
	t.Parallel()
	if err := WriteHgrm(failWriter{}, hgrmHistogram(t)); err == nil {
		t.Error("WriteHgrm hid a write error")
	}
}
