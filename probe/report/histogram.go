package report

import (
	"bytes"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"

	"github.com/HdrHistogram/hdrhistogram-go"
)

// binsPerOctave is how many log-scaled bins WriteHistogram splits each
// doubling of the RTT into; every bin spans the same ratio, 2^(1/4) ≈ 1.19,
// so bar lengths compare densities honestly.
const binsPerOctave = 4

// maxHistRows is the most rows WriteHistogram draws; it merges bins two by
// two until the range fits.
const maxHistRows = 25

// partialBlocks draws the last 1/8 to 7/8 of a bar.
var partialBlocks = [...]string{"▏", "▎", "▍", "▌", "▋", "▊", "▉"}

// histRow is one row of the drawing: count RTTs in [lo, hi) nanoseconds.
type histRow struct {
	lo, hi, count int64
}

// WriteHistogram draws h (nanoseconds) as rows of log-scaled RTT bins with a
// bar, count and cumulative percent.
//
// Bins are four per doubling of the RTT, from the bin holding the smallest
// recorded value to the one holding the largest. Empty bins between them
// are drawn, so gaps show; when the range needs more than 25 rows,
// neighbouring bins are merged two by two. Each row is labelled with its
// range [lo, hi), and its bar is up to width columns long, scaled to the
// fullest row, in eighths of a column; a row with any count gets at least
// an eighth. Values fall into bins to the histogram's precision (3
// significant digits). The cumulative percent is truncated, so 100.00%
// appears on the last row only.
func WriteHistogram(w io.Writer, h *hdrhistogram.Histogram, width int) error {
	return writeHistogram(w, h, 0, width)
}

// writeHistogram is WriteHistogram with a last row for the values above
// the histogram's range, when there are any: the text report's drawing.
func writeHistogram(w io.Writer, h *hdrhistogram.Histogram, above uint64, width int) error {
	if width < 1 {
		return fmt.Errorf("histogram width %d: want at least 1 column", width)
	}
	rows := histRows(h)
	labels := make([]string, len(rows))
	for i, r := range rows {
		labels[i] = fmt.Sprintf("%8s – %-8s", fmtBinEdge(r.lo), fmtBinEdge(r.hi))
	}
	if above > 0 {
		rows = append(rows, histRow{count: int64(above)})
		labels = append(labels, fmt.Sprintf("%-19s", "   "+aboveRange))
	}
	if len(rows) == 0 {
		_, err := io.WriteString(w, "rtt histogram: no round trips recorded\n")
		return err
	}
	var top, total int64
	for _, r := range rows {
		top, total = max(top, r.count), total+r.count
	}
	countWidth := max(len("count"), len(strconv.FormatInt(total, 10)))
	var b bytes.Buffer
	fmt.Fprintf(&b, "%-19s  %s  %*s    cum%%\n", "rtt", strings.Repeat(" ", width), countWidth, "count")
	var cum int64
	for i, r := range rows {
		cum += r.count
		pct := cum * 10000 / total // hundredths of a percent, truncated
		fmt.Fprintf(&b, "%s  %s  %*d  %3d.%02d%%\n", labels[i],
			drawBar(r.count, top, width), countWidth, r.count, pct/100, pct%100)
	}
	_, err := w.Write(b.Bytes())
	return err
}

// histRows sums h's recorded values into log bins and returns the rows to
// draw, or none when h is empty.
func histRows(h *hdrhistogram.Histogram) []histRow {
	var first int
	var counts []int64 // counts[i] is the count of bin first+i
	forEachBucket(h, func(from, count int64) {
		k := binOf(max(from, 1))
		if counts == nil {
			first = k
		}
		for first+len(counts) <= k {
			counts = append(counts, 0)
		}
		counts[k-first] += count
	})
	if counts == nil {
		return nil
	}
	last, shift := first+len(counts)-1, 0
	for last>>shift-first>>shift+1 > maxHistRows {
		shift++
	}
	var rows []histRow
	group := -1
	for i, n := range counts {
		if g := (first + i) >> shift; g != group {
			group = g
			if lo, hi := binEdge(g<<shift), binEdge((g+1)<<shift); lo < hi { // else no integer, no count
				rows = append(rows, histRow{lo: lo, hi: hi})
			}
		}
		rows[len(rows)-1].count += n
	}
	return rows
}

// binEdge returns the smallest integer in log bin k, the bin of the values
// v with k ≤ binsPerOctave·log2(v) < k+1. Below 8 ns some bins hold no
// integer: their edge equals the next one's, and binOf never returns them.
func binEdge(k int) int64 {
	return int64(math.Ceil(math.Exp2(float64(k) / binsPerOctave)))
}

// binOf returns the log bin that holds v ≥ 1, checked against the integer
// edges so that floating-point rounding cannot put v in a neighbour.
func binOf(v int64) int {
	k := int(math.Floor(binsPerOctave * math.Log2(float64(v))))
	for binEdge(k+1) <= v {
		k++
	}
	for k > 0 && binEdge(k) > v {
		k--
	}
	return k
}

// drawBar returns a bar for n out of top, exactly width columns wide with
// the padding.
func drawBar(n, top int64, width int) string {
	eighths := (n*int64(width)*8 + top/2) / top
	if n > 0 && eighths == 0 {
		eighths = 1
	}
	full, part := int(eighths/8), int(eighths%8)
	bar := strings.Repeat("█", full)
	if part > 0 {
		bar += partialBlocks[part-1]
		full++
	}
	return bar + strings.Repeat(" ", width-full)
}

// fmtBinEdge formats a bin edge in nanoseconds with a unit that suits it
// and three significant digits: 850 ns, 16.4 µs, 2.05 ms.
func fmtBinEdge(ns int64) string {
	v, unit := float64(ns), "s"
	switch {
	case ns < 1e3:
		return strconv.FormatInt(ns, 10) + " ns"
	case ns < 1e6:
		v, unit = v/1e3, "µs"
	case ns < 1e9:
		v, unit = v/1e6, "ms"
	default:
		v /= 1e9
	}
	decimals := 0
	if v < 10 {
		decimals = 2
	} else if v < 100 {
		decimals = 1
	}
	return strconv.FormatFloat(v, 'f', decimals, 64) + " " + unit
}

// forEachBucket calls fn with the lowest value and the count of every
// non-empty bucket of h, in increasing order: the bars of h.Distribution()
// that have a count, without building the rest. Distribution appends a bar
// for every bucket up to the largest value, some 10,000 for one RTT of
// 400 µs, through slices that grow to over 1 MB in all, and in a process
// that has just started each fresh page of that is a page fault: a cost
// that a one-shot probe pays in full. Export copies the counts once, and
// their layout is HdrHistogram's own, the one its encodings use; a test
// checks the two against each other.
func forEachBucket(h *hdrhistogram.Histogram, fn func(from, count int64)) {
	s := h.Export()
	// The geometry as hdrhistogram.New derives it: single-unit resolution
	// up to 2·10^digits, in sub-buckets of a power-of-two count, of which
	// each bucket after the first uses the upper half.
	unit := max(int64(math.Floor(math.Log2(float64(max(s.LowestTrackableValue, 1))))), 0)
	halfMag := max(int64(math.Ceil(math.Log2(2*math.Pow10(int(s.SignificantFigures))))), 1) - 1
	half := int64(1) << halfMag
	for i, c := range s.Counts {
		if c == 0 {
			continue
		}
		bucket, sub := int64(i)>>halfMag-1, int64(i)&(half-1)+half
		if bucket < 0 {
			bucket, sub = 0, sub-half
		}
		fn(sub<<(bucket+unit), c)
	}
}
