package probe

import (
	"net"
	"net/netip"
	"time"

	"github.com/rs/zerolog"

	"github.com/loopback-dev/loopback/internal/logfield"
)

// The probe's trace: the first connection's life told step by step, as
// trace-level events on Options.Trace that package narrate turns into
// sentences (`probe --trace`). The events are the connect ("connecting",
// then "connection made" or "connect failed"), "warm-up done", each of the
// first Options.TraceRoundTrips measured round trips ("request sent", then
// "reply received" or "reply missing"), "more not told" with how many
// measured round trips went untold, and "socket closed".
//
// The round trips are told after each has been timed, never inside it,
// and with tracing off a round trip pays one comparison of a counter that
// is zero. The fields speak the log's vocabulary (package logfield):
// addresses as {ip, port} or {path}, durations in _ms.

// traceLog is the logger that tells connection 1's steps: o.Trace with the
// probe's fields, or a disabled logger when o.Trace does not take trace
// events.
func traceLog(o Options, t Target) zerolog.Logger {
	if o.Trace.GetLevel() > zerolog.TraceLevel {
		return zerolog.Logger{}
	}
	return o.Trace.With().Str("component", "probe").Str("network", t.Network).Logger()
}

// traceConnecting tells that the connect to t starts.
func traceConnecting(tr zerolog.Logger, t Target) {
	if e := tr.Trace(); e != nil {
		targetField(e, "addr", t).Msg("connecting")
	}
}

// traceConnect tells how the connect went.
func traceConnect(tr zerolog.Logger, t Target, conn net.Conn, addr netip.AddrPort, connect time.Duration, err error) {
	e := tr.Trace()
	if e == nil {
		return
	}
	if addr.IsValid() {
		e = logfield.AddrPort(e, "addr", addr)
	} else {
		e = targetField(e, "addr", t)
	}
	if err != nil {
		e.Str("error", err.Error()).Msg("connect failed")
		return
	}
	e = localField(e, conn)
	if t.Stream() {
		e = logfield.Millis(e, "connect", connect)
	}
	e.Msg("connection made")
}

// targetField adds t as the user gave it: {ip, port}, {host, port} or
// {path}.
func targetField(e *zerolog.Event, key string, t Target) *zerolog.Event {
	if t.Unix() {
		return logfield.Path(e, key, t.Path)
	}
	return logfield.HostPort(e, key, t.Host, t.Port)
}

// localField adds conn's own address as "local": null for a Unix socket
// with no name, as a stream client's is.
func localField(e *zerolog.Event, conn net.Conn) *zerolog.Event {
	local := conn.LocalAddr()
	if u, ok := local.(*net.UnixAddr); ok && u.Name == "" {
		local = nil
	}
	return logfield.Addr(e, "local", local)
}

// traceRoundTrip tells the round trip just done, once it has been timed
// and counted, if it is one of the first measured ones.
func (l *loop) traceRoundTrip(rtt time.Duration, oc outcome) {
	if !l.t.counted(l.seq) {
		return
	}
	if l.seq == l.t.warmup && l.t.warmup > 0 {
		l.trace.Trace().Uint64("count", l.t.warmup).Msg("warm-up done")
	}
	if oc != outOK && oc != outCorrupt && oc != outLost {
		return // the run stops, and says why
	}
	n := l.seq - l.t.warmup + 1
	if l.o.Split {
		half := len(l.out) / 2
		l.trace.Trace().Uint64("seq", n).Int("bytes", half).Int("part", 1).Int("parts", 2).Msg("request sent")
		l.trace.Trace().Uint64("seq", n).Int("bytes", len(l.out)-half).Int("part", 2).Int("parts", 2).Msg("request sent")
	} else {
		l.trace.Trace().Uint64("seq", n).Int("bytes", len(l.out)).Msg("request sent")
	}
	if oc == outLost {
		logfield.Millis(l.trace.Trace().Uint64("seq", n), "timeout", l.o.Timeout).Msg("reply missing")
	} else {
		e := l.trace.Trace().Uint64("seq", n).Int("bytes", len(l.out)).Bool("intact", oc == outOK)
		logfield.Millis(e, "rtt", rtt).Msg("reply received")
	}
	l.told++
	l.traceLeft--
}

// traceEnd tells how many measured round trips were not told, and the
// close that follows.
func (s *session) traceEnd() {
	if untold := s.t.Sent - uint64(s.told); untold > 0 {
		s.trace.Trace().Uint64("count", untold).Int("told", s.told).Msg("more not told")
	}
	if e := s.trace.Trace(); e != nil {
		localField(e, s.conn).Msg("socket closed")
	}
}
