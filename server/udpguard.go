package server

import (
	"hash/maphash"
	"net/netip"
	"time"
)

// The UDP echo answers whoever a datagram says sent it, so without a guard
// one forged datagram can set it echoing itself, another echo server, or
// another instance of itself for ever (CVE-1999-0103, the chargen/echo
// loop), and a reachable one reflects floods at a forged victim. The guard
// is on by default and each rule is cheap enough to leave the benchmarks
// as they were:
//
//   - a datagram from this socket's own address and port is never answered;
//   - nor one from a port below MinSourcePort (default 1024), where echo,
//     chargen, DNS and NTP live, as inetd refuses;
//   - nor one from the UDP port of another loopback server on this machine
//     (Instances);
//   - and a source that keeps sending back exactly what it was last sent,
//     LoopLimit times in a row within loopWindow each, is not answered for
//     loopPause: that ends a loop with any other echo. The probe and the
//     bench clients put a sequence number in every payload, so a client's
//     datagrams never repeat the last echo; a client that sends the same
//     bytes back to back as fast as it can looks like a loop and is paused.

// The guard's fixed settings.
const (
	defaultMinSourcePort = 1024
	defaultLoopLimit     = 32
	loopWindow           = time.Second      // a repeat later than this is no loop
	loopPause            = 10 * time.Second // how long a looping source is ignored
	maxSources           = 4096             // sources remembered before the memory starts over
	fingerprintBytes     = 128              // bytes of each end of a datagram compared
)

// verdict is the guard's answer for one datagram.
type verdict uint8

const (
	answer verdict = iota
	refuseSelf
	refuseLowPort
	refuseInstance
	refuseLoop
	verdicts
)

// reason names a refusal in the log.
var reason = [verdicts]string{
	refuseSelf:     "source is this socket itself",
	refuseLowPort:  "source port below the lowest answered",
	refuseInstance: "source is another loopback server",
	refuseLoop:     "source repeats the last echo: a loop",
}

// source is what the guard remembers of one sender.
type source struct {
	last    uint64        // fingerprint of the last datagram answered
	at      time.Duration // when it was answered
	repeats int           // datagrams in a row equal to the last answered
	paused  time.Duration // not answered before this
}

// guard applies the rules for one socket. Only the goroutine that serves
// the socket calls check.
type guard struct {
	own       netip.AddrPort
	minPort   uint16
	loopLimit int // 0: no loop check
	others    *instanceSet
	seed      maphash.Seed
	sources   map[netip.AddrPort]source
}

func newGuard(s *UDP, own netip.AddrPort, others *instanceSet) *guard {
	g := &guard{own: own, minPort: defaultMinSourcePort, loopLimit: defaultLoopLimit,
		others: others, seed: maphash.MakeSeed(), sources: make(map[netip.AddrPort]source)}
	if s.MinSourcePort > 0 {
		g.minPort = uint16(min(s.MinSourcePort, 65535))
	}
	if s.LoopLimit != 0 {
		g.loopLimit = max(s.LoopLimit, 0)
	}
	return g
}

// check says whether the datagram p from src may be answered at now.
func (g *guard) check(src netip.AddrPort, p []byte, now time.Duration) verdict {
	port := src.Port()
	switch {
	case port < g.minPort:
		return refuseLowPort
	case port == g.own.Port() && g.isOwn(src.Addr()):
		return refuseSelf
	case g.others.has(port) && src.Addr().IsLoopback():
		return refuseInstance
	case g.loopLimit > 0 && g.looping(src, p, now):
		return refuseLoop
	}
	return answer
}

// isOwn reports whether a is an address of this socket: its own, or, for a
// wildcard or loopback socket, any loopback address.
func (g *guard) isOwn(a netip.Addr) bool {
	own := g.own.Addr()
	return a.Unmap() == own.Unmap() || a.IsLoopback() && (own.IsUnspecified() || own.IsLoopback())
}

// looping records p from src and reports whether src is to be ignored.
func (g *guard) looping(src netip.AddrPort, p []byte, now time.Duration) bool {
	st, seen := g.sources[src]
	if seen && now < st.paused {
		return true
	}
	fp := g.fingerprint(p)
	if seen && fp == st.last && now-st.at <= loopWindow {
		st.repeats++
	} else {
		st.repeats = 0
	}
	if st.repeats >= g.loopLimit {
		st.paused, st.repeats = now+loopPause, 0
		g.remember(src, st)
		return true
	}
	st.last, st.at = fp, now
	g.remember(src, st)
	return false
}

// answered records that the answer to src was not the datagram itself (a
// chargen, daytime or time reply): a loop is then src sending back that
// answer, not what it sent before.
func (g *guard) answered(src netip.AddrPort, reply []byte) {
	if st, ok := g.sources[src]; ok {
		st.last = g.fingerprint(reply)
		g.sources[src] = st
	}
}

func (g *guard) remember(src netip.AddrPort, st source) {
	if _, ok := g.sources[src]; !ok && len(g.sources) >= maxSources {
		// Forged sources could grow the map without end; forgetting them
		// all costs at most one more loop round of LoopLimit datagrams.
		clear(g.sources)
	}
	g.sources[src] = st
}

// fingerprint tells datagrams apart by their length and the bytes at both
// ends: a loop sends back the very same bytes, while a client's sequence
// number changes the first ones. Both ends, not all, so that a 64 KiB
// datagram costs no more to check than a small one.
func (g *guard) fingerprint(p []byte) uint64 {
	var h maphash.Hash
	h.SetSeed(g.seed)
	head := p[:min(len(p), fingerprintBytes)]
	tail := p[max(len(head), len(p)-fingerprintBytes):]
	h.Write(head)
	h.Write(tail)
	return h.Sum64() ^ uint64(len(p))
}
