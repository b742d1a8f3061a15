package probe

import (
	"sync"
	"sync/atomic"
	"time"
)

// Interval is what the connections of a run counted between two reports.
//
// Its counts are the run's, taken apart in time, with one difference: a
// round trip whose timeout ran out in the interval is in its Lost even if
// the reply comes later, since that is not known yet; the reply is then in
// the Late of the interval where it came. So in every interval
//
//	Sent == Received + Lost + Corrupt
//
// and over a run's intervals Lost adds up to the run's Lost + Late, and
// every other count to the run's.
type Interval struct {
	Mode Mode // what the run measures
	// From and To are since the run started. An interval starts where the
	// last one ended, and ends when its counts were taken: everything
	// counted in it happened before To.
	From, To                                 time.Duration
	Sent, Received, Lost, Corrupt, Late, Dup uint64
	// BytesSent and BytesReceived are the throughput stream's, written and
	// echoed back intact (ModeThroughput).
	BytesSent, BytesReceived uint64
	// Dist holds the RTTs received in the interval, timed as the run's
	// are (from when each send was due, on a schedule).
	Dist
}

// Gbps returns the interval's stream rates out and back, in Gbit/s.
func (iv *Interval) Gbps() (sent, received float64) {
	d := iv.To - iv.From
	return gbps(iv.BytesSent, d), gbps(iv.BytesReceived, d)
}

// RPS is intact round trips per second in the interval.
func (iv *Interval) RPS() float64 {
	if d := iv.To - iv.From; d > 0 {
		return float64(iv.Received) / d.Seconds()
	}
	return 0
}

// publishEvery bounds how often a session hands its counts to the
// reporter: often enough for sub-second intervals, rarely enough that the
// lock and the histogram merge cost nothing per round trip.
const publishEvery = 10 * time.Millisecond

// published is a session's counts as of its last publication, and the
// RTTs recorded since the reporter last took them. The session writes it,
// the reporter reads it, both under mu.
type published struct {
	mu       sync.Mutex
	counts   Counts    // so far
	dist     Dist      // RTTs since the reporter last took them
	lastSent time.Time // when the session last published

	// The throughput stream's writer and reader count here as they go,
	// each from its own goroutine.
	bytesSent, bytesReceived atomic.Uint64
}

// publish publishes t's counts and the RTTs recorded in t.iv since the
// last publication, at most every publishEvery unless forced; p may be nil.
func (p *published) publish(t *tally, now time.Time, force bool) {
	if p == nil || !force && now.Sub(p.lastSent) < publishEvery {
		return
	}
	p.mu.Lock()
	p.counts = t.Counts
	p.dist.merge(t.iv)
	p.lastSent = now
	p.mu.Unlock()
	t.iv.reset()
}

// reporter turns the sessions' publications into Intervals.
type reporter struct {
	pubs  []*published
	mode  Mode
	start time.Time
	last  time.Duration // where the next interval starts
	prev  Counts        // the sessions' counts at the end of the last interval
	// prevSent and prevReceived are the stream's bytes at the end of the
	// last interval.
	prevSent, prevReceived uint64
	emit                   func(Interval)
}

// take builds the interval that ends now, taking each session's RTTs. The
// interval ends when the last count is taken, not when the ticker fired:
// everything counted in it then happened before its end.
func (rp *reporter) take() {
	iv := Interval{Mode: rp.mode, From: rp.last, Dist: NewDist()}
	var total Counts
	var sent, received uint64
	for _, p := range rp.pubs {
		sent += p.bytesSent.Load()
		received += p.bytesReceived.Load()
		p.mu.Lock()
		total.add(p.counts)
		iv.Dist.merge(&p.dist)
		p.dist.reset()
		p.mu.Unlock()
	}
	iv.To = time.Since(rp.start)
	prev := rp.prev
	iv.Sent, iv.Received, iv.Corrupt = total.Sent-prev.Sent, total.Received-prev.Received, total.Corrupt-prev.Corrupt
	iv.Late, iv.Dup = total.Late-prev.Late, total.Dup-prev.Dup
	// A reply counted lost in one interval and late in a later one leaves
	// the run's Lost: the sum of the two only grows, by the round trips
	// whose timeout ran out in this interval.
	iv.Lost = total.Lost + total.Late - prev.Lost - prev.Late
	iv.BytesSent, iv.BytesReceived = sent-rp.prevSent, received-rp.prevReceived
	rp.prev, rp.prevSent, rp.prevReceived, rp.last = total, sent, received, iv.To
	rp.emit(iv)
}

// run reports every period until stop is closed, then once more, always,
// for what was left: the sessions have made their last publications by
// then, so the intervals add up to the run.
func (rp *reporter) run(period time.Duration, stop <-chan struct{}) {
	tick := time.NewTicker(period)
	defer tick.Stop()
	for {
		select {
		case <-tick.C:
			rp.take()
		case <-stop:
			rp.take()
			return
		}
	}
}
