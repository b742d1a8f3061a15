package main

import (
	"io"
	"strconv"

	"github.com/loopback-dev/loopback/config"
)

// The diagnostics each read their own variables, LOOPBACK_EXPLAIN_JSON,
// LOOPBACK_WHO_JSON and LOOPBACK_PORTS_<KEY>: JSON for a script that runs
// who is not necessarily wanted from explain.

// explainConfig is what `loopback explain ADDR[:PORT]` reads.
type explainConfig struct {
	Target string // the positional argument
	JSON   bool   `env:"JSON" deprecated:"LOOPBACK_JSON" envDefault:"false" help:"print one JSON object instead of text"`
}

const explainSynopsis = `usage: loopback explain [flags] ADDR[:PORT]

Explains what an address and port mean on this machine (loopback or not, the
port's class, its registered service) and who listens on it now.
ADDR may be an IP, [v6], a host name, or just a port: 127.0.0.1:62893, localhost:8080, :5432.`

func loadExplain(args, environ []string, stdout, stderr io.Writer) (explainConfig, error) {
	var c explainConfig
	l, err := config.Load("explain", explainSynopsis, &c, args, environ, stdout, stderr)
	if err != nil {
		return c, err
	}
	if len(l.Args) != 1 {
		return c, config.Usagef("explain takes one ADDR[:PORT] (e.g. 127.0.0.1:62893), got %d arguments", len(l.Args))
	}
	c.Target = l.Args[0]
	return c, nil
}

// whoConfig is what `loopback who PORT` reads.
type whoConfig struct {
	Port uint16 // the positional argument
	JSON bool   `env:"JSON" deprecated:"LOOPBACK_JSON" envDefault:"false" help:"print a JSON array instead of the table"`
}

const whoSynopsis = `usage: loopback who [flags] PORT

Lists every TCP and UDP socket bound to PORT, with its state, owner and process,
read from /proc like ss -tulpn. Exit 1 when nothing is bound to it.`

func loadWho(args, environ []string, stdout, stderr io.Writer) (whoConfig, error) {
	var c whoConfig
	l, err := config.Load("who", whoSynopsis, &c, args, environ, stdout, stderr)
	if err != nil {
		return c, err
	}
	if len(l.Args) != 1 {
		return c, config.Usagef("who takes one PORT (e.g. loopback who 7007), got %d arguments", len(l.Args))
	}
	n, err := strconv.ParseUint(l.Args[0], 10, 16)
	if err != nil || n == 0 {
		return c, config.Usagef("who: %q is not a port: give a number from 1 to 65535", l.Args[0])
	}
	c.Port = uint16(n)
	return c, nil
}

// portsConfig is what `loopback ports` reads.
type portsConfig struct {
	All  bool `env:"ALL" deprecated:"LOOPBACK_ALL" envDefault:"false" help:"list sockets on every address, not only those that answer on loopback"`
	JSON bool `env:"JSON" deprecated:"LOOPBACK_JSON" envDefault:"false" help:"print a JSON array instead of the table"`
}

const portsSynopsis = `usage: loopback ports [flags]

Lists the listening TCP sockets and bound UDP sockets that answer on loopback
(127.0.0.0/8, ::1, and the wildcards 0.0.0.0 and ::), sorted by port.`

func loadPorts(args, environ []string, stdout, stderr io.Writer) (portsConfig, error) {
	var c portsConfig
	l, err := config.Load("ports", portsSynopsis, &c, args, environ, stdout, stderr)
	if err != nil {
		return c, err
	}
	if len(l.Args) > 0 {
		return c, config.Usagef("ports takes no arguments, got %q (for one port: loopback who %s)", l.Args[0], l.Args[0])
	}
	return c, nil
}
