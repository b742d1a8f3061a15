package server

import (
	"context"
	"runtime"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"
)

// bulkPool lends the buffers that hold an echo the peer is not yet
// reading (bulkBufSize each), and gives their memory back to the system
// after a burst: fifty clients that stop reading borrow fifty buffers, and
// without a release the process would keep that memory for as long as it
// runs, since an idle server allocates nothing that would make the garbage
// collector run.
type bulkPool struct {
	pool  sync.Pool
	lent  atomic.Int64  // buffers out of the pool now
	peak  atomic.Int64  // most out at once since the last release
	quiet chan struct{} // a burst has ended; buffered, so a signal is never lost

	released func() // called after each release; tests wait on it
}

// The release policy: a burst is at least burstBuffers lent at once; it
// has ended when no more than idleBuffers are, and the memory goes back
// once that has held for releaseAfter.
const (
	burstBuffers = 16 // 1 MiB
	idleBuffers  = 4
	releaseAfter = time.Second
)

func (p *bulkPool) get() *[]byte {
	if n := p.lent.Add(1); n > p.peak.Load() {
		p.peak.Store(n)
	}
	if b, ok := p.pool.Get().(*[]byte); ok {
		return b
	}
	b := make([]byte, bulkBufSize)
	return &b
}

func (p *bulkPool) put(b *[]byte) {
	p.pool.Put(b)
	if n := p.lent.Add(-1); n <= idleBuffers && p.peak.Load() >= burstBuffers {
		p.peak.Store(n)
		select {
		case p.quiet <- struct{}{}:
		default:
		}
	}
}

// releaseAfterBursts runs until ctx ends: each time a burst has ended and
// stayed over for releaseAfter, it empties the pool and returns the freed
// memory to the system.
func (p *bulkPool) releaseAfterBursts(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-p.quiet:
		}
		t := time.NewTimer(releaseAfter)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		if p.lent.Load() <= idleBuffers {
			// The first collection moves the pool's buffers to its victim
			// cache, the second frees them; FreeOSMemory then returns the
			// pages.
			runtime.GC()
			debug.FreeOSMemory()
			if p.released != nil {
				p.released()
			}
		}
	}
}
