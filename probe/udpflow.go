package probe

import (
	"context"
	"encoding/binary"
	"errors"
	"os"
	"time"
)

// UDP bookkeeping: every datagram sent has a slot in a ring, found by its
// sequence number, that says what became of it. A reply is matched to its
// slot, so duplicates, late arrivals and reordering are told apart exactly,
// in 64-bit counters.

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

// closedLoopSlots remembers enough past round trips back to back to tell a
// duplicate from a late reply; older ones count as late.
const closedLoopSlots = 1024

// maxSlots bounds the ring (and so the datagrams in flight) on a schedule:
// 1 Mi slots is a second's worth at a million round trips per second.
const maxSlots = 1 << 20

// newSlots sizes the ring to hold every datagram that can be in flight:
// those sent within one timeout, plus a margin for sends that bunch up
// when the schedule runs behind.
func newSlots(o Options) []slot {
	if o.Interval <= 0 {
		return make([]slot, closedLoopSlots)
	}
	n := 2*int64(o.Timeout/o.Interval) + 16
	return make([]slot, min(n, maxSlots))
}

// slot returns seq's slot, or nil when the ring no longer holds it.
func (s *session) slot(seq uint64) *slot {
	sl := &s.slots[seq%uint64(len(s.slots))]
	if sl.state == slotFree || sl.seq != seq {
		return nil
	}
	return sl
}

// conclude records what became of a pending datagram, counting it if it
// was a measured one.
func (s *session) conclude(sl *slot, st slotState, now time.Time) {
	sl.state = st
	if sl.seq < s.warmup {
		return
	}
	s.res.Sent++
	switch st {
	case slotReceived:
		s.res.record(now.Sub(sl.due), now.Sub(sl.sent))
		s.reorder(sl.seq)
		s.sample(sl.seq, sl.sent, now.Sub(sl.sent), "ok")
	case slotLost:
		s.res.Lost++
		s.sample(sl.seq, sl.sent, 0, "lost")
	case slotCorrupt:
		s.res.Corrupt++
		s.sample(sl.seq, sl.sent, now.Sub(sl.sent), "corrupt")
	}
}

// reorder counts a reply that arrived after a later one, and how far back
// it was.
func (s *session) reorder(seq uint64) {
	if seq+1 < s.highest {
		s.res.Reordered++
		s.res.MaxReorder = max(s.res.MaxReorder, s.highest-1-seq)
	}
	s.highest = max(s.highest, seq+1)
}

// flow runs UDP on a schedule: each datagram goes out when due, whether or
// not earlier replies have come back, and replies are matched to their
// sends by sequence number. A lost datagram costs its own round trip and
// never delays another.
func (s *session) flow(ctx context.Context) {
	poll, err := newSpinner(s.conn, false, &s.stopped)
	if err != nil {
		s.fatal = err
		return
	}
	poll.yield = true
	s.poll = poll
	var next, lo uint64 // the next seq to send; the oldest not yet concluded
	for {
		now := time.Now()
		lo = s.expire(now, lo, next)
		more := s.moreAt(next)
		if !more && lo == next {
			return
		}
		if more && !now.Before(s.dueAt(next)) {
			lo = s.send(next, lo, now)
			next++
			continue
		}
		deadline, spin := s.wakeAt(lo, next, more, now)
		if !s.receive(ctx, deadline, next, spin) {
			return
		}
		if s.pub != nil {
			s.publish(time.Now(), false)
		}
	}
}

// wakeAt says until when to wait for a reply: the oldest pending
// datagram's timeout or the next send, whichever is first. Close to a send
// it spins instead of sleeping, because an idle Go runtime sleeps in epoll
// with millisecond granularity and would send late.
func (s *session) wakeAt(lo, next uint64, more bool, now time.Time) (deadline time.Time, spin bool) {
	if lo < next { // after expire, lo is the oldest pending datagram
		deadline = s.slot(lo).sent.Add(s.o.Timeout)
	}
	if !more {
		return deadline, false
	}
	due := s.dueAt(next)
	if due.Sub(now) < s.spinBelow {
		spin = true
	} else {
		due = due.Add(-s.spinBelow / 2)
	}
	if lo == next || due.Before(deadline) {
		deadline = due
	}
	return deadline, spin
}

// send sends seq, first giving up on the oldest datagram if the ring is
// full, and returns the new oldest unconcluded seq.
func (s *session) send(seq, lo uint64, now time.Time) uint64 {
	if seq-lo >= uint64(len(s.slots)) {
		s.conclude(s.slot(lo), slotLost, now)
		lo++
	}
	due := s.dueAt(seq)
	if seq == s.warmup {
		s.firstSend = due
	}
	if seq > 0 && seq >= s.warmup && now.Sub(due) >= s.o.Interval {
		s.res.Behind++ // the next send was already due
	}
	fill(s.out, seq, s.nonce)
	*s.slotFor(seq) = slot{seq: seq, due: due, sent: now, state: slotPending}
	s.seq = seq
	if _, err := s.conn.Write(s.out); err != nil {
		// A refusal from an earlier send surfaces here too; the read
		// that follows reports it.
		s.log.Debug().Err(err).Uint64("seq", seq).Msg("send failed")
	}
	return lo
}

func (s *session) slotFor(seq uint64) *slot { return &s.slots[seq%uint64(len(s.slots))] }

// expire concludes as lost the datagrams older than the timeout and
// returns the oldest seq still pending.
func (s *session) expire(now time.Time, lo, next uint64) uint64 {
	for ; lo < next; lo++ {
		sl := s.slot(lo)
		if sl == nil || sl.state != slotPending {
			continue
		}
		if now.Sub(sl.sent) < s.o.Timeout {
			break
		}
		s.conclude(sl, slotLost, now)
	}
	return lo
}

// receive waits until deadline for one datagram and matches it. It
// reports false when the run must stop.
func (s *session) receive(ctx context.Context, deadline time.Time, next uint64, spin bool) bool {
	if err := s.conn.SetReadDeadline(deadline); err != nil {
		return s.fail(err)
	}
	// Checked after setting the deadline: a cancellation from here on sets
	// a past one that ours cannot overwrite.
	if ctx.Err() != nil {
		s.interrupt()
		return false
	}
	s.deadline = deadline
	var n int
	var err error
	if spin && s.spin == nil {
		n, err = s.poll.read(s.in, deadline)
	} else {
		n, err = s.read(s.in)
	}
	switch {
	case err == nil:
		s.replied = true
		s.match(s.in[:n], time.Now(), next)
		return true
	case ctx.Err() != nil:
		s.interrupt()
		return false
	case errors.Is(err, os.ErrDeadlineExceeded):
		return true
	}
	return s.fail(err)
}

// match finds the datagram a reply belongs to and counts it.
func (s *session) match(b []byte, now time.Time, next uint64) {
	if len(b) != len(s.out) || binary.BigEndian.Uint64(b[8:]) != s.nonce ||
		binary.BigEndian.Uint64(b) >= next {
		// Not the echo of anything we sent: its header is damaged too.
		s.res.Corrupt++
		return
	}
	seq := binary.BigEndian.Uint64(b)
	sl, ok := s.slot(seq), intact(b, seq, s.nonce)
	if sl != nil && sl.state == slotPending && now.Sub(sl.sent) >= s.o.Timeout {
		// Its timeout passed while this loop was not looking: it is late
		// however promptly the loop reads it now.
		s.conclude(sl, slotLost, now)
	}
	switch {
	case sl != nil && sl.state == slotPending && ok:
		s.conclude(sl, slotReceived, now)
	case sl != nil && sl.state == slotPending:
		s.conclude(sl, slotCorrupt, now)
	case seq < s.warmup:
	case !ok:
		s.res.Corrupt++
	case sl != nil && sl.state != slotLost:
		s.res.Dup++ // a second copy of a reply already counted
	default: // lost, or too old for the ring to remember
		s.late(sl)
	}
}

// late counts an intact reply that came after its timeout. It was counted
// lost when the timeout ran out; now it is counted late instead, once. A
// reply too old for the ring to remember was lost too: anything else would
// have come back within the timeout.
func (s *session) late(sl *slot) {
	s.res.Late++
	if s.res.Lost > 0 {
		s.res.Lost--
	}
	if sl != nil {
		sl.state = slotLate // a second copy is a dup
	}
}

// moreAt reports whether seq is still to be sent.
func (s *session) moreAt(seq uint64) bool {
	switch {
	case seq < s.warmup:
		return true
	case s.o.Duration <= 0:
		return seq-s.warmup < uint64(s.o.Count)
	}
	return s.dueAt(seq).Before(s.dueAt(s.warmup).Add(s.o.Duration))
}

func (s *session) dueAt(seq uint64) time.Time {
	return s.start.Add(time.Duration(seq) * s.o.Interval)
}
