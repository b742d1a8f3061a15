package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"

	"github.com/loopback-dev/loopback/config"
	"github.com/loopback-dev/loopback/diag"
)

// The diagnostics read the running machine; diag.System's zero value is it.

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

// runWho is `loopback who PORT`; it exits 1 when nothing holds the port, so
// a script can ask "is anything on 7007?".
func runWho(args, environ []string, stdout, stderr io.Writer) error {
	c, err := loadWho(args, environ, stdout, stderr)
	if err != nil {
		return err
	}
	socks, err := diag.Who(c.Port, diag.System{})
	if err != nil {
		return err
	}
	if err := writeSockets(stdout, socks, c.JSON); err != nil {
		return err
	}
	if len(socks) == 0 {
		return fmt.Errorf("nothing is bound to port %d", c.Port)
	}
	return nil
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

func writeSockets(w io.Writer, socks []diag.Socket, asJSON bool) error {
	if asJSON {
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
