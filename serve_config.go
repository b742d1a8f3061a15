package main

import (
	"errors"
	"io"
	"time"

	"github.com/loopback-dev/loopback/config"
)

// serveConfig is what `loopback serve` reads, each setting from its flag or
// LOOPBACK_SERVE_<KEY>. A new setting is a field here and its use in
// serve.go, which also puts it in the listening event.
type serveConfig struct {
	Addr         config.HostPort `env:"ADDR" deprecated:"LOOPBACK_ADDR" envDefault:"127.0.0.1:0" arg:"host:port" help:"address to listen on, host:port; port 0 lets the kernel pick one"`
	Proto        proto           `env:"PROTO" deprecated:"LOOPBACK_PROTO" envDefault:"both" arg:"tcp|udp|both" help:"what to serve: tcp, udp or both (one port number for both)"`
	AllowRemote  bool            `env:"ALLOW_REMOTE" deprecated:"LOOPBACK_ALLOW_REMOTE" envDefault:"false" help:"allow an address outside 127.0.0.0/8 and ::1 (exposes the echo to the network)"`
	PortFile     string          `env:"PORT_FILE" deprecated:"LOOPBACK_PORT_FILE" arg:"path" help:"once listening, write the port number to this file (atomically)"`
	MaxConns     int             `env:"MAX_CONNS" deprecated:"LOOPBACK_MAX_CONNS" envDefault:"0" help:"close TCP connections beyond this many at once (0: no limit)"`
	IdleTimeout  time.Duration   `env:"IDLE_TIMEOUT" deprecated:"LOOPBACK_IDLE_TIMEOUT" envDefault:"5m" help:"close a TCP connection with no traffic for this long (0: never)"`
	Duration     time.Duration   `env:"DURATION" deprecated:"LOOPBACK_DURATION" envDefault:"0" help:"stop by itself after this long (0: run until a signal)"`
	DrainTimeout time.Duration   `env:"DRAIN_TIMEOUT" deprecated:"LOOPBACK_DRAIN_TIMEOUT" envDefault:"5s" help:"on stop, give open connections this long to finish"`
	Loops        int             `env:"LOOPS" deprecated:"LOOPBACK_LOOPS" envDefault:"0" help:"event loops serving TCP connections, 1 to 256 (0: one per two CPUs)"`
	Log          config.Log
}

const serveSynopsis = `usage: loopback serve [flags]

TCP and UDP echo (RFC 862) on one port number of 127.0.0.1 until a signal or --duration.
Prints one line per listener on stdout (tcp://127.0.0.1:PORT, udp://127.0.0.1:PORT) once bound.`

// maxLoops bounds --loops: each loop holds a 64 KiB buffer and a thread
// when busy, and more loops than CPUs only take turns.
const maxLoops = 256

// loadServe reads the settings of `loopback serve` and refuses the ones no
// server could use, every one at once.
func loadServe(args, environ []string, stdout, stderr io.Writer) (serveConfig, error) {
	var c serveConfig
	l, err := config.Load("serve", serveSynopsis, &c, args, environ, stdout, stderr)
	if err != nil {
		return c, err
	}
	var problems []error
	if len(l.Args) > 0 {
		problems = append(problems, config.Usagef("serve takes no arguments, got %q (did you mean --addr %s?)", l.Args[0], l.Args[0]))
	}
	if c.Loops > maxLoops {
		problems = append(problems, config.Usagef("%s: %d event loops; give 1 to %d, or 0 for one per two CPUs", l.Name("Loops"), c.Loops, maxLoops))
	}
	return c, errors.Join(problems...)
}

// proto says which echo servers to run.
type proto string

// The protocols serve accepts.
const (
	protoTCP  proto = "tcp"
	protoUDP  proto = "udp"
	protoBoth proto = "both"
)

// UnmarshalText accepts tcp, udp or both.
func (p *proto) UnmarshalText(b []byte) (err error) {
	*p, err = config.OneOf(b, "a protocol", protoTCP, protoUDP, protoBoth)
	return err
}

// has reports whether p includes the given single protocol.
func (p proto) has(one proto) bool { return p == protoBoth || p == one }
