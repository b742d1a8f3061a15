package report

import (
	"bytes"
	"encoding/csv"
	"io"
	"reflect"
	"testing"
	"time"

	"github.com/loopback-dev/loopback/probe"
)

func TestSampleWriter(t *testing.T) {
	t.Parallel()
	samples := []probe.Sample{
		{Conn: 0, Seq: 0, Sent: 0, RTT: 18_400, Outcome: probe.OutcomeOK},
		{Conn: 1, Seq: 1, Sent: time.Millisecond, Outcome: probe.OutcomeLost},
		{Conn: 2, Seq: 2, Sent: 2 * time.Millisecond, RTT: 31_000, Outcome: probe.OutcomeCorrupt},
		{Conn: 1, Seq: 1, Sent: time.Millisecond, RTT: 1_200_000_000, Outcome: probe.OutcomeLate},
		{Conn: 4, Seq: 4, Sent: 4 * time.Millisecond, RTT: 19_000, Outcome: probe.OutcomeDup},
		{Conn: 4, Seq: 9, Sent: -1, RTT: -1, Outcome: probe.OutcomeDup},
		{Conn: 5, Seq: 1<<64 - 1, Sent: 90 * time.Second, RTT: 1, Outcome: probe.OutcomeOK},
	}
	const want = "conn,seq,sent_ns,rtt_ns,outcome\n" +
		"0,0,0,18400,ok\n" +
		"1,1,1000000,,lost\n" +
		"2,2,2000000,31000,corrupt\n" +
		"1,1,1000000,1200000000,late\n" +
		"4,4,4000000,19000,dup\n" +
		"4,9,,,dup\n" +
		"5,18446744073709551615,90000000000,1,ok\n"
	var b bytes.Buffer
	s := NewSampleWriter(&b)
	for _, x := range samples {
		if err := s.Write(x); err != nil {
			t.Fatal(err)
		}
	}
	if b.Len() != 0 {
		t.Errorf("%d bytes written before Flush, want them buffered", b.Len())
	}
	if err := s.Flush(); err != nil {
		t.Fatal(err)
	}
	if b.String() != want {
		t.Errorf("got:\n%s\nwant:\n%s", b.String(), want)
	}
	records, err := csv.NewReader(&b).ReadAll()
	if err != nil || len(records) != len(samples)+1 || !reflect.DeepEqual(records[2], []string{"1", "1", "1000000", "", "lost"}) {
		t.Errorf("encoding/csv reads %q, %v", records, err)
	}
}

func TestSampleWriterErrors(t *testing.T) {
	t.Parallel()
	var b bytes.Buffer
	s := NewSampleWriter(&b)
	want := `sample 7: unknown outcome 9: want ok, lost, corrupt, late or dup`
	if err := s.Write(probe.Sample{Seq: 7, Outcome: 9}); err == nil || err.Error() != want {
		t.Errorf("Write with a bad outcome = %v, want %s", err, want)
	}
	if err := s.Flush(); err != nil || b.String() != sampleHeader {
		t.Errorf("after a refused row: %q, %v; want the header alone", b.String(), err)
	}
	s.Sample(probe.Sample{Seq: 7, Outcome: 9})
	if err := s.Flush(); err == nil || err.Error() != want {
		t.Errorf("Flush after Sample with a bad outcome = %v, want %s", err, want)
	}
	s = NewSampleWriter(failWriter{})
	if err := s.Write(probe.Sample{RTT: 1, Outcome: probe.OutcomeOK}); err != nil {
		t.Fatalf("Write = %v before the buffer fills, want nil", err)
	}
	if err := s.Flush(); err == nil {
		t.Error("Flush hid a write error")
	}
	if err := s.Write(probe.Sample{Seq: 1, RTT: 1, Outcome: probe.OutcomeOK}); err == nil {
		t.Error("Write after a failed Flush returned nil, want the writer's error")
	}
}

// TestSampleWriterAllocs keeps Sample allocation-free, as a probe.Sampler
// must be: it runs once per round trip.
func TestSampleWriterAllocs(t *testing.T) {
	s := NewSampleWriter(io.Discard)
	var sampler probe.Sampler = s
	seq := uint64(0)
	allocs := testing.AllocsPerRun(10_000, func() {
		seq++
		x := probe.Sample{Conn: 3, Seq: seq, Sent: time.Duration(seq) * time.Millisecond, RTT: 18_400 + time.Duration(seq), Outcome: probe.OutcomeOK}
		if seq%7 == 0 {
			x.Outcome = probe.OutcomeLost
		}
		sampler.Sample(x)
	})
	if allocs != 0 {
		t.Errorf("Sample allocates %v times per row, want 0", allocs)
	}
	if err := s.Flush(); err != nil {
		t.Fatal(err)
	}
}
