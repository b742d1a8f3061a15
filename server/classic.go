package server

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"
)

// The classic services that socket courses use beside echo, each as its
// RFC says for TCP and UDP: discard (RFC 863) reads and answers nothing,
// chargen (RFC 864) sends lines of characters, daytime (RFC 867) the date
// and time as text, time (RFC 868) the seconds since 1900 as 32 bits.
// Echo (RFC 862) is the TCP and UDP servers themselves. None of these is
// built for speed: a goroutine per connection is all they need.

// Service names a classic service.
type Service string

// The services.
const (
	ServiceEcho    Service = "echo"
	ServiceDiscard Service = "discard"
	ServiceChargen Service = "chargen"
	ServiceDaytime Service = "daytime"
	ServiceTime    Service = "time"
)

// Classic serves one of discard, chargen, daytime or time. Its UDP side
// answers only loopback sources and no more than udpRateLimit datagrams a
// second, and the loop guard applies: a service that answers any datagram
// with more than it received must not be an amplifier one command away.
type Classic struct {
	Service      Service
	WriteTimeout time.Duration // TCP: close a connection that does not read for this long; 0: never
	Log          zerolog.Logger
	Now          func() time.Time // the clock for daytime and time; nil: time.Now

	conns, answered, refused atomic.Uint64
	warned                   limiter
}

// udpRateLimit bounds the answers of the UDP services, all sources
// together: plenty for a person, nothing for a flood.
const udpRateLimit = 100

// chargenLine is RFC 864's line: 72 printable characters and CRLF.
const chargenLine = 72

// maxChargenDatagram is RFC 864's bound for a UDP answer.
const maxChargenDatagram = 512

// ClassicStats counts what a classic service did.
type ClassicStats struct {
	Connections, Answered, Refused uint64
}

// Stats returns the counters so far.
func (s *Classic) Stats() ClassicStats {
	return ClassicStats{Connections: s.conns.Load(), Answered: s.answered.Load(), Refused: s.refused.Load()}
}

func (s *Classic) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

// ServeTCP serves ln until ctx is done, then closes it and every
// connection, and returns once they are closed.
func (s *Classic) ServeTCP(ctx context.Context, ln net.Listener) error {
	stop := context.AfterFunc(ctx, func() { ln.Close() })
	defer stop()
	var wg sync.WaitGroup
	defer wg.Wait()
	for {
		c, err := ln.Accept()
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			if isTransient(err) {
				continue
			}
			return fmt.Errorf("%s: accept: %w", s.Service, err)
		}
		s.conns.Add(1)
		done := context.AfterFunc(ctx, func() { c.Close() })
		wg.Go(func() {
			defer done()
			defer c.Close()
			s.serveConn(c)
		})
	}
}

func (s *Classic) serveConn(c net.Conn) {
	log := withPeer(s.Log.Info().Str("component", string(s.Service)), peerOf(c.RemoteAddr()))
	log.Msg("connection open")
	switch s.Service {
	case ServiceDiscard:
		io.Copy(io.Discard, c)
	case ServiceChargen:
		s.chargenStream(c)
	case ServiceDaytime:
		c.Write(s.daytime())
	case ServiceTime:
		c.Write(s.seconds())
	}
}

// chargenStream writes RFC 864's lines until the peer goes away, reading
// and dropping what it sends meanwhile.
func (s *Classic) chargenStream(c net.Conn) {
	go io.Copy(io.Discard, c)
	buf := make([]byte, 0, 95*(chargenLine+2))
	for i := range 95 {
		buf = append(buf, chargenRow(i)...)
	}
	for {
		if s.WriteTimeout > 0 {
			c.SetWriteDeadline(time.Now().Add(s.WriteTimeout))
		}
		if _, err := c.Write(buf); err != nil {
			return
		}
	}
}

// chargenRow is line i of the pattern: 72 characters of the 95 printable
// ones, starting one further along each line, and CRLF.
func chargenRow(i int) []byte {
	row := make([]byte, chargenLine+2)
	for j := range chargenLine {
		row[j] = byte(' ' + (i+j)%95)
	}
	row[chargenLine], row[chargenLine+1] = '\r', '\n'
	return row
}

// daytime is RFC 867's answer: the date and time as text, in the form
// inetd writes (ctime's), and CRLF.
func (s *Classic) daytime() []byte {
	return []byte(s.now().Format("Mon Jan _2 15:04:05 2006") + "\r\n")
}

// seconds is RFC 868's answer: seconds since 1900-01-01 00:00 UTC, in 32
// bits, big-endian.
func (s *Classic) seconds() []byte {
	const since1900 = 2208988800 // seconds from 1900 to 1970
	return binary.BigEndian.AppendUint32(nil, uint32(s.now().Unix()+since1900))
}

// ServeUDP answers datagrams on pc until ctx is done, then closes pc.
func (s *Classic) ServeUDP(ctx context.Context, pc *net.UDPConn) error {
	stop := context.AfterFunc(ctx, func() { pc.Close() })
	defer stop()
	g := newGuard(&UDP{}, pc.LocalAddr().(*net.UDPAddr).AddrPort(), &instanceSet{})
	log := s.Log.With().Str("component", string(s.Service)).Logger()
	buf := make([]byte, udpBufSize)
	start := time.Now()
	tokens, last := float64(udpRateLimit), time.Duration(0)
	for {
		n, _, _, src, err := pc.ReadMsgUDPAddrPort(buf, nil)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			if errors.Is(err, net.ErrClosed) {
				return err
			}
			continue
		}
		now := time.Since(start)
		tokens = min(udpRateLimit, tokens+(now-last).Seconds()*udpRateLimit)
		last = now
		v := g.check(src, buf[:n], now)
		switch {
		case s.Service == ServiceDiscard:
			continue
		case !src.Addr().IsLoopback():
			v = refuseRemote
		case v == answer && tokens < 1:
			v = refuseRate
		}
		if v != answer {
			s.refuse(v, src, &log)
			continue
		}
		tokens--
		reply := s.datagram()
		g.answered(src, reply)
		if _, err := pc.WriteToUDPAddrPort(reply, src); err == nil {
			s.answered.Add(1)
		}
	}
}

// datagram is the UDP answer of the service.
func (s *Classic) datagram() []byte {
	switch s.Service {
	case ServiceChargen:
		// RFC 864: a random number of characters, 0 to 512.
		n, row := rand.IntN(maxChargenDatagram+1), rand.IntN(95)
		var out []byte
		for len(out) < n {
			out = append(out, chargenRow(row)...)
			row++
		}
		return out[:n]
	case ServiceDaytime:
		return s.daytime()
	default:
		return s.seconds()
	}
}

// The classic services' own reasons not to answer, beside the guard's.
const (
	refuseRemote verdict = verdicts + iota
	refuseRate
)

func (s *Classic) refuse(v verdict, src netip.AddrPort, log *zerolog.Logger) {
	s.refused.Add(1)
	why := "over the rate limit"
	switch {
	case v == refuseRemote:
		why = "not a loopback source"
	case v < verdicts:
		why = reason[v]
	}
	if e := log.Warn(); e.Enabled() {
		if ok, suppressed := s.warned.allow(time.Now()); ok {
			withPeer(e, src).Str("reason", why).Uint64("suppressed", suppressed).Msg("datagram not answered")
		}
	}
}
