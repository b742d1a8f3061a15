package probe

import (
	"context"
	"runtime"
	"time"

	"github.com/loopback-dev/loopback/internal/yield"
)

// loop is the closed loop, over TCP or UDP: one round trip at a time, each
// sent when due (at once, back to back) and waited for before the next.
type loop struct {
	*session
	sent    time.Time // when the current round trip was sent; zero until then
	writing bool      // the current TCP error happened while sending
	wrote   int       // bytes of the current request sent before a failed write
	timer   *time.Timer
	yielded yield.Clock // when the loop last let the scheduler run
	slots   ring        // UDP: what became of recent round trips
}

func newLoop(s *session) *loop {
	l := &loop{session: s, timer: time.NewTimer(time.Hour)}
	l.timer.Stop()
	if s.dgram {
		l.slots = newRing(s.o)
	}
	return l
}

func (l *loop) run(ctx context.Context) {
	defer l.timer.Stop()
	done := ctx.Done()
	for l.seq = 0; l.more(); l.seq++ {
		if !l.step(ctx, done) {
			break
		}
		// On two cores the runtime's monitor thread would otherwise
		// compete with the echo being measured (see package yield).
		l.yielded.Tick(l.sent.Sub(l.start))
	}
}

// step does one round trip and reports whether the run goes on. It is the
// body of the hot loop: nothing on its path allocates, except building the
// reason when the run stops.
func (l *loop) step(ctx context.Context, done <-chan struct{}) bool {
	if !l.wait(done) {
		l.interrupt()
		return false
	}
	var rtt time.Duration
	var oc outcome
	var err error
	if l.dgram {
		rtt, oc, err = l.udpRoundTrip(ctx)
	} else {
		rtt, oc, err = l.tcpRoundTrip(ctx)
	}
	if l.seq == l.t.warmup && !l.sent.IsZero() {
		// On a schedule the run is timed from when its first send was
		// due, like each round trip.
		l.firstSend = l.sent
		if l.o.Interval > 0 {
			l.firstSend = l.due()
		}
	}
	goOn := l.account(rtt, oc, err)
	if l.traceLeft > 0 {
		l.traceRoundTrip(rtt, oc)
	}
	if l.pub != nil {
		l.pub.publish(&l.t, time.Now(), false)
	}
	return goOn
}

// more reports whether another round trip is due.
func (l *loop) more() bool {
	switch {
	case !l.t.counted(l.seq):
		return true
	case l.o.Duration <= 0:
		return l.seq-l.t.warmup < uint64(l.o.Count)
	case l.firstSend.IsZero():
		return true
	}
	end := l.firstSend.Add(l.o.Duration)
	return time.Now().Before(end) && l.due().Before(end)
}

func (l *loop) due() time.Time {
	return l.start.Add(time.Duration(l.seq) * l.o.Interval)
}

// wait sleeps until the current round trip is due, and reports false if
// ctx was cancelled first. The schedule is absolute, so a slow round trip
// makes the sends already due go out at once (counted in Behind) instead of
// pushing every later send back.
func (l *loop) wait(done <-chan struct{}) bool {
	if l.o.Interval <= 0 {
		return true
	}
	due := l.due()
	d := time.Until(due)
	if d <= 0 {
		l.t.sendBehind(l.seq)
		return true
	}
	// An idle Go runtime sleeps in epoll with millisecond granularity, so a
	// timer alone would send up to a millisecond late at high rates: sleep
	// on the timer until close, then yield until the send is due.
	if d > l.spinBelow {
		l.timer.Reset(d - l.spinBelow/2)
		select {
		case <-l.timer.C:
		case <-done:
			l.timer.Stop()
			return false
		}
	}
	for time.Now().Before(due) {
		select {
		case <-done:
			return false
		default:
			runtime.Gosched()
		}
	}
	return true
}

// account hands the outcome of one round trip to the tally and reports
// whether the run goes on. A warm-up round trip counts nowhere, but a fatal
// error in one still ends the run.
func (l *loop) account(rtt time.Duration, oc outcome, err error) bool {
	switch oc {
	case outOK:
		// Timed from when the send was due: a round trip that made later
		// sends late charges them its delay too, as the requests of a
		// real client would have waited.
		corrected := rtt
		if l.o.Interval > 0 {
			corrected += l.sent.Sub(l.due())
		}
		l.t.intact(l.seq, l.sent, corrected, rtt)
		l.remember(slotReceived)
		l.log.Debug().Uint64("seq", l.seq).Float64("rtt_us", float64(rtt)/float64(time.Microsecond)).Msg("reply")
		return true
	case outCorrupt:
		l.t.corrupt(l.seq, l.sent, rtt)
		l.remember(slotCorrupt)
		l.log.Debug().Uint64("seq", l.seq).Msg("corrupt reply")
		return true
	case outLost:
		l.t.lost(l.seq, l.sent)
		l.remember(slotLost)
		l.log.Debug().Uint64("seq", l.seq).Msg("reply lost")
		switch {
		case !l.dgram:
			l.res.abort(l.timeoutError())
			return false
		case !l.replied && (l.t.counted(l.seq) || l.seq+1 == l.t.warmup || time.Since(l.start) >= l.o.Timeout):
			// The warm-up, its Timeout, or the first round trip without
			// one is over, and nothing came back (see timeout).
			l.res.abort(l.noReply(l.seq+1, l.o.Timeout))
			return false
		}
		return true
	case outInterrupted:
		l.interrupt()
		return false
	}
	return l.fail(err)
}

// timeout is how long the current round trip waits for its reply. Until
// anything comes back, the warm-up's datagrams share one Timeout: a UDP
// target that answers none of them is given up on after about that long
// (see account), not after a Timeout per datagram, yet one datagram lost
// on the way does not condemn a live one. A wait below a millisecond would
// be rounded up by the kernel's timers anyway.
func (l *loop) timeout() time.Duration {
	if l.replied || l.t.counted(l.seq) {
		return l.o.Timeout
	}
	return min(max(l.o.Timeout/time.Duration(l.t.warmup), time.Millisecond), l.o.Timeout)
}

// arm sets the deadline of a UDP round trip, l.timeout() from now.
func (l *loop) arm() error {
	if d := l.timeout(); d < l.o.Timeout {
		return l.rd.armEarly(time.Now().Add(d))
	}
	return l.rd.arm(time.Now().Add(l.o.Timeout))
}

// remember notes what became of a UDP round trip, so that a second copy of
// its reply counts as a dup, and a reply after its timeout as late.
func (l *loop) remember(st slotState) {
	if l.dgram {
		*l.slots.put(l.seq) = slot{seq: l.seq, sent: l.sent, state: st}
	}
}
