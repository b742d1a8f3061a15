package probe

import (
	"bytes"
	"net"
	"testing"
	"time"

	"github.com/rs/zerolog"
)

func TestRunUDPDropAndCorrupt(t *testing.T) {
	t.Parallel()
	target := serveUDP(t, udpEchoWith(func(seq uint64, b []byte) bool {
		switch seq {
		case 10:
			return false
		case 20:
			b[40] ^= 0x80
		}
		return true
	}))
	// The short timeout is the deadline for the dropped datagram.
	o := Options{Count: 30, Warmup: 2, Size: 64, Timeout: 200 * time.Millisecond}
	r, err := Run(t.Context(), target, o)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if r.Sent != 30 || r.Received != 28 || r.Lost != 1 || r.Corrupt != 1 || r.Late != 0 || r.Aborted != "" {
		t.Errorf("sent %d received %d lost %d corrupt %d late %d aborted %q; want 30 28 1 1 0 \"\"",
			r.Sent, r.Received, r.Lost, r.Corrupt, r.Late, r.Aborted)
	}
	if r.OK() {
		t.Error("OK() = true, want false")
	}
	checkAddsUp(t, r.Counts)
	if r.Max >= o.Timeout {
		t.Errorf("max RTT %v: a lost datagram was recorded as a latency", r.Max)
	}
}

// TestRunUDPLate holds back the echo of seq 10 until seq 11 arrives: its
// timeout runs out, then it turns up and is counted late instead of lost,
// and seq 11 still counts.
func TestRunUDPLate(t *testing.T) {
	t.Parallel()
	target := serveUDP(t, func(pc *net.UDPConn) {
		buf, held := make([]byte, 1024), []byte(nil)
		for {
			n, from, err := pc.ReadFromUDPAddrPort(buf)
			if err != nil {
				return
			}
			switch buf[7] { // the low byte of the big-endian seq
			case 10:
				held = bytes.Clone(buf[:n])
				continue
			case 11:
				pc.WriteToUDPAddrPort(held, from)
			}
			pc.WriteToUDPAddrPort(buf[:n], from)
		}
	})
	r, err := Run(t.Context(), target, Options{Count: 20, Size: 64, Timeout: 200 * time.Millisecond})
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if r.Sent != 20 || r.Received != 19 || r.Lost != 0 || r.Late != 1 || r.Corrupt != 0 || r.OK() {
		t.Errorf("sent %d received %d lost %d late %d corrupt %d, ok %v; want 20 19 0 1 0, not ok",
			r.Sent, r.Received, r.Lost, r.Late, r.Corrupt, r.OK())
	}
}

// TestRunUDPServerGoesAway closes the server's socket instead of answering
// seq 3: that round trip is lost, and the next send draws an ICMP port
// unreachable, which ends the run but is no longer a reason to fail Run.
func TestRunUDPServerGoesAway(t *testing.T) {
	t.Parallel()
	target := serveUDP(t, func(pc *net.UDPConn) {
		udpEchoWith(func(seq uint64, _ []byte) bool {
			if seq == 3 {
				pc.Close()
			}
			return seq != 3
		})(pc)
	})
	r, err := Run(t.Context(), target, Options{Count: 10, Size: 64, Timeout: 200 * time.Millisecond})
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	const want = "connection refused: the echo server went away after 4 round trips"
	if r.Aborted != want || r.Received != 3 || r.Lost != 1 || r.OK() {
		t.Errorf("aborted %q, received %d, lost %d, OK() %v; want %q, 3, 1, false",
			r.Aborted, r.Received, r.Lost, r.OK(), want)
	}
	checkAddsUp(t, r.Counts)
}

func TestClassify(t *testing.T) {
	t.Parallel()
	const size, nonce = 40, 0x1234
	payload := func(seq, nonce uint64, n int) []byte {
		b := make([]byte, size)
		fill(b, seq, nonce)
		return append(b, make([]byte, n-size)...)[:n]
	}
	damaged := payload(3, nonce, size)
	damaged[size-1]++
	// Before each datagram: round trips 0 and 1 are warm-up, 2 is older
	// than the ring remembers, 3 was lost, 4 came back, 5 is waiting.
	before := Counts{Sent: 3, Received: 1, Lost: 2}
	tests := []struct {
		name string
		b    []byte
		want verdict
		diff Counts // what the datagram changed
	}{
		{"current", payload(5, nonce, size), match, Counts{}},
		{"late", payload(3, nonce, size), stale, Counts{Late: 1}},
		{"dup", payload(4, nonce, size), stale, Counts{Dup: 1}},
		{"forgotten", payload(2, nonce, size), stale, Counts{Late: 1}},
		{"stale warm-up", payload(1, nonce, size), stale, Counts{}},
		{"stale damaged", damaged, mismatch, Counts{}},
		{"future", payload(6, nonce, size), mismatch, Counts{}},
		{"other run", payload(5, nonce+1, size), mismatch, Counts{}},
		{"short", payload(5, nonce, size)[:size-1], mismatch, Counts{}},
		{"long", payload(5, nonce, size+1), mismatch, Counts{}},
		{"tiny", []byte{0, 0, 0}, mismatch, Counts{}},
		{"empty", nil, mismatch, Counts{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := Options{Size: size, Warmup: 2}
			l := newLoop(newSession(0, opened{}, NewResult(Target{Network: "udp"}, o), o, zerolog.Logger{}, time.Now(), nil))
			l.nonce, l.sent = nonce, time.Now()
			l.t.lost(2, l.sent) // the ring has forgotten it
			l.seq = 3
			l.account(0, outLost, nil)
			l.seq = 4
			l.account(time.Microsecond, outOK, nil)
			l.seq = 5
			fill(l.out, l.seq, l.nonce)
			if l.t.Counts != before {
				t.Fatalf("before: %+v, want %+v", l.t.Counts, before)
			}
			want := before
			want.Late += tt.diff.Late
			want.Lost -= tt.diff.Late
			want.Dup += tt.diff.Dup
			if got := l.classify(tt.b); got != tt.want || l.t.Counts != want {
				t.Errorf("classify = %d with %+v, want %d with %+v", got, l.t.Counts, tt.want, want)
			}
		})
	}
}

func TestFillIntact(t *testing.T) {
	t.Parallel()
	for _, size := range []int{MinSize, 17, 23, 24, 25, 64, 1000} {
		b, other := make([]byte, size), make([]byte, size)
		fill(b, 7, 99)
		fill(other, 8, 99)
		if !intact(b, 7, 99) || intact(b, 8, 99) || intact(b, 7, 98) {
			t.Fatalf("size %d: intact does not recognise exactly its own payload", size)
		}
		if size > MinSize && bytes.Equal(b[MinSize:], other[MinSize:]) {
			t.Errorf("size %d: seq 7 and 8 have the same filler", size)
		}
		if size >= 24 && bytes.Count(b[MinSize:], []byte{0}) > (size-MinSize)/4 {
			t.Errorf("size %d: filler %x is mostly zeros", size, b[MinSize:])
		}
		for i := range b {
			b[i] ^= 1
			if intact(b, 7, 99) {
				t.Errorf("size %d: a flipped bit at byte %d went unnoticed", size, i)
			}
			b[i] ^= 1
		}
	}
}

// TestFlowMatch: how the scheduled flow counts each kind of datagram.
func TestFlowMatch(t *testing.T) {
	t.Parallel()
	const size, nonce = 40, 0x1234
	payload := func(seq uint64) []byte {
		b := make([]byte, size)
		fill(b, seq, nonce)
		return b
	}
	damaged := func(seq uint64) []byte {
		b := payload(seq)
		b[size-1]++
		return b
	}
	// Before each datagram: 0 came back, 1 was lost, 2 came back damaged,
	// 3 and 4 are waiting.
	before := Counts{Sent: 3, Received: 1, Lost: 1, Corrupt: 1}
	tests := []struct {
		name    string
		b       []byte
		pending bool // 3 and 4 are still waiting
		want    Counts
	}{
		{"intact", payload(4), true, Counts{Sent: 4, Received: 2, Lost: 1, Corrupt: 1}},
		{"damaged", damaged(4), true, Counts{Sent: 4, Received: 1, Lost: 1, Corrupt: 2}},
		{"late", payload(1), true, Counts{Sent: 3, Received: 1, Late: 1, Corrupt: 1}},
		{"dup", payload(0), true, Counts{Sent: 3, Received: 1, Lost: 1, Corrupt: 1, Dup: 1}},
		{"dup of damaged", payload(2), true, Counts{Sent: 3, Received: 1, Lost: 1, Corrupt: 1, Dup: 1}},
		{"damaged copy", damaged(0), true, Counts{Sent: 4, Received: 1, Lost: 1, Corrupt: 2}},
		{"not sent yet", payload(5), true, Counts{Sent: 4, Received: 1, Lost: 1, Corrupt: 2}},
		{"garbage", []byte("no echo"), true, Counts{Sent: 4, Received: 1, Lost: 1, Corrupt: 2}},
		{"garbage, none waiting", []byte("no echo"), false, Counts{Sent: 5, Received: 3, Lost: 1, Corrupt: 1, Dup: 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := Options{Size: size, Interval: time.Millisecond, Timeout: time.Hour}
			f := newFlow(newSession(0, opened{}, NewResult(Target{Network: "udp"}, o), o, zerolog.Logger{}, time.Now(), nil))
			f.nonce, f.next, f.seq = nonce, 5, 4
			now := time.Now()
			for seq := range uint64(5) {
				*f.slots.put(seq) = slot{seq: seq, due: now, sent: now, state: slotPending}
			}
			for seq, st := range []slotState{slotReceived, slotLost, slotCorrupt} {
				f.conclude(f.slots.at(uint64(seq)), st, now)
			}
			if f.t.Counts != before {
				t.Fatalf("before: %+v, want %+v", f.t.Counts, before)
			}
			if !tt.pending {
				f.match(payload(3), now)
				f.match(payload(4), now)
			}
			f.match(tt.b, now)
			if f.t.Counts != tt.want {
				t.Errorf("counts %+v\nwant   %+v", f.t.Counts, tt.want)
			}
			checkAddsUp(t, f.t.Counts)
		})
	}
}
