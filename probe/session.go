package probe

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"runtime"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/rs/zerolog"

	"github.com/loopback-dev/loopback/internal/yield"
)

// udpBufSize is one byte more than the largest datagram loopback carries,
// so a reply longer than anything we sent is seen as too long, never
// silently truncated to the right length.
const udpBufSize = 64<<10 + 1

// session is one run over one connection. Everything a round trip touches
// is allocated here, once, so the loop itself allocates nothing.
type session struct {
	id    int // which of the run's connections, from 0
	conn  net.Conn
	udp   bool
	res   *Result
	o     Options
	log   zerolog.Logger
	nonce uint64 // tells our replies from another run's
	out   []byte // the payload being sent
	in    []byte // the reply: Size bytes for TCP, udpBufSize for UDP
	timer *time.Timer
	// spinBelow is how close to a due send wait stops sleeping and yields
	// instead; tests on a fake clock set it to 0, since yielding never lets
	// fake time pass.
	spinBelow time.Duration

	seq       uint64      // current round trip, warm-up ones included
	warmup    uint64      // round trips before recording starts
	start     time.Time   // round trip i is due at start + i*Interval
	firstSend time.Time   // when the first recorded round trip was sent
	sent      time.Time   // when the current round trip was sent; zero until then
	yielded   yield.Clock // when the loop last let the scheduler run
	got       int         // bytes of the current TCP reply read before an error
	writing   bool        // the current TCP error happened while sending
	replied   bool        // something came back at some point: the target is live
	deadline  time.Time   // when the current read gives up
	spin      *spinner    // with BusyPoll: reads spin instead of parking
	poll      *spinner    // UDP on a schedule: spins just before a send is due
	block     *blocker    // the rest: reads sleep in the kernel, as a C client's do
	stopped   atomic.Bool
	slots     []slot     // UDP: what became of each recent datagram
	pub       *published // with Options.Report: counts handed to the reporter
	highest   uint64     // UDP: one more than the highest seq received intact
	fatal     error      // Run returns this instead of the Result
}

func newSession(id int, conn net.Conn, res *Result, o Options, log zerolog.Logger) *session {
	s := &session{
		id:     id,
		conn:   conn,
		udp:    res.Target.Network == "udp",
		res:    res,
		o:      o,
		log:    log,
		nonce:  rand.Uint64(),
		warmup: uint64(o.Warmup),
		out:    make([]byte, o.Size),

		spinBelow: 2 * time.Millisecond,
	}
	if s.udp {
		s.in = make([]byte, udpBufSize)
		s.slots = newSlots(o)
	} else {
		s.in = make([]byte, o.Size)
	}
	return s
}

// run does the round trips and fills in s.res. It returns an error only when
// the target turned out to be unreachable before anything came back.
func (s *session) run(ctx context.Context, start time.Time) error {
	// A past deadline wakes a blocked read or write at once; the round trip
	// then sees ctx.Err() and reports an interruption.
	unblocked := make(chan struct{})
	s.blockReads()
	stop := context.AfterFunc(ctx, func() {
		s.stopped.Store(true) // a spinning read never sees the deadline
		if s.block != nil {
			s.block.shutdown() // nor does one blocked in the kernel
		}
		_ = s.conn.SetDeadline(time.Unix(1, 0)) // fails only once conn is closed, when nothing is blocked
		close(unblocked)
	})
	defer func() {
		if !stop() {
			<-unblocked // leave no goroutine behind touching a closed conn
		}
	}()
	s.timer = time.NewTimer(time.Hour)
	s.timer.Stop()
	defer s.timer.Stop()

	if s.o.BusyPoll {
		sp, err := newSpinner(s.conn, !s.udp, &s.stopped)
		if err != nil {
			return err
		}
		// Spinning on one thread keeps the socket's cache lines and the
		// scheduler out of the way of every read.
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		s.spin = sp
	}
	done := ctx.Done()
	s.start = start
	if s.udp && s.o.Interval > 0 {
		s.flow(ctx)
	} else {
		for s.seq = 0; s.more(); s.seq++ {
			if !s.step(ctx, done) {
				break
			}
			s.yieldNowAndThen()
		}
	}
	if !s.firstSend.IsZero() {
		s.res.Elapsed = time.Since(s.firstSend)
	}
	s.publish(time.Now(), true)
	return s.fatal
}

// blockReads makes reads sleep in the kernel, except when busy polling or
// when UDP runs on a schedule (it polls until each send is due). A
// connection without a descriptor (a pipe in tests) keeps the poller.
func (s *session) blockReads() {
	switch {
	case s.o.BusyPoll:
		s.res.Reads = "by busy polling"
		return
	case s.udp && s.o.Interval > 0:
		s.res.Reads = "through the Go poller, spinning before each send"
		return
	}
	if b, err := newBlocker(s.conn, !s.udp, s.o.Timeout, &s.stopped); err == nil {
		s.block = b
		s.res.Reads = "by blocking read(2), as a C client does"
	} else {
		s.log.Debug().Err(err).Msg("reads go through the poller")
	}
}

// step does one round trip and reports whether the run goes on. It is the
// body of the hot loop: nothing on its path allocates, except building the
// reason when the run stops.
func (s *session) step(ctx context.Context, done <-chan struct{}) bool {
	if !s.wait(done) {
		s.interrupt()
		return false
	}
	var rtt time.Duration
	var oc outcome
	var err error
	if s.udp {
		rtt, oc, err = s.udpRoundTrip(ctx)
	} else {
		rtt, oc, err = s.tcpRoundTrip(ctx)
	}
	if s.seq == s.warmup && !s.sent.IsZero() {
		// On a schedule the run is timed from when its first send was
		// due, like each round trip.
		s.firstSend = s.sent
		if s.o.Interval > 0 {
			s.firstSend = s.due()
		}
	}
	goOn := s.account(rtt, oc, err)
	if s.pub != nil {
		s.publish(time.Now(), false)
	}
	return goOn
}

// yieldNowAndThen lets the scheduler run every few milliseconds (see
// package yield): on two cores the runtime's monitor thread would otherwise
// compete with the echo being measured.
func (s *session) yieldNowAndThen() { s.yielded.Tick(s.sent.Sub(s.start)) }

// sample writes one row for --output csv; a write error is kept by the
// writer and reported when it is flushed.
func (s *session) sample(seq uint64, sent time.Time, rtt time.Duration, outcome string) {
	if s.o.Samples != nil {
		_ = s.o.Samples.Write(s.id, seq, sent.Sub(s.start), rtt, outcome)
	}
}

// more reports whether another round trip is due.
func (s *session) more() bool {
	switch {
	case s.seq < s.warmup:
		return true
	case s.o.Duration <= 0:
		return s.seq-s.warmup < uint64(s.o.Count)
	case s.firstSend.IsZero():
		return true
	}
	end := s.firstSend.Add(s.o.Duration)
	return time.Now().Before(end) && s.due().Before(end)
}

func (s *session) due() time.Time {
	return s.start.Add(time.Duration(s.seq) * s.o.Interval)
}

// wait sleeps until the current round trip is due, and reports false if
// ctx was cancelled first. The schedule is absolute, so a slow round trip
// makes the sends already due go out at once (counted in Behind) instead of
// pushing every later send back.
func (s *session) wait(done <-chan struct{}) bool {
	if s.o.Interval <= 0 {
		return true
	}
	due := s.due()
	d := time.Until(due)
	if d <= 0 {
		// The first send is due when the run starts, so it is never late.
		if s.seq > 0 && s.seq >= s.warmup {
			s.res.Behind++
		}
		return true
	}
	// An idle Go runtime sleeps in epoll with millisecond granularity, so a
	// timer alone would send up to a millisecond late at high rates: sleep
	// on the timer until close, then yield until the send is due.
	if d > s.spinBelow {
		s.timer.Reset(d - s.spinBelow/2)
		select {
		case <-s.timer.C:
		case <-done:
			s.timer.Stop()
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

// account counts the outcome of one round trip and reports whether the run
// goes on. Warm-up round trips are not counted, but still end the run on a
// fatal error.
func (s *session) account(rtt time.Duration, oc outcome, err error) bool {
	rec := s.seq >= s.warmup
	if s.udp && oc <= outLost {
		// Remembered so that a second copy of this reply counts as a
		// duplicate, and a reply after the timeout as late.
		*s.slotFor(s.seq) = slot{seq: s.seq, state: [...]slotState{slotReceived, slotCorrupt, slotLost}[oc]}
	}
	if rec && oc <= outLost {
		s.res.Sent++
	}
	switch oc {
	case outOK:
		if rec {
			// Timed from when the send was due: a round trip that made
			// later sends late charges them its delay too, as the
			// requests of a real client would have waited.
			corrected := rtt
			if s.o.Interval > 0 {
				corrected += s.sent.Sub(s.due())
			}
			s.res.record(corrected, rtt)
			s.sample(s.seq, s.sent, rtt, "ok")
		}
		s.log.Debug().Uint64("seq", s.seq).Dur("rtt", rtt).Msg("reply")
		return true
	case outCorrupt:
		if rec {
			s.res.Corrupt++
			s.sample(s.seq, s.sent, rtt, "corrupt")
		}
		s.log.Debug().Uint64("seq", s.seq).Msg("corrupt reply")
		return true
	case outLost:
		if rec {
			s.res.Lost++
			s.sample(s.seq, s.sent, 0, "lost")
		}
		s.log.Debug().Uint64("seq", s.seq).Msg("reply lost")
		if !s.udp {
			s.res.Aborted = s.timeoutReason()
		}
		return s.udp
	case outInterrupted:
		s.interrupt()
		return false
	}
	return s.fail(err)
}

func (s *session) interrupt() {
	s.res.Aborted = "interrupted"
	s.res.Interrupted = true
}

// fail handles an I/O error that is neither a timeout nor an interruption.
func (s *session) fail(err error) bool {
	if s.udp && !s.replied {
		// Nothing ever came back: the target was never reached.
		if errors.Is(err, syscall.ECONNREFUSED) {
			err = refused(s.res.Addr)
		}
		s.fatal = err
		return false
	}
	s.res.Aborted = s.failReason(err) + s.hint()
	return false
}

func (s *session) failReason(err error) string {
	what := err.Error()
	switch {
	case errors.Is(err, io.ErrUnexpectedEOF):
		what = fmt.Sprintf("server closed the connection mid-reply (%d of %d bytes)", s.got, len(s.out))
	case errors.Is(err, io.EOF):
		what = "server closed the connection"
	case errors.Is(err, syscall.ECONNRESET):
		what = "connection reset by peer"
	case errors.Is(err, syscall.EPIPE):
		what = "server closed the connection (broken pipe)"
	case errors.Is(err, syscall.ECONNREFUSED):
		what = "connection refused: the echo server went away"
	}
	return what + " " + s.progress()
}

func (s *session) timeoutReason() string {
	n, what := s.seq-s.warmup+1, ""
	if s.seq < s.warmup {
		n, what = s.seq+1, "warm-up "
	}
	msg := fmt.Sprintf("%sreply %d timed out after %v", what, n, s.o.Timeout)
	switch {
	case s.writing:
		msg = fmt.Sprintf("sending %srequest %d timed out after %v (the server is not reading)", what, n, s.o.Timeout)
	case s.got > 0:
		msg += fmt.Sprintf(" (%d of %d bytes arrived)", s.got, len(s.out))
	}
	return msg + ": the TCP stream cannot resynchronise" + s.hint()
}

// progress says how far the run got, for abort reasons.
func (s *session) progress() string {
	if s.seq < s.warmup {
		return fmt.Sprintf("during warm-up (round trip %d of %d)", s.seq+1, s.warmup)
	}
	return fmt.Sprintf("after %d round trip%s", s.res.Sent, plural(s.res.Sent))
}

// hint points at the likeliest cause when the server never echoed a byte.
func (s *session) hint() string {
	if s.replied {
		return ""
	}
	return "; nothing ever came back: is it an echo server?"
}

func plural(n uint64) string {
	if n == 1 {
		return ""
	}
	return "s"
}
