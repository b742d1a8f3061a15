package main

import (
	"time"

	"github.com/rs/zerolog"

	"github.com/loopback-dev/loopback/config"
	"github.com/loopback-dev/loopback/internal/logfield"
	"github.com/loopback-dev/loopback/server"
)

// faultConfig is serve's faults on purpose, for testing clients: each a
// flag and a LOOPBACK_SERVE_ variable, carried out by server.Faults.
type faultConfig struct {
	Delay      time.Duration    `env:"DELAY" envDefault:"0" help:"fault: hold each echo (a TCP read's worth, a datagram) this long"`
	Jitter     time.Duration    `env:"JITTER" envDefault:"0" help:"fault: add up to plus or minus this to each --delay (TCP keeps byte order)"`
	Loss       config.Share     `env:"LOSS" envDefault:"0" arg:"share" help:"fault (UDP): share of datagrams not answered, 0 to 1 or a percentage"`
	Duplicate  config.Share     `env:"DUPLICATE" envDefault:"0" arg:"share" help:"fault (UDP): share of datagrams answered twice"`
	Reorder    config.Share     `env:"REORDER" envDefault:"0" arg:"share" help:"fault (UDP): share of datagrams answered after the next one"`
	Bandwidth  config.Bandwidth `env:"BANDWIDTH" envDefault:"0" arg:"rate" help:"fault (TCP): pace each connection's echo to this rate, e.g. 1MB/s or 10Mbit/s (0: no limit)"`
	ResetAfter config.Bytes     `env:"RESET_AFTER" envDefault:"0" arg:"bytes" help:"fault (TCP): reset the connection (RST) after echoing this many bytes (0: never)"`
	CloseAfter config.Bytes     `env:"CLOSE_AFTER" envDefault:"0" arg:"bytes" help:"fault (TCP): close the connection (FIN) after echoing this many bytes (0: never)"`
	StallAfter config.Bytes     `env:"STALL_AFTER" envDefault:"0" arg:"bytes" help:"fault (TCP): stop reading after this many bytes, so the client's writes block (0: never)"`
	Refuse     bool             `env:"REFUSE" envDefault:"false" help:"fault (TCP): accept each connection, then close it at once"`
	NoReply    bool             `env:"NO_REPLY" envDefault:"false" help:"fault: read everything, answer nothing"`
	Faulty     config.Share     `env:"FAULTY" envDefault:"1" arg:"share" help:"share of connections (UDP sources) that get the faults; the rest get a clean echo"`
	Seed       config.Seed      `env:"SEED" envDefault:"0" arg:"n" help:"seed of the faults' random choices, for a sequence that repeats (0: a new one each run)"`
}

// faults is the server's form of the settings; nil when none is asked for,
// so a clean server runs with no fault code on its path.
func (c faultConfig) faults() *server.Faults {
	f := &server.Faults{
		Delay: c.Delay, Jitter: c.Jitter,
		Loss: float64(c.Loss), Duplicate: float64(c.Duplicate), Reorder: float64(c.Reorder),
		Bandwidth:  float64(c.Bandwidth),
		ResetAfter: int64(c.ResetAfter), CloseAfter: int64(c.CloseAfter), StallAfter: int64(c.StallAfter),
		Refuse: c.Refuse, NoReply: c.NoReply, Faulty: float64(c.Faulty), Seed: uint64(c.Seed),
	}
	if f.Faulty == 1 {
		f.Faulty = 0 // the server's "all of them"
	}
	if !f.Active() {
		return nil
	}
	return f
}

// logFaults adds the fault settings to the listening event.
func logFaults(e *zerolog.Event, c faultConfig) *zerolog.Event {
	e = logfield.MillisOrNull(e, "delay", c.Delay)
	e = logfield.MillisOrNull(e, "jitter", c.Jitter)
	return e.Float64("loss", float64(c.Loss)).Float64("duplicate", float64(c.Duplicate)).Float64("reorder", float64(c.Reorder)).
		Float64("bandwidth_bytes_per_s", float64(c.Bandwidth)).Int64("reset_after", int64(c.ResetAfter)).
		Int64("close_after", int64(c.CloseAfter)).Int64("stall_after", int64(c.StallAfter)).
		Bool("refuse", c.Refuse).Bool("no_reply", c.NoReply).Float64("faulty", float64(c.Faulty)).
		Uint64("seed", uint64(c.Seed))
}

// logFaultCounts adds what the faults did to the stop summary.
func logFaultCounts(e *zerolog.Event, t server.TCPStats, u server.UDPStats) *zerolog.Event {
	return e.Uint64("tcp_faulty", t.Faulty).Uint64("tcp_refused_fault", t.Refused).
		Uint64("tcp_delayed", t.Delayed).Uint64("tcp_reset", t.Reset).
		Uint64("tcp_closed_early", t.ClosedEarly).Uint64("tcp_stalled", t.Stalled).
		Uint64("udp_lost", u.Lost).Uint64("udp_duplicated", u.Duplicated).
		Uint64("udp_reordered", u.Reordered).Uint64("udp_delayed", u.Delayed)
}
