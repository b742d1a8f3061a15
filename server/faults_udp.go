package server

import (
	"container/heap"
	"encoding/binary"
	"hash/fnv"
	"net/netip"
	"sync/atomic"
	"time"
)

// udpFaults carries out Faults on datagrams, for both UDP engines: which
// to drop, which to answer twice, which to hold back behind the next, and
// when each answer may go. Held answers are copies, in a queue bounded by
// maxHeld: unlike a TCP stream, a datagram is its own message, so there
// is no buffer to keep it in. Only the goroutine serving the socket uses
// it.
type udpFaults struct {
	f      *Faults
	r      *random
	queue  heldDatagrams
	behind *outDatagram // answered after the next one (Reorder), or at its deadline
	counts *udpFaultCounts
}

// maxHeld bounds the answers waiting for their time; beyond it a new one
// is dropped and counted as lost, so a flood cannot grow memory.
const maxHeld = 4096

// reorderWait is how long an answer held back for reordering waits for a
// next datagram to go behind before it goes anyway.
const reorderWait = time.Second

// outDatagram is an answer to send: its bytes, where to, and when.
type outDatagram struct {
	at   time.Duration
	to   netip.AddrPort
	data []byte
}

type udpFaultCounts struct {
	lost, duplicated, reordered, delayed atomic.Uint64
}

func newUDPFaults(f *Faults, counts *udpFaultCounts) *udpFaults {
	if !f.Active() {
		return nil
	}
	return &udpFaults{f: f, r: newRandom(f.Seed), counts: counts}
}

// faulty reports whether src gets the faults: the same answer for the same
// source and seed every time, so one client meets one kind of peer.
func (u *udpFaults) faulty(src netip.AddrPort) bool {
	if u.f.Faulty == 0 {
		return true
	}
	h := fnv.New64a()
	b := src.Addr().As16()
	h.Write(b[:])
	var tail [10]byte
	binary.LittleEndian.PutUint16(tail[:], src.Port())
	binary.LittleEndian.PutUint64(tail[2:], u.f.Seed)
	h.Write(tail[:])
	return float64(h.Sum64()>>11)/(1<<53) < u.f.Faulty
}

// answer decides the fate of datagram p from src at now and returns the
// answers to send at once, in order; the others wait in the queue.
func (u *udpFaults) answer(src netip.AddrPort, p []byte, now time.Duration) []outDatagram {
	if !u.faulty(src) {
		return u.after([]outDatagram{{to: src, data: p}})
	}
	f := u.f
	// Every datagram draws the same number of times, so a seed gives the
	// same sequence of faults whatever the earlier draws decided.
	lose, dup, reorder, d := u.r.hit(f.Loss), u.r.hit(f.Duplicate), u.r.hit(f.Reorder), f.delay(u.r)
	if lose || f.NoReply {
		u.counts.lost.Add(1)
		return nil
	}
	out := outDatagram{at: now + d, to: src, data: p}
	if reorder && u.behind == nil {
		u.counts.reordered.Add(1)
		held := out
		held.data = clone(p)
		held.at = max(held.at, now+reorderWait)
		u.behind = &held
		return nil
	}
	copies := 1
	if dup {
		u.counts.duplicated.Add(1)
		copies = 2
	}
	if d > 0 {
		u.counts.delayed.Add(1)
		for range copies {
			u.hold(outDatagram{at: out.at, to: src, data: clone(p)})
		}
		return nil
	}
	send := []outDatagram{out}
	if copies == 2 {
		send = append(send, out)
	}
	return u.after(send)
}

// after puts the answer held back for reordering behind these.
func (u *udpFaults) after(send []outDatagram) []outDatagram {
	if u.behind != nil && len(send) > 0 {
		send = append(send, *u.behind)
		u.behind = nil
	}
	return send
}

func (u *udpFaults) hold(d outDatagram) {
	if len(u.queue) >= maxHeld {
		u.counts.lost.Add(1)
		return
	}
	heap.Push(&u.queue, d)
}

// due returns the held answers whose time has come, earliest first.
func (u *udpFaults) due(now time.Duration) []outDatagram {
	var out []outDatagram
	for len(u.queue) > 0 && u.queue[0].at <= now {
		out = append(out, heap.Pop(&u.queue).(outDatagram))
	}
	if u.behind != nil && u.behind.at <= now {
		out = append(out, *u.behind)
		u.behind = nil
	}
	return out
}

// next is when the earliest held answer is due.
func (u *udpFaults) next() (time.Duration, bool) {
	at, ok := time.Duration(0), false
	if len(u.queue) > 0 {
		at, ok = u.queue[0].at, true
	}
	if u.behind != nil && (!ok || u.behind.at < at) {
		at, ok = u.behind.at, true
	}
	return at, ok
}

func clone(p []byte) []byte { return append([]byte(nil), p...) }

// heldDatagrams is the answers waiting for their time, earliest first.
type heldDatagrams []outDatagram

func (h heldDatagrams) Len() int           { return len(h) }
func (h heldDatagrams) Less(i, j int) bool { return h[i].at < h[j].at }
func (h heldDatagrams) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *heldDatagrams) Push(x any)        { *h = append(*h, x.(outDatagram)) }
func (h *heldDatagrams) Pop() any {
	old := *h
	d := old[len(old)-1]
	*h = old[:len(old)-1]
	return d
}
