package probe

import (
	"bufio"
	"fmt"
	"io"
	"strconv"
	"sync"
	"time"
)

// sampleHeader names SampleWriter's columns.
const sampleHeader = "conn,seq,sent_ns,rtt_ns,outcome\n"

// SampleWriter writes one CSV row per round trip: the connection (0 to
// --concurrency - 1), seq, send time (ns since the run started), rtt_ns
// (empty when lost), outcome (ok, lost, corrupt, late, dup).
//
// Rows are buffered; call Flush at the end of the run. Write allocates
// nothing, so it can sit in the round-trip loop, and the connections of a
// run share one SampleWriter: a row is written whole under a lock held for
// a few hundred nanoseconds.
type SampleWriter struct {
	mu  sync.Mutex
	bw  *bufio.Writer
	row []byte // reused for each row
}

// NewSampleWriter returns a SampleWriter on w and writes the header line,
// conn,seq,sent_ns,rtt_ns,outcome, to its buffer.
func NewSampleWriter(w io.Writer) *SampleWriter {
	s := &SampleWriter{bw: bufio.NewWriterSize(w, 64<<10), row: make([]byte, 0, 64)}
	s.bw.WriteString(sampleHeader) // an error sticks in bw and comes back from Write or Flush
	return s
}

// Write adds the row of round trip seq of connection conn, sent at sent
// since the start of the run. rtt is written for every outcome but lost, whose rtt_ns is empty.
// outcome must be ok, lost, corrupt, late or dup. The error is the first
// one from the underlying writer, or an unknown outcome.
func (s *SampleWriter) Write(conn int, seq uint64, sent time.Duration, rtt time.Duration, outcome string) error {
	switch outcome {
	case "ok", "corrupt", "late", "dup", "lost":
	default:
		return fmt.Errorf("sample %d: unknown outcome %q: want ok, lost, corrupt, late or dup", seq, outcome)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	b := strconv.AppendInt(s.row[:0], int64(conn), 10)
	b = append(b, ',')
	b = strconv.AppendUint(b, seq, 10)
	b = append(b, ',')
	if sent >= 0 {
		b = strconv.AppendInt(b, int64(sent), 10)
	}
	b = append(b, ',')
	if outcome != "lost" && rtt >= 0 {
		b = strconv.AppendInt(b, int64(rtt), 10)
	}
	b = append(b, ',')
	b = append(b, outcome...)
	b = append(b, '\n')
	s.row = b
	_, err := s.bw.Write(b)
	return err
}

// Sample writes x's row, which makes a SampleWriter a Sampler; an error
// is kept by the buffer and returned by Flush.
func (s *SampleWriter) Sample(x Sample) {
	_ = s.Write(x.Conn, x.Seq, x.Sent, x.RTT, x.Outcome.String())
}

// Flush writes the buffered rows to the underlying writer.
func (s *SampleWriter) Flush() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.bw.Flush()
}
