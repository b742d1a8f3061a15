package report

import (
	"bytes"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/HdrHistogram/hdrhistogram-go"

	"github.com/loopback-dev/loopback/probe"
)

// histograms are histograms of fixed RTTs in nanoseconds, one per
// golden file.
func histograms(t *testing.T) map[string]*hdrhistogram.Histogram {
	t.Helper()
	record := func(h *hdrhistogram.Histogram, v, n int64) {
		if err := h.RecordValues(v, n); err != nil {
			t.Fatal(err)
		}
	}
	// bimodal: most replies near 20 µs, a tenth near 150 µs, none between.
	bimodal := probe.NewDist().RTT
	for i := range int64(900) {
		record(bimodal, 17_000+i*7919%8000, 1)
	}
	for i := range int64(100) {
		record(bimodal, 140_000+i*313%30_000, 1)
	}
	single := probe.NewDist().RTT
	record(single, 25_000, 1000)
	return map[string]*hdrhistogram.Histogram{"bimodal": bimodal, "single": single}
}

func TestWriteHistogramGolden(t *testing.T) {
	t.Parallel()
	for name, h := range histograms(t) {
		t.Run(name, func(t *testing.T) {
			var b bytes.Buffer
			if err := WriteHistogram(&b, h, 40); err != nil {
				t.Fatal(err)
			}
			checkGolden(t, "histogram-"+name+".golden", b.Bytes())
		})
	}
}

// TestHistRowsWide checks, over ranges from one value to 1 ns..60 s, that
// rows are at most maxHistRows, adjoin, cover min and max, and count every
// value once.
func TestHistRowsWide(t *testing.T) {
	t.Parallel()
	tests := []struct{ lo, hi int64 }{
		{1, 1}, {1, 2}, {3, 9}, {1, 60e9}, {900, 1_100}, {15_000, 400_000}, {20_000, 10e9}, {59e9, 60e9},
	}
	for _, tt := range tests {
		h := probe.NewDist().RTT
		for _, v := range []int64{tt.lo, tt.hi, (tt.lo + tt.hi) / 2} {
			if err := h.RecordValue(v); err != nil {
				t.Fatal(err)
			}
		}
		rows := histRows(h)
		var total int64
		for i, r := range rows {
			total += r.count
			if r.lo >= r.hi || i > 0 && r.lo != rows[i-1].hi {
				t.Errorf("%d..%d: row %d is [%d, %d) after [%d, %d)", tt.lo, tt.hi, i, r.lo, r.hi, rows[max(i-1, 0)].lo, rows[max(i-1, 0)].hi)
			}
		}
		// The max may share an HDR bucket, 1/1024 wide, with the values
		// just below the last row's hi.
		n := len(rows)
		if n == 0 || n > maxHistRows || total != 3 || rows[0].count == 0 || rows[n-1].count == 0 ||
			rows[0].lo > tt.lo || rows[n-1].lo > tt.hi || rows[n-1].hi+tt.hi>>10 <= tt.hi {
			t.Errorf("%d..%d: %d rows %+v holding %d values; want 1 to %d rows from min to max holding 3",
				tt.lo, tt.hi, n, rows, total, maxHistRows)
		}
	}
}

// TestForEachBucketIsDistribution checks forEachBucket against the
// library's own walk of the buckets, for ours (1 ns to 60 s at 3 digits) and
// other shapes.
func TestForEachBucketIsDistribution(t *testing.T) {
	t.Parallel()
	for _, g := range []struct {
		lo, hi int64
		digits int
	}{{1, 60e9, 3}, {1, 1e6, 1}, {1, 1e9, 5}, {7, 1e7, 2}, {1000, 1e12, 3}} {
		h := hdrhistogram.New(g.lo, g.hi, g.digits)
		for v := g.lo; v <= g.hi; v = v*3/2 + 1 {
			if err := h.RecordValues(v, v%7+1); err != nil {
				t.Fatal(err)
			}
		}
		var want, got []hdrhistogram.Bar
		for _, bar := range h.Distribution() {
			if bar.Count > 0 {
				want = append(want, hdrhistogram.Bar{From: bar.From, Count: bar.Count})
			}
		}
		forEachBucket(h, func(from, count int64) { got = append(got, hdrhistogram.Bar{From: from, Count: count}) })
		if !slices.Equal(got, want) {
			t.Errorf("New(%d, %d, %d): forEachBucket gave %v, Distribution %v", g.lo, g.hi, g.digits, got, want)
		}
	}
}

func TestBinOf(t *testing.T) {
	t.Parallel()
	for _, v := range []int64{1, 2, 3, 4, 7, 8, 9, 16, 19, 20, 1023, 1024, 1025, 16384, 19484, 19485, 1e9, 60e9, 1 << 40} {
		k := binOf(v)
		if binEdge(k) > v || v >= binEdge(k+1) {
			t.Errorf("binOf(%d) = %d, which holds [%d, %d)", v, k, binEdge(k), binEdge(k+1))
		}
	}
	for v := int64(1); v < 100_000; v++ {
		if k := binOf(v); binEdge(k) > v || v >= binEdge(k+1) {
			t.Fatalf("binOf(%d) = %d, which holds [%d, %d)", v, k, binEdge(k), binEdge(k+1))
		}
	}
}

func TestDrawBar(t *testing.T) {
	t.Parallel()
	tests := []struct {
		n, top int64
		width  int
		want   string
	}{
		{10, 10, 4, "████"},
		{0, 10, 4, "    "},
		{1, 1000, 4, "▏   "},
		{5, 10, 4, "██  "},
		{3, 10, 4, "█▎  "}, // 9.6 eighths round to 10
		{7, 8, 1, "▉"},
		{1, 2, 3, "█▌ "},
	}
	for _, tt := range tests {
		got := drawBar(tt.n, tt.top, tt.width)
		if got != tt.want || utf8.RuneCountInString(got) != tt.width {
			t.Errorf("drawBar(%d, %d, %d) = %q, want %q", tt.n, tt.top, tt.width, got, tt.want)
		}
	}
}

func TestFmtBinEdge(t *testing.T) {
	t.Parallel()
	tests := []struct {
		ns   int64
		want string
	}{
		{1, "1 ns"}, {999, "999 ns"}, {1000, "1.00 µs"}, {16384, "16.4 µs"}, {123_456, "123 µs"},
		{2_050_000, "2.05 ms"}, {1e9, "1.00 s"}, {60e9, "60.0 s"},
	}
	for _, tt := range tests {
		if got := fmtBinEdge(tt.ns); got != tt.want {
			t.Errorf("fmtBinEdge(%d) = %q, want %q", tt.ns, got, tt.want)
		}
	}
}

func TestWriteHistogramEdgeCases(t *testing.T) {
	t.Parallel()
	var b bytes.Buffer
	if err := WriteHistogram(&b, probe.NewDist().RTT, 40); err != nil || b.String() != "rtt histogram: no round trips recorded\n" {
		t.Errorf("empty histogram: %q, %v", b.String(), err)
	}
	h := histograms(t)["single"]
	want := "histogram width 0: want at least 1 column"
	if err := WriteHistogram(&b, h, 0); err == nil || err.Error() != want {
		t.Errorf("width 0: %v, want %s", err, want)
	}
	if err := WriteHistogram(failWriter{}, h, 40); err == nil {
		t.Error("WriteHistogram hid a write error")
	}
	b.Reset()
	if err := WriteHistogram(&b, h, 1); err != nil || !strings.Contains(b.String(), "   █   1000  100.00%\n") {
		t.Errorf("width 1:\n%s%v", b.String(), err)
	}
}
