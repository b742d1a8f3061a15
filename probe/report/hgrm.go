package report

import (
	"bytes"
	"fmt"
	"io"

	"github.com/HdrHistogram/hdrhistogram-go"
)

// hgrmHeader is the header of HdrHistogram's classic percentile
// distribution, as the C library prints it ("%12s %12s %12s %12s\n\n");
// the Java library's differs only in spacing.
const hgrmHeader = "       Value   Percentile   TotalCount 1/(1-Percentile)\n\n"

// libHgrmHeader is the header hdrhistogram-go v1.4.0 prints instead, with
// tabs. Its rows and footer are already in the C library's format.
const libHgrmHeader = " Value\tPercentile\tTotalCount\t1/(1-Percentile)\n\n"

// WriteHgrm writes h (recorded in nanoseconds) as a percentile distribution
// in microseconds: the .hgrm text that HdrHistogram's plotFiles.html and
// hdr-plot read. Rows have five ticks per half distance to 100%, as
// HdrHistogram's own tools write them, and the footer gives the mean,
// standard deviation, max, total count and the histogram's geometry.
func WriteHgrm(w io.Writer, h *hdrhistogram.Histogram) error {
	var b bytes.Buffer
	if _, err := h.PercentilesPrint(&b, 5, 1e3); err != nil {
		return err
	}
	// hdrhistogram-go writes its header with tabs; put the standard one in
	// its place so that the file matches what other HdrHistogram tools
	// write, byte for byte.
	body, ok := bytes.CutPrefix(b.Bytes(), []byte(libHgrmHeader))
	if !ok {
		return fmt.Errorf("hgrm: hdrhistogram-go printed an unexpected header %q", bytes.SplitN(b.Bytes(), []byte("\n"), 2)[0])
	}
	if _, err := io.WriteString(w, hgrmHeader); err != nil {
		return err
	}
	_, err := w.Write(body)
	return err
}
