package loopbacktest

import (
	"time"

	"github.com/loopback-dev/loopback/server"
)

// Option sets up a server: its faults, the same as serve's flags, and a
// few limits.
type Option func(*settings)

type settings struct {
	faults   *server.Faults
	engine   server.Engine
	idle     time.Duration
	maxConns int
}

// Delay holds each echo (a TCP read's worth, a datagram) for d.
func Delay(d time.Duration) Option { return func(s *settings) { s.faults.Delay = d } }

// Jitter adds up to plus or minus d to each Delay; TCP keeps byte order.
func Jitter(d time.Duration) Option { return func(s *settings) { s.faults.Jitter = d } }

// Loss leaves a share p of datagrams unanswered (UDP).
func Loss(p float64) Option { return func(s *settings) { s.faults.Loss = p } }

// Duplicate answers a share p of datagrams twice (UDP).
func Duplicate(p float64) Option { return func(s *settings) { s.faults.Duplicate = p } }

// Reorder answers a share p of datagrams after the next one (UDP).
func Reorder(p float64) Option { return func(s *settings) { s.faults.Reorder = p } }

// Bandwidth paces each connection's echo to bytesPerSecond (TCP).
func Bandwidth(bytesPerSecond float64) Option {
	return func(s *settings) { s.faults.Bandwidth = bytesPerSecond }
}

// ResetAfter resets each connection (RST) once n bytes have been echoed.
func ResetAfter(n int64) Option { return func(s *settings) { s.faults.ResetAfter = n } }

// CloseAfter closes each connection (FIN) once n bytes have been echoed.
func CloseAfter(n int64) Option { return func(s *settings) { s.faults.CloseAfter = n } }

// StallAfter stops reading each connection after n bytes, so the client's
// writes block once the buffers fill.
func StallAfter(n int64) Option { return func(s *settings) { s.faults.StallAfter = n } }

// Refuse accepts each connection and closes it at once.
func Refuse() Option { return func(s *settings) { s.faults.Refuse = true } }

// NoReply reads everything and answers nothing.
func NoReply() Option { return func(s *settings) { s.faults.NoReply = true } }

// Faulty gives the faults to a share p of connections (UDP sources) only;
// the rest get a clean echo.
func Faulty(p float64) Option { return func(s *settings) { s.faults.Faulty = p } }

// Seed makes the faults' random choices repeat from run to run.
func Seed(n uint64) Option { return func(s *settings) { s.faults.Seed = n } }

// IdleTimeout closes a connection with no traffic for d (TCP and Unix).
func IdleTimeout(d time.Duration) Option { return func(s *settings) { s.idle = d } }

// MaxConns closes connections beyond n open at once.
func MaxConns(n int) Option { return func(s *settings) { s.maxConns = n } }

// Engine chooses the server's engine; the default is the fastest the
// system has.
func Engine(e server.Engine) Option { return func(s *settings) { s.engine = e } }
