package probe

import (
	"context"
	"encoding/binary"
	"errors"
	"os"
	"time"
)

// flow runs UDP on a schedule: each datagram goes out when due, whether or
// not earlier replies have come back, and replies are matched to their
// sends by sequence number. A lost datagram costs its own round trip and
// never delays another.
type flow struct {
	*session
	slots   ring   // what became of each datagram in flight, and of recent ones
	next    uint64 // the next seq to send
	lo      uint64 // the oldest seq not yet concluded
	expired bool   // a datagram was given up on
}

func newFlow(s *session) *flow { return &flow{session: s, slots: newRing(s.o)} }

func (f *flow) run(ctx context.Context) {
	for {
		if ctx.Err() != nil { // also when --max-errors was reached
			f.interrupt()
			return
		}
		now := time.Now()
		f.expire(now)
		if f.expired && !f.replied {
			// The first datagram's timeout ran out and nothing came back.
			f.res.abort(f.noReply(f.next, f.o.Timeout))
			return
		}
		more := f.moreAt(f.next)
		if !more && f.lo == f.next {
			return
		}
		if more && !now.Before(f.dueAt(f.next)) {
			f.send(now)
			continue
		}
		deadline, spin := f.wakeAt(more, now)
		if !f.receive(ctx, deadline, spin) {
			return
		}
		if f.pub != nil {
			f.pub.publish(&f.t, time.Now(), false)
		}
	}
}

// wakeAt says until when to wait for a reply: the oldest pending
// datagram's timeout or the next send, whichever is first. Close to a send
// it spins instead of sleeping, because an idle Go runtime sleeps in epoll
// with millisecond granularity and would send late.
func (f *flow) wakeAt(more bool, now time.Time) (deadline time.Time, spin bool) {
	if f.lo < f.next { // after expire, lo is the oldest pending datagram
		deadline = f.slots.at(f.lo).sent.Add(f.o.Timeout)
	}
	if !more {
		return deadline, false
	}
	due := f.dueAt(f.next)
	if due.Sub(now) < f.spinBelow {
		spin = true
	} else {
		due = due.Add(-f.spinBelow / 2)
	}
	if f.lo == f.next || due.Before(deadline) {
		deadline = due
	}
	return deadline, spin
}

// send sends the next seq, first giving up on the oldest datagram if the
// ring is full.
func (f *flow) send(now time.Time) {
	seq := f.next
	if seq-f.lo >= uint64(len(f.slots)) {
		f.conclude(f.slots.at(f.lo), slotLost, now)
		f.lo++
	}
	due := f.dueAt(seq)
	if seq == f.t.warmup {
		f.firstSend = due
	}
	if now.Sub(due) >= f.o.Interval {
		f.t.sendBehind(seq) // the next send was already due
	}
	fill(f.out, seq, f.nonce)
	*f.slots.put(seq) = slot{seq: seq, due: due, sent: now, state: slotPending}
	f.seq, f.next = seq, seq+1
	if _, err := f.rd.write(f.out); err != nil {
		// A refusal from an earlier send surfaces here too; the read
		// that follows reports it.
		f.log.Debug().Err(err).Uint64("seq", seq).Msg("send failed")
	}
}

// expire concludes as lost the datagrams older than the timeout, and moves
// lo to the oldest still pending.
func (f *flow) expire(now time.Time) {
	for ; f.lo < f.next && !f.stopping(); f.lo++ {
		sl := f.slots.at(f.lo)
		if sl == nil || sl.state != slotPending {
			continue
		}
		if now.Sub(sl.sent) < f.o.Timeout {
			break
		}
		f.conclude(sl, slotLost, now)
	}
}

// stopping reports whether the run is to end with what it has concluded:
// the first datagram given up on found a silent target, or the failures
// reached MaxErrors. Datagrams still pending are then left uncounted.
func (f *flow) stopping() bool { return f.expired && !f.replied || f.t.lim.reached() }

// conclude records what became of a pending datagram, and tallies it.
func (f *flow) conclude(sl *slot, st slotState, now time.Time) {
	sl.state = st
	switch st {
	case slotReceived:
		f.t.intact(sl.seq, sl.sent, now.Sub(sl.due), now.Sub(sl.sent))
	case slotLost:
		f.t.lost(sl.seq, sl.sent)
		f.expired = true
	case slotCorrupt:
		f.t.corrupt(sl.seq, sl.sent, now.Sub(sl.sent))
	}
}

// receive waits until deadline for one datagram and matches it. It
// reports false when the run must stop.
func (f *flow) receive(ctx context.Context, deadline time.Time, spin bool) bool {
	r := f.rd
	if spin {
		r = f.near
	}
	if err := r.arm(deadline); err != nil {
		return f.fail(err)
	}
	// Checked after arming: a cancellation from here on stops the reader
	// for good.
	if ctx.Err() != nil {
		f.interrupt()
		return false
	}
	n, err := r.read(f.in)
	switch {
	case err == nil:
		f.replied = true
		f.match(f.in[:n], time.Now())
		return true
	case ctx.Err() != nil:
		f.interrupt()
		return false
	case errors.Is(err, os.ErrDeadlineExceeded):
		return true
	}
	return f.fail(err)
}

// match finds the datagram a reply belongs to and tallies it.
func (f *flow) match(b []byte, now time.Time) {
	if len(b) != len(f.out) || binary.BigEndian.Uint64(b[8:]) != f.nonce ||
		binary.BigEndian.Uint64(b) >= f.next {
		f.unclaimed(now) // not the echo of anything we sent: its header is damaged
		return
	}
	seq := binary.BigEndian.Uint64(b)
	sl, ok := f.slots.at(seq), intact(b, seq, f.nonce)
	if sl != nil && sl.state == slotPending && now.Sub(sl.sent) >= f.o.Timeout {
		// Its timeout passed while this loop was not looking: it is late
		// however promptly the loop reads it now.
		f.conclude(sl, slotLost, now)
	}
	switch {
	case sl != nil && sl.state == slotPending && ok:
		f.conclude(sl, slotReceived, now)
	case sl != nil && sl.state == slotPending:
		f.conclude(sl, slotCorrupt, now)
	case !ok:
		f.unclaimed(now)
	default: // an intact copy of a reply to a concluded datagram
		f.t.stale(sl, seq, now)
	}
}

// unclaimed counts a damaged datagram that names no datagram still
// pending. As in the closed loop, it is taken as the reply to the oldest
// datagram still waiting, corrupted, so that each datagram sent is counted
// once; the intact reply, if it comes, is then a dup. With none waiting it
// is one reply too many: a dup itself.
func (f *flow) unclaimed(now time.Time) {
	for seq := f.lo; seq < f.next; seq++ {
		sl := f.slots.at(seq)
		switch {
		case sl == nil || sl.state != slotPending:
		case now.Sub(sl.sent) >= f.o.Timeout:
			f.conclude(sl, slotLost, now)
		default:
			f.conclude(sl, slotCorrupt, now)
			return
		}
	}
	f.t.dup(f.seq, time.Time{}, -1)
}

// moreAt reports whether seq is still to be sent.
func (f *flow) moreAt(seq uint64) bool {
	switch {
	case !f.t.counted(seq):
		return true
	case f.o.Duration <= 0:
		return seq-f.t.warmup < uint64(f.o.Count)
	}
	return f.dueAt(seq).Before(f.dueAt(f.t.warmup).Add(f.o.Duration))
}

func (f *flow) dueAt(seq uint64) time.Time {
	return f.start.Add(time.Duration(seq) * f.o.Interval)
}
