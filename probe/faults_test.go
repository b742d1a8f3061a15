package probe

import (
	"encoding/binary"
	"fmt"
	"net"
	"net/netip"
	"testing"
	"time"
)

// faultyUDP is an echo server that misbehaves on chosen sequence numbers:
// drops a reply, sends one twice, corrupts one byte, sends a datagram that
// is no reply to anything first, or holds a reply back until a later
// datagram arrives (after the very next one: a reorder; long after: a reply
// past its timeout). A fault at seq never happens.
type faultyUDP struct {
	drop, dup, corrupt, garbage uint64
	hold, releaseAt             []uint64 // hold[i] is sent when releaseAt[i] arrives, just after its reply
}

// never is a seq no test reaches.
const never = ^uint64(0)

func (f faultyUDP) serve(pc *net.UDPConn) {
	buf := make([]byte, 64<<10)
	held := map[uint64][]byte{}
	for {
		n, from, err := pc.ReadFromUDPAddrPort(buf)
		if err != nil {
			return
		}
		b := buf[:n]
		seq := binary.BigEndian.Uint64(b)
		f.reply(pc, b, seq, held, from)
		for i, at := range f.releaseAt {
			if seq == at {
				send(pc, held[f.hold[i]], from)
			}
		}
	}
}

func (f faultyUDP) reply(pc *net.UDPConn, b []byte, seq uint64, held map[uint64][]byte, from netip.AddrPort) {
	if seq == f.garbage {
		send(pc, []byte("no echo"), from)
	}
	switch {
	case seq == f.drop:
		return
	case seq == f.dup:
		send(pc, b, from)
	case seq == f.corrupt:
		b[len(b)-1] ^= 0x55
	}
	if f.holds(seq) {
		held[seq] = append([]byte(nil), b...)
		return
	}
	send(pc, b, from)
}

func (f faultyUDP) holds(seq uint64) bool {
	for _, h := range f.hold {
		if h == seq {
			return true
		}
	}
	return false
}

func send(pc *net.UDPConn, b []byte, to netip.AddrPort) { pc.WriteToUDPAddrPort(b, to) }

// TestUDPFaultsOnASchedule: with --rate, sends do not wait for replies, so
// every fault is counted exactly once and none delays another round trip.
func TestUDPFaultsOnASchedule(t *testing.T) {
	t.Parallel()
	f := faultyUDP{drop: 20, dup: 40, corrupt: 120, garbage: never, hold: []uint64{60, 80}, releaseAt: []uint64{61, 190}}
	target := serveUDP(t, f.serve)
	// Seq 80 comes back 110 sends (1.1 s) after it went out, past its 1 s
	// timeout: lost, then late instead; the counts add up to what was sent. Seq 60 comes back just after 61. The
	// timeout is long so that only the held reply can miss it: on a
	// loaded machine running the race detector, an ordinary reply has been
	// seen to take 290 ms.
	const timeout = time.Second
	var samples samples
	r, err := Run(t.Context(), target, Options{Count: 200, Size: 64, Interval: 10 * time.Millisecond, Timeout: timeout, Samples: &samples})
	if err != nil {
		t.Fatal(err)
	}
	want := Counts{Sent: 200, Received: 197, Lost: 1, Corrupt: 1, Late: 1, Dup: 1, Reordered: 1, MaxReorder: 1}
	if r.Counts != want {
		t.Errorf("counts = %+v\nwant     %+v", r.Counts, want)
	}
	checkSamples(t, &samples, r)
	if r.Max >= timeout || r.OK() {
		t.Errorf("max %v, ok %v: a late reply was recorded as a latency, or faults were not failures", r.Max, r.OK())
	}
}

// TestUDPFaultsBackToBack: one datagram in flight at a time, the same
// faults but a reorder, which cannot happen with one in flight.
func TestUDPFaultsBackToBack(t *testing.T) {
	t.Parallel()
	f := faultyUDP{drop: 20, dup: 40, corrupt: 120, garbage: never, hold: []uint64{80}, releaseAt: []uint64{81}}
	target := serveUDP(t, f.serve)
	// Seq 80's reply is held until seq 81 arrives, which the probe sends
	// only after 80 timed out: lost, then late. The timeout is long so that
	// only the held reply can miss it (see TestUDPFaultsOnASchedule).
	var samples samples
	r, err := Run(t.Context(), target, Options{Count: 200, Size: 64, Timeout: time.Second, Samples: &samples})
	if err != nil {
		t.Fatal(err)
	}
	want := Counts{Sent: 200, Received: 197, Lost: 1, Corrupt: 1, Late: 1, Dup: 1}
	if r.Counts != want {
		t.Errorf("counts = %+v\nwant     %+v", r.Counts, want)
	}
	checkSamples(t, &samples, r)
}

// TestUDPGarbage: a datagram that answers nothing comes in place of the
// reply to seq 50, which comes later. Both engines take it as the damaged
// reply to the datagram waiting, 50, so that each datagram sent is counted
// once, and then count the real reply as a dup.
func TestUDPGarbage(t *testing.T) {
	t.Parallel()
	for _, interval := range []time.Duration{0, 5 * time.Millisecond} {
		t.Run(fmt.Sprint("interval ", interval), func(t *testing.T) {
			t.Parallel()
			f := faultyUDP{drop: never, dup: never, corrupt: never, garbage: 50, hold: []uint64{50}, releaseAt: []uint64{51}}
			var samples samples
			r, err := Run(t.Context(), serveUDP(t, f.serve), Options{Count: 100, Size: 64, Interval: interval, Timeout: time.Second, Samples: &samples})
			if err != nil {
				t.Fatal(err)
			}
			if want := (Counts{Sent: 100, Received: 99, Corrupt: 1, Dup: 1}); r.Counts != want {
				t.Errorf("counts = %+v\nwant     %+v", r.Counts, want)
			}
			checkSamples(t, &samples, r)
		})
	}
}

// checkSamples fails the test unless the samples of a run say what its
// counts say: a round trip that came late was sampled lost first.
func checkSamples(t *testing.T, s *samples, r *Result) {
	t.Helper()
	got := s.outcomes()
	want := map[Outcome]uint64{OutcomeOK: r.Received, OutcomeLost: r.Lost + r.Late, OutcomeCorrupt: r.Corrupt, OutcomeLate: r.Late, OutcomeDup: r.Dup}
	for oc, n := range want {
		if got[oc] != n {
			t.Errorf("%d samples %s, want %d", got[oc], oc, n)
		}
	}
	checkAddsUp(t, r.Counts)
}
