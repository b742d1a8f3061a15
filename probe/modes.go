package probe

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"sync/atomic"
	"time"
)

// Mode is what a run measures.
type Mode string

// The modes. RTT is the default: round trips over one connection.
const (
	ModeRTT Mode = "rtt"
	// ModeConnect times connection set-up, as netperf's TCP_CRR does:
	// each sample connects, echoes one payload and closes. The client
	// closes first, so each sample leaves a socket in TIME_WAIT on this
	// machine, as any client's would.
	ModeConnect Mode = "connect"
	// ModeThroughput streams through the echo with large writes while a
	// concurrent reader checks every byte that comes back.
	ModeThroughput Mode = "throughput"
)

// UnmarshalText accepts rtt, connect or throughput.
func (m *Mode) UnmarshalText(b []byte) error {
	switch v := Mode(strings.ToLower(string(b))); v {
	case ModeRTT, ModeConnect, ModeThroughput:
		*m = v
		return nil
	}
	return fmt.Errorf("%q is not a mode (rtt, connect or throughput)", b)
}

// streamPeriod is the length of the pattern the throughput stream repeats:
// a prime, so that no write or read size lines up with it, and a chunk
// that went missing or came twice shifts every byte after it.
const streamPeriod = 65521

// StreamChunk is the size of each write of the throughput stream, and of
// its reader's buffer.
const StreamChunk = 256 << 10

// runStream is one connection's share of ModeThroughput: a writer streams
// the pattern for Duration and then half-closes; the reader checks every
// byte that comes back, until the server closes its side. Both count their
// bytes in pub, if not nil, for interval reports.
func runStream(ctx context.Context, c opened, res *Result, o Options, pub *published) {
	var sent, received *atomic.Uint64
	if pub != nil {
		sent, received = &pub.bytesSent, &pub.bytesReceived
	}
	defer c.conn.Close()
	// A past deadline wakes the writer and the reader at once.
	defer context.AfterFunc(ctx, func() { c.conn.SetDeadline(time.Unix(1, 0)) })()
	// The pattern repeats every streamPeriod bytes; the extra chunk at the
	// end repeats its start, so any period offset has a whole chunk after it.
	pat := make([]byte, streamPeriod+StreamChunk)
	fill(pat[:streamPeriod], 1, 0x6c6f6f706261636b) // any fixed bytes that are not all alike
	for i := streamPeriod; i < len(pat); i++ {
		pat[i] = pat[i-streamPeriod] // the chunk is longer than the period
	}
	start := time.Now()
	werr := make(chan error, 1)
	go func() { werr <- streamWrite(ctx, c.conn, pat, start, o.Duration, res, sent) }()
	rerr := streamRead(ctx, c.conn, pat, o.Timeout, res, received)
	res.Elapsed = time.Since(start)
	if rerr != nil {
		c.conn.SetDeadline(time.Unix(1, 0)) // the writer must not wait for a reader that stopped
	}
	// The reader's error says what went wrong; the writer's is then only
	// that it was stopped.
	if err := cmpErr(rerr, <-werr); err != nil && res.Aborted == "" {
		res.abort(err)
	}
	if ctx.Err() != nil {
		res.interrupt()
	}
}

func cmpErr(a, b error) error {
	if a != nil {
		return a
	}
	return b
}

// add adds n to c, if there is a c.
func add(c *atomic.Uint64, n int) {
	if c != nil {
		c.Add(uint64(n))
	}
}

func streamWrite(ctx context.Context, conn net.Conn, pat []byte, start time.Time, d time.Duration, res *Result, sent *atomic.Uint64) error {
	var off uint64
	for ctx.Err() == nil && time.Since(start) < d {
		p := off % streamPeriod
		n, err := conn.Write(pat[p : p+StreamChunk])
		off += uint64(n)
		add(sent, n)
		if err != nil {
			res.BytesSent, res.SendFor = off, time.Since(start)
			if ctx.Err() != nil {
				return nil
			}
			return withKind(ioKind(err), fmt.Errorf("write after %d bytes: %w", off, err))
		}
	}
	res.BytesSent, res.SendFor = off, time.Since(start)
	// TCP and Unix stream sockets both half-close.
	if hc, ok := conn.(interface{ CloseWrite() error }); ok {
		return hc.CloseWrite()
	}
	return nil
}

func streamRead(ctx context.Context, conn net.Conn, pat []byte, timeout time.Duration, res *Result, received *atomic.Uint64) error {
	buf := make([]byte, StreamChunk)
	var off uint64
	for {
		// An echo that stops answering ends the run instead of hanging it.
		if err := conn.SetReadDeadline(time.Now().Add(timeout)); err != nil {
			return err
		}
		n, err := conn.Read(buf)
		p := off % streamPeriod
		if !bytes.Equal(buf[:n], pat[p:p+uint64(n)]) {
			res.Corrupt++
			res.BytesReceived = off
			return withKind(ErrCorrupt, fmt.Errorf("the echo differs from what was sent within bytes %d-%d", off, off+uint64(n)))
		}
		off += uint64(n)
		add(received, n)
		if errors.Is(err, io.EOF) {
			res.BytesReceived = off
			return nil
		}
		if err != nil {
			res.BytesReceived = off
			if ctx.Err() != nil {
				return nil
			}
			kind := streamKind(conn, err, off)
			if kind == ErrStalled {
				return fmt.Errorf("%w: the echo stopped after %d bytes, and %v later what was written still waited in the socket buffers", ErrStalled, off, timeout)
			}
			return withKind(kind, fmt.Errorf("read after %d bytes: %w", off, err))
		}
	}
}

// streamKind is the kind of a read error of the stream after off bytes: an
// echo that never sent a byte is no echo at all, and one that stopped
// taking what was written has stalled.
func streamKind(conn net.Conn, err error, off uint64) error {
	if !errors.Is(err, os.ErrDeadlineExceeded) {
		return ioKind(err)
	}
	switch n, ok := unsent(conn); {
	case off == 0:
		return ErrNoReply
	case ok && n > 0:
		return ErrStalled
	}
	return ErrTimeout
}
