package probe

import (
	"bytes"
	"encoding/csv"
	"io"
	"reflect"
	"testing"
	"time"
)

func TestSampleWriter(t *testing.T) {
	t.Parallel()
	type row struct {
		seq       uint64
		sent, rtt time.Duration
		outcome   string
	}
	rows := []row{
		{0, 0, 18_400, "ok"},
		{1, time.Millisecond, 0, "lost"},
		{2, 2 * time.Millisecond, 31_000, "corrupt"},
		{3, 3 * time.Millisecond, 1_200_000_000, "late"},
		{4, 4 * time.Millisecond, 19_000, "dup"},
		{1<<64 - 1, 90 * time.Second, 1, "ok"},
	}
	const want = "conn,seq,sent_ns,rtt_ns,outcome\n" +
		"0,0,0,18400,ok\n" +
		"1,1,1000000,,lost\n" +
		"2,2,2000000,31000,corrupt\n" +
		"3,3,3000000,1200000000,late\n" +
		"4,4,4000000,19000,dup\n" +
		"5,18446744073709551615,90000000000,1,ok\n"
	var b bytes.Buffer
	s := NewSampleWriter(&b)
	for i, r := range rows {
		if err := s.Write(i, r.seq, r.sent, r.rtt, r.outcome); err != nil {
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
	if err != nil || len(records) != len(rows)+1 || !reflect.DeepEqual(records[2], []string{"1", "1", "1000000", "", "lost"}) {
		t.Errorf("encoding/csv reads %q, %v", records, err)
	}
}

func TestSampleWriterErrors(t *testing.T) {
	t.Parallel()
	var b bytes.Buffer
	s := NewSampleWriter(&b)
	want := `sample 7: unknown outcome "ok,1": want ok, lost, corrupt, late or dup`
	if err := s.Write(0, 7, 0, 1, "ok,1"); err == nil || err.Error() != want {
		t.Errorf("Write with a bad outcome = %v, want %s", err, want)
	}
	if err := s.Flush(); err != nil || b.String() != sampleHeader {
		t.Errorf("after a refused row: %q, %v; want the header alone", b.String(), err)
	}
	s = NewSampleWriter(failWriter{})
	if err := s.Write(0, 0, 0, 1, "ok"); err != nil {
		t.Fatalf("Write = %v before the buffer fills, want nil", err)
	}
	if err := s.Flush(); err == nil {
		t.Error("Flush hid a write error")
	}
	if err := s.Write(0, 1, 0, 1, "ok"); err == nil {
		t.Error("Write after a failed Flush returned nil, want the writer's error")
	}
}

// TestSampleWriterAllocs keeps Write allocation-free: it runs once per
// round trip.
func TestSampleWriterAllocs(t *testing.T) {
	s := NewSampleWriter(io.Discard)
	seq := uint64(0)
	allocs := testing.AllocsPerRun(10_000, func() {
		seq++
		outcome := "ok"
		if seq%7 == 0 {
			outcome = "lost"
		}
		if err := s.Write(3, seq, time.Duration(seq)*time.Millisecond, 18_400+time.Duration(seq), outcome); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Errorf("Write allocates %v times per row, want 0", allocs)
	}
	if err := s.Flush(); err != nil {
		t.Fatal(err)
	}
}
