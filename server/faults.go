package server

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"
)

// Faults makes a server misbehave on purpose, so that a client's timeouts,
// retries and error handling can be tested against it. The zero value, or
// a nil *Faults, is a clean echo. Every fault is decided here, in one place,
// for both engines (see the package doc): an engine asks a connection's
// plan, or the UDP faults, what to do with what it read, and carries it out.
type Faults struct {
	Delay  time.Duration // hold each echo (a TCP read's worth, a datagram) this long
	Jitter time.Duration // plus or minus up to this, evenly spread

	Loss      float64 // UDP: share of datagrams not answered
	Duplicate float64 // UDP: share answered twice
	Reorder   float64 // UDP: share held back behind the next datagram

	Bandwidth float64 // TCP: bytes per second each connection's echo is paced to; 0: no limit

	ResetAfter int64 // TCP: after echoing this many bytes, reset the connection (RST); 0: never
	CloseAfter int64 // TCP: after echoing this many bytes, close it cleanly (FIN); 0: never
	StallAfter int64 // TCP: after reading this many bytes, stop reading; 0: never
	Refuse     bool  // TCP: accept each connection, then close it at once
	NoReply    bool  // TCP and UDP: read everything, answer nothing

	Faulty float64 // share of TCP connections (UDP sources) that get the faults; 0: all of them
	Seed   uint64  // seeds every random choice, for a sequence that repeats; 0: a new one each run
}

// Active reports whether f asks for any fault at all.
func (f *Faults) Active() bool {
	return f != nil && *f != (Faults{Faulty: f.Faulty, Seed: f.Seed})
}

// Validate says what is wrong with f, every problem at once.
func (f *Faults) Validate() error {
	if f == nil {
		return nil
	}
	var errs []error
	share := func(name string, p float64) {
		if p < 0 || p > 1 {
			errs = append(errs, fmt.Errorf("%s %g: a share is 0 to 1", name, p))
		}
	}
	share("loss", f.Loss)
	share("duplicate", f.Duplicate)
	share("reorder", f.Reorder)
	share("faulty", f.Faulty)
	if f.Jitter > f.Delay {
		errs = append(errs, fmt.Errorf("jitter %v is more than the delay %v: an echo cannot leave before it arrived", f.Jitter, f.Delay))
	}
	if f.Bandwidth < 0 || f.Delay < 0 || f.Jitter < 0 || f.ResetAfter < 0 || f.CloseAfter < 0 || f.StallAfter < 0 {
		errs = append(errs, errors.New("delays, rates and byte counts must not be negative"))
	}
	return errors.Join(errs...)
}

// random is the faults' source of chance, shared by a server's loops.
type random struct {
	mu  sync.Mutex
	rng *rand.Rand
}

func newRandom(seed uint64) *random {
	if seed == 0 {
		seed = rand.Uint64()
	}
	return &random{rng: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))}
}

// float returns a number in [0, 1).
func (r *random) float() float64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.rng.Float64()
}

// hit reports whether an event of probability p happens.
func (r *random) hit(p float64) bool { return p > 0 && r.float() < p }

// delay is the hold of one echo: Delay, plus or minus up to Jitter.
func (f *Faults) delay(r *random) time.Duration {
	if f.Jitter == 0 {
		return f.Delay
	}
	return f.Delay + time.Duration((2*r.float()-1)*float64(f.Jitter))
}

// after is what happens to a TCP connection once an echo has gone.
type after uint8

const (
	goOn    after = iota
	closeIt       // FIN: the peer reads the end of the stream
	resetIt       // RST: the peer's next call fails with ECONNRESET
	stallIt       // stop reading: the peer's writes block once the buffers fill
)

// step is what to do with one TCP read: echo its first echo bytes, not
// before at, and then what.
type step struct {
	echo int
	at   time.Duration
	then after
}

// plan is one faulty TCP connection's faults, as they unfold.
type plan struct {
	f    *Faults
	r    *random
	in   int64         // bytes read so far
	next time.Duration // the earliest the next echo may go: byte order, then pace
}

// newPlan returns the plan of a new connection, or nil for a clean one.
func (f *Faults) newPlan(r *random) *plan {
	if !f.Active() || f.Faulty > 0 && !r.hit(f.Faulty) {
		return nil
	}
	return &plan{f: f, r: r}
}

// read decides what becomes of n bytes read at now. An echo is never
// scheduled before the one before it, so bytes keep their order whatever
// the jitter, and a paced connection's next echo waits for this one's
// share of the bandwidth.
func (p *plan) read(n int, now time.Duration) step {
	f := p.f
	if f.NoReply {
		p.in += int64(n)
		return step{}
	}
	if p.in == 0 {
		p.next = now // a new connection has saved up no time
	}
	st := step{echo: n}
	// The first limit the stream reaches decides; a reset or close echoes
	// exactly up to its limit, a stall echoes what it read.
	for _, lim := range []struct {
		at   int64
		then after
	}{{f.ResetAfter, resetIt}, {f.CloseAfter, closeIt}, {f.StallAfter, stallIt}} {
		if lim.at > 0 && p.in+int64(n) >= lim.at && (st.then == goOn || lim.at-p.in < int64(st.echo)) {
			st.then = lim.then
			if lim.then != stallIt {
				st.echo = int(lim.at - p.in)
			}
		}
	}
	p.in += int64(n)
	st.at = max(now+f.delay(p.r), p.next)
	if f.Bandwidth > 0 {
		// Each echo takes its share of the bandwidth from where the last
		// one's ended, or from a little in the past if the connection fell
		// behind: a wake-up a fraction of a millisecond late must not cost
		// the rate, yet an idle connection saves up no burst.
		slot := max(p.next, now-paceSlack)
		st.at = max(st.at, slot)
		// Capped at an hour a chunk: a rate so small that the time would
		// overflow a Duration must crawl, not wrap round to no limit.
		p.next = slot + time.Duration(min(float64(st.echo)/f.Bandwidth*float64(time.Second), float64(time.Hour)))
		return st
	}
	p.next = st.at
	return st
}

// paceSlack is how far a paced connection may fall behind its schedule
// and still catch up: wide enough for a busy machine's late wake-ups, so
// that over a second or more the rate is the one asked for.
const paceSlack = 250 * time.Millisecond
