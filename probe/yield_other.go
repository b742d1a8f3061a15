//go:build !linux

package probe

import "runtime"

// schedYield yields to other goroutines, the nearest portable thing to
// sched_yield(2).
func schedYield() { runtime.Gosched() }
