package probe

import (
	"context"
	"math"
	"sync/atomic"
	"time"
)

// Counts are what became of a run's round trips.
//
// A measured round trip is counted in Sent when it concludes, and at the
// same moment in exactly one of Received, Lost and Corrupt; a reply that
// comes after its timeout then moves it from Lost to Late. So
//
//	Sent == Received + Lost + Corrupt + Late
//
// holds at every moment of a run. A round trip cut short by an
// interruption or an I/O error has not concluded and is in none of them.
// Dup, Reordered and MaxReorder count replies beyond that rule.
//
// In ModeThroughput there are no round trips: Corrupt is 1 when the stream
// came back altered, and the rest are 0.
type Counts struct {
	Sent     uint64 // measured round trips that concluded
	Received uint64 // the reply came back intact, in time
	Lost     uint64 // no reply, before the timeout or since
	Corrupt  uint64 // a reply came back but differed from what was sent
	Late     uint64 // UDP: the intact reply came after the timeout (not also in Lost)
	// Dup counts UDP replies beyond one per round trip: a second copy of a
	// reply already counted, or a datagram when no round trip was waiting.
	Dup uint64
	// Reordered counts UDP replies that arrived after the reply to a later
	// send, and MaxReorder is the largest such distance in sends.
	Reordered, MaxReorder uint64
}

// add adds o's counts to c, as when connections run in parallel.
func (c *Counts) add(o Counts) {
	c.Sent += o.Sent
	c.Received += o.Received
	c.Lost += o.Lost
	c.Corrupt += o.Corrupt
	c.Late += o.Late
	c.Dup += o.Dup
	c.Reordered += o.Reordered
	c.MaxReorder = max(c.MaxReorder, o.MaxReorder)
}

// tally is where every engine (the closed loop, the scheduled UDP flow and
// the connect mode) reports what became of each round trip: the counting
// rules are written here and nowhere else. Each event names its round trip
// by seq; events of warm-up round trips (seq < warmup) count nowhere. Every
// event also becomes a Sample, if there is a Sampler.
type tally struct {
	Counts
	behind uint64 // sends that went out late, as the engine judges it

	warmup uint64
	dist   Dist  // RTTs of intact replies, timed from when each send was due
	raw    *Dist // the same from the actual send, with a schedule; else nil
	iv     *Dist // RTTs since the last publication to a reporter; else nil
	jitter float64
	prev   time.Duration // the last raw RTT, for the jitter
	// highest is one more than the highest seq received intact.
	highest uint64

	samples Sampler
	conn    int       // which of the run's connections, for samples
	start   time.Time // when the run started, for samples
	lim     *errorLimit
}

// newTally is one connection's tally for o; reporting gives it a
// distribution for the RTTs of each interval.
func newTally(o Options, conn int, start time.Time, reporting bool) tally {
	t := tally{warmup: uint64(o.Warmup), dist: NewDist(), samples: o.Samples, conn: conn, start: start, lim: o.limit}
	if o.Interval > 0 {
		raw := NewDist()
		t.raw = &raw
	}
	if reporting {
		iv := NewDist()
		t.iv = &iv
	}
	return t
}

// counted reports whether seq is measured rather than warm-up.
func (t *tally) counted(seq uint64) bool { return seq >= t.warmup }

// intact concludes seq with an intact reply in time: rtt timed from when
// its send was due, raw from when it went out (the same without a
// schedule). An intact reply that arrives after the reply to a later seq
// is counted reordered as well.
func (t *tally) intact(seq uint64, sent time.Time, rtt, raw time.Duration) {
	if !t.counted(seq) {
		return
	}
	t.Sent++
	t.Received++
	t.dist.record(rtt)
	if t.iv != nil {
		t.iv.record(rtt)
	}
	if t.raw != nil {
		t.raw.record(raw)
	}
	// RFC 3550's interarrival jitter: a running mean of |RTT(i) - RTT(i-1)|
	// with gain 1/16.
	if t.Received > 1 {
		t.jitter += (math.Abs(float64(raw-t.prev)) - t.jitter) / 16
	}
	t.prev = raw
	if seq+1 < t.highest {
		t.Reordered++
		t.MaxReorder = max(t.MaxReorder, t.highest-1-seq)
	}
	t.highest = max(t.highest, seq+1)
	t.sample(seq, sent, raw, OutcomeOK)
}

// corrupt concludes seq with a reply that differs from what was sent.
func (t *tally) corrupt(seq uint64, sent time.Time, rtt time.Duration) {
	if !t.counted(seq) {
		return
	}
	t.Sent++
	t.Corrupt++
	t.sample(seq, sent, rtt, OutcomeCorrupt)
	t.lim.fail()
}

// lost concludes seq with no reply before its timeout.
func (t *tally) lost(seq uint64, sent time.Time) {
	if !t.counted(seq) {
		return
	}
	t.Sent++
	t.Lost++
	t.sample(seq, sent, 0, OutcomeLost)
	t.lim.fail() // a late reply later makes it no less a failure
}

// late counts the intact reply to seq that came after its timeout: seq was
// counted lost then, and is now counted late instead, so that it is
// counted once. The engine calls it once per seq, for the first copy. With
// nothing lost to move, the reply cannot be a late one of this run's
// (sent is zero when the engine no longer remembers seq), and it is
// counted as one reply too many: a dup.
func (t *tally) late(seq uint64, sent time.Time, rtt time.Duration) {
	if !t.counted(seq) {
		return
	}
	if t.Lost == 0 {
		t.dup(seq, sent, rtt)
		return
	}
	t.Lost--
	t.Late++
	t.sample(seq, sent, rtt, OutcomeLate)
}

// dup counts a reply beyond the one that concluded seq. sent is zero, and
// rtt negative, when it is not known which send the reply answers.
func (t *tally) dup(seq uint64, sent time.Time, rtt time.Duration) {
	if !t.counted(seq) {
		return
	}
	t.Dup++
	t.sample(seq, sent, rtt, OutcomeDup)
}

// sendBehind counts a send that went out late because a round trip overran
// the schedule; the first send is due when the run starts, and is never
// late.
func (t *tally) sendBehind(seq uint64) {
	if seq > 0 && t.counted(seq) {
		t.behind++
	}
}

// sample hands one event to the Sampler, if any.
func (t *tally) sample(seq uint64, sent time.Time, rtt time.Duration, oc Outcome) {
	if t.samples == nil {
		return
	}
	x := Sample{Conn: t.conn, Seq: seq, Sent: -1, RTT: rtt, Outcome: oc}
	if !sent.IsZero() {
		x.Sent = sent.Sub(t.start)
	}
	t.samples.Sample(x)
}

// fill puts what was counted into r.
func (t *tally) fill(r *Result) {
	r.Counts, r.Behind = t.Counts, t.behind
	r.Dist, r.Raw = t.dist, t.raw
	r.jitter, r.Jitter = t.jitter, time.Duration(math.Round(t.jitter))
}

// errorLimit ends a run once Options.MaxErrors measured round trips have
// failed (lost, late or corrupt) over all its connections, by cancelling
// the run's context; the sessions then stop as they stop for a signal.
type errorLimit struct {
	max    uint64
	failed atomic.Uint64
	stop   context.CancelCauseFunc
}

// fail counts one failed round trip; l may be nil: no limit.
func (l *errorLimit) fail() {
	if l != nil && l.failed.Add(1) == l.max {
		l.stop(ErrMaxErrors)
	}
}

// reached reports whether the run has had as many failures as it allows.
func (l *errorLimit) reached() bool { return l != nil && l.failed.Load() >= l.max }
