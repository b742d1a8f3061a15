package probe

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"
)

// connector is one connection's share of ModeConnect: each sample
// connects, echoes one payload and closes.
type connector struct {
	c        opened
	res      *Result
	o        Options
	t        *tally
	connects Dist   // the connects alone
	out, in  []byte // the payload and its echo
	replied  bool   // an echo came back at some point: the target is live
}

// runConnects is one connection's share of ModeConnect, counted in t. Its
// first connection, opened by Run to prove the target reachable, is not a
// sample. pub, if not nil, gets the counts for interval reports.
func runConnects(ctx context.Context, c opened, res *Result, o Options, t *tally, pub *published) {
	c.conn.Close()
	k := &connector{c: c, res: res, o: o, t: t, connects: NewDist(), out: make([]byte, o.Size), in: make([]byte, o.Size)}
	var first time.Time
	for i := uint64(0); !t.counted(i) || o.Duration > 0 || i-t.warmup < uint64(o.Count); i++ {
		if ctx.Err() != nil {
			res.interrupt()
			break
		}
		if i == t.warmup {
			first = time.Now()
		}
		if o.Duration > 0 && t.counted(i) && time.Since(first) >= o.Duration {
			break
		}
		if !k.sample(ctx, i) {
			break
		}
		pub.publish(t, time.Now(), false)
	}
	if !first.IsZero() {
		res.Elapsed = time.Since(first)
	}
	t.fill(res)
	res.Connects = &k.connects
	pub.publish(t, time.Now(), true)
}

// sample takes sample seq: connect, echo, close, timed whole and with the
// connect alone. It reports false when the run must stop, with the reason
// in res.Aborted.
func (k *connector) sample(ctx context.Context, seq uint64) bool {
	start := time.Now()
	conn, connect, err := redial(ctx, k.res.Target, k.c, k.o)
	switch {
	case err != nil && ctx.Err() != nil:
		k.res.interrupt()
		return false
	case err != nil:
		k.res.abort(fmt.Errorf("connection %d: %w", seq+1, err))
		return false
	}
	fill(k.out, seq, 0)
	conn.SetDeadline(time.Now().Add(k.o.Timeout))
	_, err = conn.Write(k.out)
	n := 0
	if err == nil {
		n, err = io.ReadFull(conn, k.in)
	}
	conn.Close()
	total := time.Since(start)
	k.replied = k.replied || n > 0
	timedOut := errors.Is(err, os.ErrDeadlineExceeded)
	switch {
	case timedOut && !k.replied:
		// A target that takes connections and never echoes is no echo
		// server; waiting out a timeout per sample would take minutes.
		k.t.lost(seq, start)
		k.res.abort(fmt.Errorf("connection %d: no reply within %v: %w", seq+1, k.o.Timeout, ErrNoReply))
		return false
	case !k.t.counted(seq):
		return err == nil || ctx.Err() == nil
	case timedOut:
		k.t.lost(seq, start)
	case err != nil:
		k.res.abort(withKind(ioKind(err), fmt.Errorf("connection %d: %w", seq+1, err)))
		return false
	case !bytes.Equal(k.in, k.out):
		k.t.corrupt(seq, start, total)
	default:
		k.t.intact(seq, start, total, total)
		k.connects.record(connect)
	}
	return true
}
