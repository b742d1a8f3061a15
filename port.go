package main

import (
	"strconv"

	"github.com/loopback-dev/loopback/config"
)

// applyPort makes --port (-p, LOOPBACK_SERVE_PORT) the port of c.Addr,
// on --addr's host. A port given twice from one place, both flags or both
// variables, is refused: which one was meant is anyone's guess. From two
// places the flag wins, as flags win over variables everywhere else.
func (c *serveConfig) applyPort(l config.Loaded) error {
	port, addr := l.Source("Port"), l.Source("Addr")
	addrHasPort := addr != config.Default && c.Addr.Port != 0
	switch {
	case port == config.Default:
		return nil
	case addrHasPort && (port == config.Flag) == (addr == config.Flag):
		return config.Usagef("%s and %s both give the port to listen on; give one of them",
			asGiven(l, "Port", strconv.Itoa(int(c.Port))), asGiven(l, "Addr", c.Addr.String()))
	case addrHasPort && addr == config.Flag:
		return nil // the --addr flag's port over the variable's
	}
	c.Addr.Port = uint16(c.Port)
	return nil
}

// asGiven is a setting as the user wrote it, for a message: -p 8080, or
// LOOPBACK_SERVE_PORT=8080.
func asGiven(l config.Loaded, field, value string) string {
	if l.Source(field) == config.Flag {
		return l.Name(field) + " " + value
	}
	return l.Name(field) + "=" + value
}

// addrFlagFor is the flag a stray argument to serve was probably meant
// for: a number is a port (serve 8080), anything else an address.
func addrFlagFor(arg string) string {
	if _, err := strconv.ParseUint(arg, 10, 16); err == nil {
		return "--port " + arg
	}
	return "--addr " + arg
}
