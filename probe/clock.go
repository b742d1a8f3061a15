package probe

import "time"

// Clock is what reading the clock costs and the smallest step it shows,
// measured at the start of a run: a latency far below either is not
// measurable on this machine, and the report says so.
type Clock struct {
	ReadCost   time.Duration // mean cost of one time.Now
	Resolution time.Duration // smallest non-zero step between two readings
}

// clockReads is enough readings for a stable mean and to see the smallest
// step, yet costs only tens of microseconds.
const clockReads = 1000

// MeasureClock reads the monotonic clock back to back.
func MeasureClock() Clock {
	start := time.Now()
	prev, step := start, time.Duration(0)
	for range clockReads {
		now := time.Now()
		if d := now.Sub(prev); d > 0 && (step == 0 || d < step) {
			step = d
		}
		prev = now
	}
	return Clock{ReadCost: prev.Sub(start) / clockReads, Resolution: step}
}
