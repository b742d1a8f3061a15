package probe

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"runtime"
	"syscall"
	"time"

	"github.com/rs/zerolog"
)

// udpBufSize is one byte more than the largest datagram loopback carries,
// so a reply longer than anything we sent is seen as too long, never
// silently truncated to the right length.
const udpBufSize = 64<<10 + 1

// session is one connection's run in RTT mode: what its engine, the
// closed loop (loop.go) or the scheduled UDP flow (flow.go), shares.
// Everything a round trip touches is allocated here, once, so the engines
// allocate nothing per round trip.
type session struct {
	id    int // which of the run's connections, from 0
	conn  net.Conn
	dgram bool // UDP or a Unix datagram socket, not a stream
	o     Options
	log   zerolog.Logger
	res   *Result // how the run ended and how it read; the counts are t's
	t     tally
	pub   *published // with Options.Report: counts handed to the reporter
	rd    reader     // chosen once, by pickReaders
	near  reader     // the flow's reader just before a send is due
	nonce uint64     // tells our replies from another run's
	out   []byte     // the payload being sent
	in    []byte     // the reply: Size bytes for a stream, udpBufSize for datagrams
	// spinBelow is how close to a due send waiting stops sleeping and
	// spins instead; tests on a fake clock set it to 0, since spinning
	// never lets fake time pass.
	spinBelow time.Duration

	start     time.Time // round trip i is due at start + i*Interval
	firstSend time.Time // when the first recorded round trip was sent, or due
	seq       uint64    // the latest round trip, warm-up ones included
	got       int       // bytes of the current TCP reply read before an error
	replied   bool      // something came back at some point: the target is live
	fatal     error     // Run returns this instead of the Result

	// The trace (trace.go): where it goes, how many measured round trips
	// are still to be told (0 with tracing off), and how many were.
	trace     zerolog.Logger
	traceLeft int
	told      int
}

// newSession is connection id's session of a run that started at start;
// pub, if not nil, gets its counts for interval reports.
func newSession(id int, c opened, res *Result, o Options, log zerolog.Logger, start time.Time, pub *published) *session {
	conn := c.conn
	// Each connection's schedule is offset by its share of the interval,
	// so that with --rate the sends of all connections together are
	// evenly spaced instead of bunched.
	offset := o.Interval * time.Duration(id) / time.Duration(max(o.Concurrency, 1))
	s := &session{
		id:        id,
		conn:      conn,
		dgram:     !res.Target.Stream(),
		o:         o,
		log:       log,
		res:       res,
		t:         newTally(o, id, start, pub != nil),
		pub:       pub,
		nonce:     rand.Uint64(),
		out:       make([]byte, o.Size),
		spinBelow: 2 * time.Millisecond,
		start:     start.Add(offset),
		trace:     c.trace,
	}
	if c.trace.GetLevel() <= zerolog.TraceLevel {
		s.traceLeft = o.TraceRoundTrips
	}
	s.in = make([]byte, o.Size)
	if s.dgram {
		s.in = make([]byte, udpBufSize)
	}
	return s
}

// run does the round trips and fills in s.res. It returns an error only when
// the target turned out to be unreachable before anything came back.
func (s *session) run(ctx context.Context) error {
	if err := s.pickReaders(); err != nil {
		return err
	}
	// A stop wakes a read or write wherever it blocks; the round trip then
	// sees ctx.Err() and reports an interruption.
	unblocked := make(chan struct{})
	stop := context.AfterFunc(ctx, func() {
		s.rd.stop()
		if s.near != nil {
			s.near.stop()
		}
		close(unblocked)
	})
	defer func() {
		if !stop() {
			<-unblocked // leave no goroutine behind touching a closed conn
		}
	}()
	if s.o.BusyPoll {
		// Spinning on one thread keeps the socket's cache lines and the
		// scheduler out of the way of every read.
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
	}
	if s.dgram && s.o.Interval > 0 {
		newFlow(s).run(ctx)
	} else {
		newLoop(s).run(ctx)
	}
	if !s.firstSend.IsZero() {
		s.res.Elapsed = time.Since(s.firstSend)
	}
	s.traceEnd()
	s.t.fill(s.res)
	s.pub.publish(&s.t, time.Now(), true)
	return s.fatal
}

func (s *session) interrupt() { s.res.interrupt() }

// fail handles an I/O error that is neither a timeout nor an interruption,
// and reports false: the run stops.
func (s *session) fail(err error) bool {
	if s.dgram && !s.replied {
		// Nothing ever came back: the target was never reached.
		if errors.Is(err, syscall.ECONNREFUSED) {
			err = refused(s.res.place())
		}
		s.fatal = withKind(connectKind(err), err)
		return false
	}
	s.res.abort(withKind(s.kind(ioKind(err)), errors.New(s.failReason(err)+s.cameBack()+s.hint())))
	return false
}

// noReply is why a UDP run gives up on a target that answered none of the
// first n datagrams within d.
func (s *session) noReply(n uint64, d time.Duration) error {
	return fmt.Errorf("%w (%d datagram%s sent, none answered within %v)", ErrNoReply, n, plural(n), d)
}

// kind is the kind of what stopped the run, when it was of kind k: no
// reply, when nothing ever came back.
func (s *session) kind(k error) error {
	if !s.replied {
		return ErrNoReply
	}
	return k
}

// progress says how far the run got, for abort reasons.
func (s *session) progress() string {
	if !s.t.counted(s.seq) {
		return fmt.Sprintf("during warm-up (round trip %d of %d)", s.seq+1, s.t.warmup)
	}
	return fmt.Sprintf("after %d round trip%s", s.t.Sent, plural(s.t.Sent))
}

// hint points at the likeliest cause when the server never echoed a byte.
func (s *session) hint() string {
	if s.replied {
		return ""
	}
	return "; " + ErrNoReply.Error()
}

func plural(n uint64) string {
	if n == 1 {
		return ""
	}
	return "s"
}
