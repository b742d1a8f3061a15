package server

import (
	"sync"
	"time"
)

// warnEvery is how often one kind of per-packet or per-connection warning
// may be logged: enough for a person to see it is happening, too rare for
// a flood to fill a disk with it.
const warnEvery = time.Second

// limiter lets one event of a kind through per warnEvery and counts the
// ones it held back, so the next event can say how many there were. It is
// safe for concurrent use: TCP's loops share one.
type limiter struct {
	mu         sync.Mutex
	last       time.Time
	suppressed uint64
}

// allow reports whether an event may be logged now, and how many were
// held back since the last one that was.
func (l *limiter) allow(now time.Time) (ok bool, suppressed uint64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.last.IsZero() && now.Sub(l.last) < warnEvery {
		l.suppressed++
		return false, 0
	}
	l.last, suppressed, l.suppressed = now, l.suppressed, 0
	return true, suppressed
}
