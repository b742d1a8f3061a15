// Package yield holds the one rule by which the program's busy goroutines
// (the server's event loops, the probe's round-trip loop) let the Go
// scheduler run.
//
// A goroutine that goes from one system call to the next never parks, so to
// the runtime it looks like one that never yields: every 10 ms the runtime
// takes its P away in the middle of a call, and its monitor thread then
// wakes every 20 µs for a while. That costs more context switches than the
// work itself. Calling runtime.Gosched every Every costs a fraction of a
// microsecond and keeps the runtime out of the way.
package yield

import (
	"runtime"
	"time"
)

// Every is how often a busy goroutine yields: half the runtime's 10 ms time
// slice, so the runtime never has to preempt it.
const Every = 5 * time.Millisecond

// Clock yields when Every has passed since it last did. The zero value is
// ready; times are whatever monotonic offset the caller already reads, so
// asking costs no clock read of its own.
type Clock struct{ last time.Duration }

// Tick yields if now is Every or more past the last yield.
func (c *Clock) Tick(now time.Duration) {
	if now-c.last >= Every {
		runtime.Gosched()
		c.last = now
	}
}
