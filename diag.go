package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strconv"

	"github.com/loopback-dev/loopback/config"
	"github.com/loopback-dev/loopback/diag"
)

// The diagnostics read the running machine; diag.System's zero value is it.
// Each reads its own variables, LOOPBACK_EXPLAIN_JSON, LOOPBACK_WHO_JSON and
// LOOPBACK_PORTS_<KEY>: JSON wanted from who in a script is not
// necessarily wanted from explain at a prompt.

// explainConfig is what `loopback explain ADDR[:PORT]` reads.
type explainConfig struct {
	Target string // the positional argument
	JSON   bool   `env:"JSON" deprecated:"LOOPBACK_JSON" envDefault:"false" short:"j" help:"print one JSON object instead of text"`
}

const explainSynopsis = `usage: loopback explain [flags] ADDR[:PORT]

Explains what an address and port mean on this machine (loopback or not, the
port's class, its registered service) and who listens on it now.
ADDR may be an IP, [v6], a host name, or just a port: 127.0.0.1:62893, localhost:8080, :5432.`

// loadExplain reads the settings of `loopback explain` and its one argument.
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

// runExplain is `loopback explain ADDR[:PORT]`.
func runExplain(ctx context.Context, args, environ []string, stdout, stderr io.Writer) error {
	c, err := loadExplain(args, environ, stdout, stderr)
	if err != nil {
		return err
	}
	e, err := diag.Explain(ctx, c.Target, diag.System{})
	if err != nil {
		return config.Usagef("%v", err)
	}
	if c.JSON {
		return writeJSON(stdout, e)
	}
	return e.WriteText(stdout)
}

// whoConfig is what `loopback who PORT|PATH` reads.
type whoConfig struct {
	Port uint16 // the positional argument, or
	Path string // a Unix socket's path or @abstract name
	JSON bool   `env:"JSON" deprecated:"LOOPBACK_JSON" envDefault:"false" short:"j" help:"print a JSON array instead of the table"`
}

const whoSynopsis = `usage: loopback who [flags] PORT|PATH

Lists every TCP and UDP socket bound to PORT, then the connections whose remote
port is PORT (its clients), with state, side, owner and process, read from the
kernel like ss -tanp. SIDE is server when a connection's own port listens here,
client when the other end's does (or it is connected to PORT from a port nothing
listens on). Exit 1 when nothing is bound to PORT, even if clients are listed.

A PATH starting with /, ./ or @ (an abstract name) names a Unix socket instead:
who lists the listening stream and bound datagram sockets at it, with their
process, from /proc/net/unix, and exits 1 when there are none.`

// loadWho reads the settings of `loopback who` and the port to look up.
func loadWho(args, environ []string, stdout, stderr io.Writer) (whoConfig, error) {
	var c whoConfig
	l, err := config.Load("who", whoSynopsis, &c, args, environ, stdout, stderr)
	if err != nil {
		return c, err
	}
	if len(l.Args) != 1 {
		return c, config.Usagef("who takes one PORT or PATH (e.g. loopback who 7007), got %d arguments", len(l.Args))
	}
	if diag.IsSocketPath(l.Args[0]) {
		c.Path = l.Args[0]
		return c, nil
	}
	n, err := strconv.ParseUint(l.Args[0], 10, 16)
	if err != nil || n == 0 {
		return c, config.Usagef("who: %q is not a port: give a number from 1 to 65535", l.Args[0])
	}
	c.Port = uint16(n)
	return c, nil
}

// runWho is `loopback who PORT`; it exits 1 when nothing is bound to the
// port, so a script can ask "is anything on 7007?". Connections to 7007
// from other ports are shown but don't count: they don't hold it.
func runWho(args, environ []string, stdout, stderr io.Writer) error {
	c, err := loadWho(args, environ, stdout, stderr)
	if err != nil {
		return err
	}
	if c.Path != "" {
		return runWhoPath(c, stdout)
	}
	socks, err := diag.Who(c.Port, diag.System{})
	if err != nil {
		return err
	}
	if err := writeSockets(stdout, socks, c.JSON); err != nil {
		return err
	}
	if !slices.ContainsFunc(socks, func(s diag.Socket) bool { return s.Local.Port() == c.Port }) {
		return fmt.Errorf("nothing is bound to port %d", c.Port)
	}
	return nil
}

// runWhoPath is `loopback who PATH`, which exits 1 when no socket is bound
// at PATH, as who PORT does for a port.
func runWhoPath(c whoConfig, stdout io.Writer) error {
	socks, err := diag.WhoPath(c.Path, diag.System{})
	if err != nil {
		return err
	}
	if err := writeSockets(stdout, socks, c.JSON); err != nil {
		return err
	}
	if len(socks) == 0 {
		return fmt.Errorf("no Unix socket is bound at %s", c.Path)
	}
	return nil
}

// portsConfig is what `loopback ports` reads.
type portsConfig struct {
	All  bool `env:"ALL" deprecated:"LOOPBACK_ALL" envDefault:"false" help:"list listeners on every address, not only those that answer on loopback, and the connections in TIME_WAIT with the side that holds them"`
	JSON bool `env:"JSON" deprecated:"LOOPBACK_JSON" envDefault:"false" short:"j" help:"print a JSON array instead of the table"`
}

const portsSynopsis = `usage: loopback ports [flags]

Lists the listening TCP sockets and bound UDP sockets that answer on loopback
(127.0.0.0/8, ::1, and the wildcards 0.0.0.0 and ::), sorted by port, then the
listening Unix stream sockets and bound Unix datagram sockets, sorted by path.`

// loadPorts reads the settings of `loopback ports`, which takes no argument.
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

// runPorts is `loopback ports`.
func runPorts(args, environ []string, stdout, stderr io.Writer) error {
	c, err := loadPorts(args, environ, stdout, stderr)
	if err != nil {
		return err
	}
	socks, err := diag.Ports(c.All, diag.System{})
	if err != nil {
		return err
	}
	return writeSockets(stdout, socks, c.JSON)
}

// writeSockets prints socks as a table, or as a JSON array: [] when there
// are none, never null, so that a script can take the array apart without
// a case for nothing.
func writeSockets(w io.Writer, socks []diag.Socket, asJSON bool) error {
	if asJSON {
		if socks == nil {
			socks = []diag.Socket{}
		}
		return writeJSON(w, socks)
	}
	if len(socks) == 0 {
		return nil
	}
	return diag.WriteSockets(w, socks)
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return fmt.Errorf("write JSON: %w", err)
	}
	return nil
}
