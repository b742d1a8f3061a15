package report

import (
	"bufio"
	"fmt"
	"io"
	"strconv"
	"sync"

	"github.com/loopback-dev/loopback/probe"
)

// sampleHeader names SampleWriter's columns.
const sampleHeader = "conn,seq,sent_ns,rtt_ns,outcome\n"

// SampleWriter writes one CSV row per probe.Sample: the connection (0 to
// --concurrency - 1), the round trip's seq, when it was sent (ns since the
// run started), its RTT in ns, and the outcome: ok, lost, corrupt, late or
// dup.
//
// Each round trip has a row when it concludes: ok, lost or corrupt. One
// that was lost and whose reply came after all has a second row, late,
// with the RTT the reply took; each further copy of a reply has a dup row.
// rtt_ns is empty in lost rows; sent_ns and rtt_ns are both empty when the
// probe no longer knew the send (a reply far older than the timeout, or a
// datagram that answered no round trip).
//
// Rows are buffered; call Flush at the end of the run. Writing a row
// allocates nothing, so it can sit in the round-trip loop, and the
// connections of a run share one SampleWriter: a row is written whole
// under a lock held for a few hundred nanoseconds.
type SampleWriter struct {
	mu  sync.Mutex
	bw  *bufio.Writer
	row []byte // reused for each row
	err error  // the first error of Sample, for Flush
}

// NewSampleWriter returns a SampleWriter on w and writes the header line,
// conn,seq,sent_ns,rtt_ns,outcome, to its buffer.
func NewSampleWriter(w io.Writer) *SampleWriter {
	s := &SampleWriter{bw: bufio.NewWriterSize(w, 64<<10), row: make([]byte, 0, 64)}
	s.bw.WriteString(sampleHeader) // an error sticks in bw and comes back from Write or Flush
	return s
}

// Sample writes x's row, which makes a SampleWriter a probe.Sampler. Its
// error is kept and returned by Flush.
func (s *SampleWriter) Sample(x probe.Sample) {
	if err := s.Write(x); err != nil {
		s.mu.Lock()
		s.err = cmpErr(s.err, err)
		s.mu.Unlock()
	}
}

// Write writes x's row. The error is the first one from the underlying
// writer, or an outcome that is none of the five.
func (s *SampleWriter) Write(x probe.Sample) error {
	switch x.Outcome {
	case probe.OutcomeOK, probe.OutcomeLost, probe.OutcomeCorrupt, probe.OutcomeLate, probe.OutcomeDup:
	default:
		return fmt.Errorf("sample %d: unknown outcome %d: want ok, lost, corrupt, late or dup", x.Seq, x.Outcome)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	b := strconv.AppendInt(s.row[:0], int64(x.Conn), 10)
	b = append(b, ',')
	b = strconv.AppendUint(b, x.Seq, 10)
	b = append(b, ',')
	if x.Sent >= 0 {
		b = strconv.AppendInt(b, int64(x.Sent), 10)
	}
	b = append(b, ',')
	if x.Outcome != probe.OutcomeLost && x.RTT >= 0 {
		b = strconv.AppendInt(b, int64(x.RTT), 10)
	}
	b = append(b, ',')
	b = append(b, x.Outcome.String()...)
	b = append(b, '\n')
	s.row = b
	_, err := s.bw.Write(b)
	return err
}

// Flush writes the buffered rows to the underlying writer, and returns
// the first error, Sample's included.
func (s *SampleWriter) Flush() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return cmpErr(s.err, s.bw.Flush())
}

// cmpErr returns a if it is an error, else b.
func cmpErr(a, b error) error {
	if a != nil {
		return a
	}
	return b
}
