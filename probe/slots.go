package probe

import "time"

// UDP bookkeeping: every datagram sent has a slot in a ring, found by its
// sequence number, that says what became of it. A reply is matched to its
// slot, so duplicates, late arrivals and reordering are told apart exactly.

// slotState is what became of one datagram.
type slotState uint8

const (
	slotFree     slotState = iota
	slotPending            // sent, no reply yet
	slotReceived           // an intact reply came back in time
	slotLost               // no reply before the timeout
	slotCorrupt            // a damaged reply came back
	slotLate               // the intact reply came back after the timeout
)

type slot struct {
	seq   uint64
	due   time.Time
	sent  time.Time
	state slotState
}

// ring holds the slots of the most recent datagrams.
type ring []slot

// closedLoopSlots remembers enough past round trips back to back to tell a
// duplicate from a late reply; older ones count as late.
const closedLoopSlots = 1024

// maxSlots bounds the ring (and so the datagrams in flight) on a schedule:
// 1 Mi slots is a second's worth at a million round trips per second.
const maxSlots = 1 << 20

// newRing sizes the ring to hold every datagram that can be in flight:
// those sent within one timeout, plus a margin for sends that bunch up
// when the schedule runs behind.
func newRing(o Options) ring {
	if o.Interval <= 0 {
		return make(ring, closedLoopSlots)
	}
	n := 2*int64(o.Timeout/o.Interval) + 16
	return make(ring, min(n, maxSlots))
}

// at returns seq's slot, or nil when the ring no longer holds it.
func (r ring) at(seq uint64) *slot {
	sl := &r[seq%uint64(len(r))]
	if sl.state == slotFree || sl.seq != seq {
		return nil
	}
	return sl
}

// put returns the slot seq takes, whatever it held before.
func (r ring) put(seq uint64) *slot { return &r[seq%uint64(len(r))] }

// stale counts an intact reply to a datagram already concluded: the reply
// to one that timed out is late, once; any other copy is a dup. A reply too
// old for the ring to remember was lost too (anything else would have come
// back within the timeout), and the tally judges it.
func (t *tally) stale(sl *slot, seq uint64, now time.Time) {
	if sl == nil {
		t.late(seq, time.Time{}, -1)
		return
	}
	if sl.state != slotLost {
		t.dup(seq, sl.sent, now.Sub(sl.sent))
		return
	}
	t.late(seq, sl.sent, now.Sub(sl.sent))
	sl.state = slotLate // a second copy is a dup
}
