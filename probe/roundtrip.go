package probe

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"os"
	"time"
)

// outcome is how one round trip of the closed loop ended.
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
func (l *loop) tcpRoundTrip(ctx context.Context) (time.Duration, outcome, error) {
	fill(l.out, l.seq, l.nonce)
	l.sent, l.got, l.writing = time.Time{}, 0, true
	if err := l.rd.arm(time.Now().Add(l.o.Timeout)); err != nil {
		return 0, outFailed, err
	}
	// Checked after arming, so that a cancellation from here on stops the
	// reader for good, and no deadline of ours can undo that.
	if ctx.Err() != nil {
		return 0, outInterrupted, nil
	}
	l.sent = time.Now()
	var n int
	var err error
	if l.o.Split {
		n, err = l.sendSplit()
	} else {
		n, err = l.rd.write(l.out)
	}
	if err != nil {
		l.wrote = n
		return 0, l.ioOutcome(ctx, err), err
	}
	l.writing = false
	n, err = l.rd.readFull(l.in)
	rtt := time.Since(l.sent)
	l.got = n
	l.replied = l.replied || n > 0
	if err != nil {
		return 0, l.ioOutcome(ctx, err), err
	}
	if !bytes.Equal(l.in, l.out) {
		return rtt, outCorrupt, nil
	}
	return rtt, outOK, nil
}

// sendSplit writes the request in two halves, each its own write(2).
func (l *loop) sendSplit() (int, error) {
	half := len(l.out) / 2
	n, err := l.rd.write(l.out[:half])
	if err != nil {
		return n, err
	}
	m, err := l.rd.write(l.out[half:])
	return n + m, err
}

// udpRoundTrip sends one datagram and reads until its echo or the
// deadline. Late echoes of earlier round trips are skipped, so one lost
// datagram costs one round trip, never the rest of the run.
func (l *loop) udpRoundTrip(ctx context.Context) (time.Duration, outcome, error) {
	fill(l.out, l.seq, l.nonce)
	l.sent = time.Time{}
	if err := l.arm(); err != nil {
		return 0, outFailed, err
	}
	if ctx.Err() != nil { // see tcpRoundTrip
		return 0, outInterrupted, nil
	}
	l.sent = time.Now()
	if _, err := l.rd.write(l.out); err != nil {
		return 0, l.ioOutcome(ctx, err), err
	}
	for {
		// A connected UDP socket reports an ICMP port unreachable here, as
		// ECONNREFUSED.
		n, err := l.rd.read(l.in)
		rtt := time.Since(l.sent)
		if err != nil {
			return 0, l.ioOutcome(ctx, err), err
		}
		l.replied = true
		switch l.classify(l.in[:n]) {
		case match:
			return rtt, outOK, nil
		case mismatch:
			return rtt, outCorrupt, nil
		}
	}
}

func (l *loop) ioOutcome(ctx context.Context, err error) outcome {
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
// stale, and counted late or dup; anything else that is not the current
// echo (wrong length, wrong nonce, a seq not yet sent, damaged bytes) is
// taken as the current reply, corrupted, so that each round trip is
// counted exactly once.
func (l *loop) classify(b []byte) verdict {
	if bytes.Equal(b, l.out) {
		return match
	}
	if len(b) != len(l.out) || binary.BigEndian.Uint64(b[8:]) != l.nonce {
		return mismatch
	}
	seq := binary.BigEndian.Uint64(b)
	if seq >= l.seq || !intact(b, seq, l.nonce) {
		return mismatch
	}
	l.t.stale(l.slots.at(seq), seq, time.Now())
	l.log.Debug().Uint64("seq", seq).Msg("stale reply")
	return stale
}
