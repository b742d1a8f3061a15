package probe

import (
	"encoding/binary"
	"net"
	"net/netip"
	"testing"
	"time"
)

// faultyUDP is an echo server that misbehaves on chosen sequence numbers:
// drops a reply, sends one twice, corrupts one byte, or holds a reply back
// until a later datagram arrives (after the very next one: a reorder; long
// after: a reply past its timeout).
type faultyUDP struct {
	drop, dup, corrupt uint64
	hold, releaseAt    []uint64 // hold[i] is sent when releaseAt[i] arrives, just after its reply
}

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

// counts are the UDP counters a fault test checks, all at once.
type counts struct{ Sent, Received, Lost, Corrupt, Late, Dup, Reordered, MaxReorder uint64 }

func countsOf(r *Result) counts {
	return counts{r.Sent, r.Received, r.Lost, r.Corrupt, r.Late, r.Dup, r.Reordered, r.MaxReorder}
}

// TestUDPFaultsOnASchedule: with --rate, sends do not wait for replies, so
// every fault is counted exactly once and none delays another round trip.
func TestUDPFaultsOnASchedule(t *testing.T) {
	t.Parallel()
	f := faultyUDP{drop: 20, dup: 40, corrupt: 120, hold: []uint64{60, 80}, releaseAt: []uint64{61, 190}}
	target := serveUDP(t, f.serve)
	// Seq 80 comes back 110 sends (1.1 s) after it went out, past its 1 s
	// timeout: lost, then late instead; the counts add up to what was sent. Seq 60 comes back just after 61. The
	// timeout is long so that only the held reply can miss it: on a
	// loaded machine running the race detector, an ordinary reply has been
	// seen to take 290 ms.
	const timeout = time.Second
	r, err := Run(t.Context(), target, Options{Count: 200, Size: 64, Interval: 10 * time.Millisecond, Timeout: timeout})
	if err != nil {
		t.Fatal(err)
	}
	want := counts{Sent: 200, Received: 197, Lost: 1, Corrupt: 1, Late: 1, Dup: 1, Reordered: 1, MaxReorder: 1}
	if got := countsOf(r); got != want {
		t.Errorf("counts = %+v\nwant     %+v", got, want)
	}
	if r.Max >= timeout || r.OK() {
		t.Errorf("max %v, ok %v: a late reply was recorded as a latency, or faults were not failures", r.Max, r.OK())
	}
}

// TestUDPFaultsBackToBack: one datagram in flight at a time, the same
// faults but a reorder, which cannot happen with one in flight.
func TestUDPFaultsBackToBack(t *testing.T) {
	t.Parallel()
	f := faultyUDP{drop: 20, dup: 40, corrupt: 120, hold: []uint64{80}, releaseAt: []uint64{81}}
	target := serveUDP(t, f.serve)
	// Seq 80's reply is held until seq 81 arrives, which the probe sends
	// only after 80 timed out: lost, then late.
	r, err := Run(t.Context(), target, Options{Count: 200, Size: 64, Timeout: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	want := counts{Sent: 200, Received: 197, Lost: 1, Corrupt: 1, Late: 1, Dup: 1}
	if got := countsOf(r); got != want {
		t.Errorf("counts = %+v\nwant     %+v", got, want)
	}
}
