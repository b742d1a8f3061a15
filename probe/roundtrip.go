package probe

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"os"
	"time"
)

// outcome is how one round trip ended. The first three conclude it and
// count as sent.
type outcome uint8

const (
	outOK          outcome = iota // the echo came back intact
	outCorrupt                    // a reply came back but differs from what was sent
	outLost                       // nothing came back before the deadline
	outInterrupted                // ctx was cancelled
	outFailed                     // an I/O error other than a timeout
)

// tcpRoundTrip writes the payload and reads exactly as many bytes back. A
// corrupt reply leaves the stream aligned, since only the content differs;
// a timeout does not, and the caller stops.
func (s *session) tcpRoundTrip(ctx context.Context) (time.Duration, outcome, error) {
	fill(s.out, s.seq, s.nonce)
	s.sent, s.got, s.writing = time.Time{}, 0, true
	s.deadline = time.Now().Add(s.o.Timeout)
	if s.block == nil {
		// The write gets the deadline too: a server that never reads
		// would otherwise block a large write forever. (Blocking reads
		// and writes have socket timeouts instead.)
		if err := s.conn.SetDeadline(s.deadline); err != nil {
			return 0, outFailed, err
		}
	}
	// Checked after setting the deadline, so that a cancellation from here
	// on sets a past deadline that ours cannot overwrite.
	if ctx.Err() != nil {
		return 0, outInterrupted, nil
	}
	s.sent = time.Now()
	if _, err := s.write(s.out); err != nil {
		return 0, s.ioOutcome(ctx, err), err
	}
	s.writing = false
	n, err := s.readFull(s.in)
	rtt := time.Since(s.sent)
	s.got = n
	s.replied = s.replied || n > 0
	if err != nil {
		return 0, s.ioOutcome(ctx, err), err
	}
	if !bytes.Equal(s.in, s.out) {
		return rtt, outCorrupt, nil
	}
	return rtt, outOK, nil
}

// udpRoundTrip sends one datagram and reads until its echo or the
// deadline. Late echoes of earlier round trips are skipped, so one lost
// datagram costs one round trip, never the rest of the run.
func (s *session) udpRoundTrip(ctx context.Context) (time.Duration, outcome, error) {
	fill(s.out, s.seq, s.nonce)
	s.sent = time.Time{}
	s.deadline = time.Now().Add(s.o.Timeout)
	if s.block == nil && s.spin == nil { // they time reads out themselves
		if err := s.conn.SetReadDeadline(s.deadline); err != nil {
			return 0, outFailed, err
		}
	}
	if ctx.Err() != nil { // see tcpRoundTrip
		return 0, outInterrupted, nil
	}
	s.sent = time.Now()
	if _, err := s.conn.Write(s.out); err != nil {
		return 0, s.ioOutcome(ctx, err), err
	}
	for {
		// A connected UDP socket reports an ICMP port unreachable here, as
		// ECONNREFUSED.
		n, err := s.read(s.in)
		rtt := time.Since(s.sent)
		if err != nil {
			return 0, s.ioOutcome(ctx, err), err
		}
		s.replied = true
		switch s.classify(s.in[:n]) {
		case match:
			return rtt, outOK, nil
		case mismatch:
			return rtt, outCorrupt, nil
		}
	}
}

// write sends b whole, blocking in the kernel when reads do.
func (s *session) write(b []byte) (int, error) {
	if s.block != nil && !s.udp {
		return s.block.write(b, s.deadline)
	}
	return s.conn.Write(b)
}

// read reads one datagram or what TCP has, through the poller or, with
// BusyPoll, by spinning until the deadline set for this round trip.
func (s *session) read(b []byte) (int, error) {
	switch {
	case s.spin != nil:
		return s.spin.read(b, s.deadline)
	case s.block != nil:
		return s.block.read(b, s.o.Timeout)
	}
	return s.conn.Read(b)
}

func (s *session) readFull(b []byte) (int, error) {
	switch {
	case s.spin != nil:
		return s.spin.readFull(b, s.deadline)
	case s.block != nil:
		return s.block.readFull(b, s.o.Timeout)
	}
	return io.ReadFull(s.conn, b)
}

func (s *session) ioOutcome(ctx context.Context, err error) outcome {
	switch {
	case ctx.Err() != nil:
		return outInterrupted
	case errors.Is(err, os.ErrDeadlineExceeded):
		return outLost
	}
	return outFailed
}

// verdict is what a datagram is to the round trip waiting for it.
type verdict uint8

const (
	match    verdict = iota // the echo of the current payload
	stale                   // an intact echo of an earlier round trip
	mismatch                // anything else: counted as this round trip's corrupt reply
)

// classify sorts a datagram. An intact echo of an earlier round trip is
// stale and counted Late; anything else that is not the current echo
// (wrong length, wrong nonce, a seq not yet sent, damaged bytes) is taken
// as the current reply, corrupted, so that each round trip is counted
// exactly once.
func (s *session) classify(b []byte) verdict {
	if bytes.Equal(b, s.out) {
		return match
	}
	if len(b) != len(s.out) || binary.BigEndian.Uint64(b[8:]) != s.nonce {
		return mismatch
	}
	seq := binary.BigEndian.Uint64(b)
	if seq >= s.seq || !intact(b, seq, s.nonce) {
		return mismatch
	}
	if seq >= s.warmup {
		if sl := s.slot(seq); sl != nil && sl.state != slotLost {
			s.res.Dup++
		} else {
			s.late(sl)
		}
	}
	s.log.Debug().Uint64("seq", seq).Msg("stale reply")
	return stale
}

// golden is 2^64 divided by the golden ratio, the splitmix64 increment.
const golden = 0x9e3779b97f4a7c15

// fill writes the payload for seq: the seq and the run nonce big-endian,
// then filler bytes that depend on both. Damage anywhere in the payload is
// detected, a reply sent for another seq does not match, and no part of it
// is all zeros.
func fill(b []byte, seq, nonce uint64) {
	binary.BigEndian.PutUint64(b, seq)
	binary.BigEndian.PutUint64(b[8:], nonce)
	state := seq*golden ^ nonce
	rest := b[MinSize:]
	for len(rest) >= 8 {
		state += golden
		binary.LittleEndian.PutUint64(rest, mix(state))
		rest = rest[8:]
	}
	if len(rest) > 0 {
		var tail [8]byte
		binary.LittleEndian.PutUint64(tail[:], mix(state+golden))
		copy(rest, tail[:])
	}
}

// intact reports whether b is exactly the payload fill would write for seq.
// It regenerates the filler as it goes, so checking an old seq needs no copy
// of what was sent.
func intact(b []byte, seq, nonce uint64) bool {
	if len(b) < MinSize || binary.BigEndian.Uint64(b) != seq || binary.BigEndian.Uint64(b[8:]) != nonce {
		return false
	}
	state := seq*golden ^ nonce
	rest := b[MinSize:]
	for len(rest) >= 8 {
		state += golden
		if binary.LittleEndian.Uint64(rest) != mix(state) {
			return false
		}
		rest = rest[8:]
	}
	var tail [8]byte
	binary.LittleEndian.PutUint64(tail[:], mix(state+golden))
	return bytes.Equal(rest, tail[:len(rest)])
}

// mix is the splitmix64 output function: a cheap bijection that scatters
// consecutive states over all 64 bits.
func mix(z uint64) uint64 {
	z = (z ^ z>>30) * 0xbf58476d1ce4e5b9
	z = (z ^ z>>27) * 0x94d049bb133111eb
	return z ^ z>>31
}
