package config

import (
	"io"
	"strconv"
)

const explainSynopsis = `usage: loopback explain [flags] ADDR[:PORT]

Explains what an address and port mean on this machine (loopback or not, the
port's class, its registered service) and who listens on it now.
ADDR may be an IP, [v6], a host name, or just a port: 127.0.0.1:62893, localhost:8080, :5432.`

const whoSynopsis = `usage: loopback who [flags] PORT

Lists every TCP and UDP socket bound to PORT, with its state, owner and process,
read from /proc like ss -tulpn. Exit 1 when nothing is bound to it.`

const portsSynopsis = `usage: loopback ports [flags]

Lists the listening TCP sockets and bound UDP sockets that answer on loopback
(127.0.0.0/8, ::1, and the wildcards 0.0.0.0 and ::), sorted by port.`

// LoadExplain reads the settings of `loopback explain`.
func LoadExplain(args, environ []string, help io.Writer) (Explain, error) {
	var c Explain
	pos, _, err := load("explain", explainSynopsis, &c, args, environ, help)
	if err != nil {
		return c, err
	}
	if len(pos) != 1 {
		return c, usagef("explain takes one ADDR[:PORT] (e.g. 127.0.0.1:62893), got %d arguments", len(pos))
	}
	c.Target = pos[0]
	return c, nil
}

// LoadWho reads the settings of `loopback who`.
func LoadWho(args, environ []string, help io.Writer) (Who, error) {
	var c Who
	pos, _, err := load("who", whoSynopsis, &c, args, environ, help)
	if err != nil {
		return c, err
	}
	if len(pos) != 1 {
		return c, usagef("who takes one PORT (e.g. loopback who 7007), got %d arguments", len(pos))
	}
	n, err := strconv.ParseUint(pos[0], 10, 16)
	if err != nil || n == 0 {
		return c, usagef("who: %q is not a port: give a number from 1 to 65535", pos[0])
	}
	c.Port = uint16(n)
	return c, nil
}

// LoadPorts reads the settings of `loopback ports`.
func LoadPorts(args, environ []string, help io.Writer) (Ports, error) {
	var c Ports
	pos, _, err := load("ports", portsSynopsis, &c, args, environ, help)
	if err != nil {
		return c, err
	}
	if len(pos) > 0 {
		return c, usagef("ports takes no arguments, got %q (for one port: loopback who %s)", pos[0], pos[0])
	}
	return c, nil
}
