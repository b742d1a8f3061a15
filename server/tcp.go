package server

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/rs/zerolog"

	"github.com/loopback-dev/loopback/internal/logfield"
)

// bulkBufSize is the size of the buffers that hold an echo the peer is not
// yet reading back (and, where connections are served by event loops, of a
// loop's read buffer): large enough that a stream moves in few system calls.
// A connection holds one only while it has data in flight, so memory per
// connection never grows with the stream.
const bulkBufSize = 64 << 10

// TCP echoes every byte it reads on a connection back to it, in order.
// Set its fields before Serve; the zero value echoes with no limits and logs
// nothing. It serves any stream listener the engines can wait on: TCP, and
// Unix stream sockets too (whose peers have no address to log).
type TCP struct {
	MaxConns     int           // connections beyond this many at once are closed at once; 0: no limit
	IdleTimeout  time.Duration // close a connection with no traffic for this long; 0: never
	WriteTimeout time.Duration // close a connection whose echo the peer has not taken for this long; 0: never
	DrainTimeout time.Duration // on stop, how long open connections may go on
	Loops        int           // event loops that serve connections, where there are any; 0: one per two CPUs
	Engine       Engine        // how connections are waited on; the zero value picks the fastest there is
	Faults       *Faults       // misbehave on purpose; nil: a clean echo
	MessageSize  int           // answer only whole messages of this many bytes (goroutine engine); 0: every read
	Tracing                    // each socket step as a trace-level log event, for people
	Log          zerolog.Logger

	accepted, rejected, bytesIn, bytesOut atomic.Uint64
	open                                  atomic.Int64
	rejectWarn                            limiter // one warning a second for refused connections
	chance                                *random // the faults' random choices
	counts                                faultCounts
	bulk                                  bulkPool

	mu      sync.Mutex
	run     engineRun // what CloseAll reaches while Serve runs; nil otherwise
	closing string    // why CloseAll was called, for an engine not yet running
}

// engineRun is an engine while it serves, as CloseAll reaches it.
type engineRun interface {
	closeAll(why string)
}

// ErrEngineUnsupported is returned by Serve for an engine this system does
// not have: the event loops need Linux's epoll.
var ErrEngineUnsupported = errors.New("engine not supported on this system")

// Serve echoes connections accepted on ln until ctx is done, then stops
// accepting, lets open connections go on for DrainTimeout, closes the rest,
// and returns once every connection is closed. It returns nil after a stop
// through ctx, or the error that ended accepting.
//
// Serve owns ln from the start: ln is closed when Serve returns, whatever
// the outcome, and the event-loop engine closes it at once, having taken a
// descriptor of its own for the same socket. The caller reads ln.Addr
// before calling Serve, not after. A Unix socket's file is left in place
// for the caller to remove.
func (s *TCP) Serve(ctx context.Context, ln net.Listener) error {
	if ul, ok := ln.(*net.UnixListener); ok {
		// The loops close Go's listener at once, having a descriptor of
		// their own, and Go would then remove the socket file while it is
		// still served. Whoever made the file removes it (ListenUnix's
		// Remove), whichever engine serves it.
		ul.SetUnlinkOnClose(false)
	}
	if err := s.Faults.Validate(); err != nil {
		ln.Close()
		return fmt.Errorf("tcp: faults: %w", err)
	}
	if s.Faults.Active() {
		s.chance = newRandom(s.Faults.Seed)
	}
	s.bulk.quiet = make(chan struct{}, 1)
	janitor, stop := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { s.bulk.releaseAfterBursts(janitor) })
	defer wg.Wait()
	defer stop()
	switch e, _ := s.Effective(); e {
	case EngineLoops:
		return s.serveLoops(ctx, ln)
	case EngineGoroutines:
		return s.serveGoroutines(ctx, ln)
	default:
		ln.Close()
		return fmt.Errorf("tcp: engine %q: want %q or %q", e, EngineLoops, EngineGoroutines)
	}
}

// running records the engine CloseAll reaches; nil once it has stopped.
// A CloseAll that came before the engine did is carried out now: a second
// signal while Serve was still starting must not be lost.
func (s *TCP) running(r engineRun) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.run = r
	if r != nil && s.closing != "" {
		r.closeAll(s.closing)
	}
}

// closeAll has the running engine close every connection, giving why as
// the reason, and remembers it for an engine that has yet to start.
func (s *TCP) closeAll(why string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closing = why
	if s.run != nil {
		s.run.closeAll(why)
	}
}

// TCPStats counts what a TCP server did; read it with Stats. The fault
// counts are zero unless Faults asked for some.
type TCPStats struct {
	Accepted, Rejected, BytesIn, BytesOut uint64

	Faulty      uint64 // connections that got the faults
	Refused     uint64 // closed at once after the accept
	Delayed     uint64 // echoes held back by Delay, Jitter or Bandwidth
	Reset       uint64 // reset (RST) after ResetAfter bytes
	ClosedEarly uint64 // closed (FIN) after CloseAfter bytes
	Stalled     uint64 // no longer read after StallAfter bytes
}

// faultCounts are the fault counters of TCPStats.
type faultCounts struct {
	faulty, refused, delayed, reset, closedEarly, stalled atomic.Uint64
}

// Stats returns the counters so far; the byte counts grow as connections
// close.
func (s *TCP) Stats() TCPStats {
	c := &s.counts
	return TCPStats{Accepted: s.accepted.Load(), Rejected: s.rejected.Load(),
		BytesIn: s.bytesIn.Load(), BytesOut: s.bytesOut.Load(),
		Faulty: c.faulty.Load(), Refused: c.refused.Load(), Delayed: c.delayed.Load(),
		Reset: c.reset.Load(), ClosedEarly: c.closedEarly.Load(), Stalled: c.stalled.Load()}
}

// Engine names how a TCP server waits on its connections. Both keep the
// same contract; the choice is one of speed and of what the system has.
type Engine string

// The engines. EngineLoops exists on Linux only.
const (
	EngineAuto       Engine = ""           // EngineLoops where there is epoll, else EngineGoroutines
	EngineLoops      Engine = "loops"      // a few epoll event loops own every connection
	EngineGoroutines Engine = "goroutines" // a goroutine per connection, on Go's own poller
)

// Effective says which engine Serve will run, and with how many event
// loops (0 for the goroutine engine), after defaults: what the listening
// log event reports, so that a setting that never reached the server shows.
func (s *TCP) Effective() (Engine, int) {
	e := cmp.Or(s.Engine, defaultEngine)
	if s.MessageSize > 0 {
		// Whole messages are a teaching mode, not a fast path: the
		// goroutine engine reads them with io.ReadFull.
		e = EngineGoroutines
	}
	if e == EngineGoroutines {
		return e, 0
	}
	return e, s.loops()
}

// loops is how many event loops to run. An echo on loopback always shares
// the machine with its client, which needs about as much CPU per message as
// the server, so by default the server takes half the CPUs.
func (s *TCP) loops() int {
	if s.Loops > 0 {
		return s.Loops
	}
	return max(1, runtime.GOMAXPROCS(0)/2)
}

func (s *TCP) getBulk() *[]byte  { return s.bulk.get() }
func (s *TCP) putBulk(b *[]byte) { s.bulk.put(b) }

// admit counts a new connection, or refuses it when MaxConns are open; the
// caller closes a refused one.
func (s *TCP) admit(peer netip.AddrPort) bool {
	if n := s.open.Add(1); s.MaxConns > 0 && n > int64(s.MaxConns) {
		s.open.Add(-1)
		s.rejected.Add(1)
		if e := s.Log.Warn(); e.Enabled() {
			if ok, suppressed := s.rejectWarn.allow(time.Now()); ok {
				withPeer(e.Str("component", "tcp"), peer).Int("max_conns", s.MaxConns).
					Uint64("suppressed", suppressed).Msg("connection refused: too many open")
			}
		}
		return false
	}
	s.accepted.Add(1)
	// Checked first so that boxing peer costs nothing when info is off.
	if e := s.Log.Info(); e.Enabled() {
		withPeer(e.Str("component", "tcp"), peer).Msg("connection open")
	}
	return true
}

// drain waits for what serves the open connections (their goroutines, or
// the event loops) for DrainTimeout, then closes what is still open and
// waits again.
func (s *TCP) drain(serving *sync.WaitGroup) {
	done := make(chan struct{})
	go func() { serving.Wait(); close(done) }()
	timer := time.NewTimer(s.DrainTimeout)
	defer timer.Stop()
	select {
	case <-done:
		return
	case <-timer.C:
	}
	s.closeAll("drain timeout")
	<-done
}

// CloseAll closes every open connection now; Serve still returns only once
// it has stopped. It is how a second signal stops at once.
func (s *TCP) CloseAll() { s.closeAll("stopped") }

// closed counts and logs a connection that has been closed, and why.
func (s *TCP) closed(peer netip.AddrPort, in, out uint64, opened time.Time, why string) {
	s.open.Add(-1)
	s.bytesIn.Add(in)
	s.bytesOut.Add(out)
	if e := s.Log.Info(); e.Enabled() {
		withPeer(e.Str("component", "tcp"), peer).Uint64("bytes_in", in).Uint64("bytes_out", out).
			Float64("duration_ms", float64(time.Since(opened))/float64(time.Millisecond)).Str("reason", why).Msg("connection closed")
	}
}

// peerOf is the address of a connection's peer: an IP and port for TCP,
// and the zero AddrPort for a stream with no such address (a Unix
// socket's peer is most often unnamed).
func peerOf(a net.Addr) netip.AddrPort {
	if ta, ok := a.(*net.TCPAddr); ok {
		return ta.AddrPort()
	}
	return netip.AddrPort{}
}

// withPeer adds the peer to a log event, as null where there is none.
func withPeer(e *zerolog.Event, peer netip.AddrPort) *zerolog.Event {
	return logfield.AddrPort(e, "peer", peer)
}

// scanEvery is how often the event loops look for connections past a
// timeout: an eighth of the shortest one, so that none is closed more than
// an eighth late, between 1 ms and 1 s; 0 when there is no timeout.
func (s *TCP) scanEvery() time.Duration {
	shortest := s.IdleTimeout
	if s.WriteTimeout > 0 && (shortest == 0 || s.WriteTimeout < shortest) {
		shortest = s.WriteTimeout
	}
	if shortest == 0 {
		return 0
	}
	return min(max(shortest/8, time.Millisecond), time.Second)
}

// Why the server closed a connection, in the close event.
const (
	whyIdle    = "idle timeout"
	whyStalled = "write timeout: the peer stopped reading its echo"
	whyRefused = "refused (fault)"
	whyReset   = "reset (fault)"
	whyEarly   = "closed early (fault)"
)

// expired says why a connection that has had no traffic for quiet must
// close now, or "" if it may stay open; stalled says an echo is waiting
// for the peer to read. Both engines ask it, so the rule is written once:
// a peer that does not read is closed after WriteTimeout, shorter than an
// idle one's timeout, since it holds kernel and server buffers meanwhile.
func (s *TCP) expired(quiet time.Duration, stalled bool) string {
	switch {
	case stalled && s.WriteTimeout > 0 && quiet >= s.WriteTimeout:
		return whyStalled
	case s.IdleTimeout > 0 && quiet >= s.IdleTimeout:
		return whyIdle
	}
	return ""
}

// isTransient tells an accept error after which accepting again later may
// work: out of descriptors or memory, or a connection that died in the
// backlog.
func isTransient(err error) bool {
	return errors.Is(err, syscall.EMFILE) || errors.Is(err, syscall.ENFILE) ||
		errors.Is(err, syscall.ECONNABORTED) || errors.Is(err, syscall.ENOBUFS) ||
		errors.Is(err, syscall.ENOMEM)
}

// nextBackoff is how long to wait before accepting again after a transient
// error, as net/http does: long enough not to spin, short enough to recover.
func nextBackoff(d time.Duration) time.Duration {
	return min(max(2*d, 5*time.Millisecond), time.Second)
}

// errReason names the error that ended a connection in the close event.
func errReason(err error) string {
	if err == nil {
		return "write made no progress"
	}
	if errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) {
		return "reset by peer"
	}
	return err.Error()
}
