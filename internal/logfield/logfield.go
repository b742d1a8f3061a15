// Package logfield writes the program's JSON log fields in the one
// vocabulary every command's JSON uses: an address is an object with its
// ip and port (a Unix socket's, its path), a duration is a number with its
// unit in the key, and an absent value is null. Without it, zerolog would
// write addresses as "ip:port" strings and durations in a unit set by a
// package global.
package logfield

import (
	"net"
	"net/netip"
	"time"

	"github.com/rs/zerolog"
)

// AddrPort adds key as {"ip": ..., "port": ...}, or null when ap is not
// valid (a peer with no address, such as an unnamed Unix socket).
func AddrPort(e *zerolog.Event, key string, ap netip.AddrPort) *zerolog.Event {
	if !ap.IsValid() {
		return e.Interface(key, nil)
	}
	return e.Dict(key, zerolog.Dict().Str("ip", ap.Addr().Unmap().String()).Uint16("port", ap.Port()))
}

// Addr adds key for a socket's net.Addr: an IP endpoint as AddrPort does,
// a Unix socket as {"path": ...}, nil as null.
func Addr(e *zerolog.Event, key string, a net.Addr) *zerolog.Event {
	switch a := a.(type) {
	case *net.TCPAddr:
		return AddrPort(e, key, a.AddrPort())
	case *net.UDPAddr:
		return AddrPort(e, key, a.AddrPort())
	case *net.UnixAddr:
		return e.Dict(key, zerolog.Dict().Str("path", a.Name))
	}
	return e.Interface(key, nil)
}

// Millis adds key+"_ms" as a number of milliseconds.
func Millis(e *zerolog.Event, key string, d time.Duration) *zerolog.Event {
	return e.Float64(key+"_ms", float64(d)/float64(time.Millisecond))
}

// MillisOrNull adds key+"_ms" as Millis does, or null for 0, where 0 means
// "not set" (no limit, never).
func MillisOrNull(e *zerolog.Event, key string, d time.Duration) *zerolog.Event {
	if d == 0 {
		return e.Interface(key+"_ms", nil)
	}
	return Millis(e, key, d)
}

// AddrCtx is Addr for a logger's context, the fields every event of a
// component carries.
func AddrCtx(c zerolog.Context, key string, a net.Addr) zerolog.Context {
	switch a := a.(type) {
	case *net.TCPAddr:
		return c.Dict(key, zerolog.Dict().Str("ip", a.AddrPort().Addr().Unmap().String()).Uint16("port", a.AddrPort().Port()))
	case *net.UDPAddr:
		return c.Dict(key, zerolog.Dict().Str("ip", a.AddrPort().Addr().Unmap().String()).Uint16("port", a.AddrPort().Port()))
	case *net.UnixAddr:
		return c.Dict(key, zerolog.Dict().Str("path", a.Name))
	}
	return c.Interface(key, nil)
}

// HostPort adds key for an address as the user gave it: {"ip", "port"}
// for an IP literal, {"host", "port"} for a name.
func HostPort(e *zerolog.Event, key, host string, port uint16) *zerolog.Event {
	if ip, err := netip.ParseAddr(host); err == nil {
		return AddrPort(e, key, netip.AddrPortFrom(ip, port))
	}
	return e.Dict(key, zerolog.Dict().Str("host", host).Uint16("port", port))
}

// Path adds key as {"path": ...}, or null for "".
func Path(e *zerolog.Event, key, path string) *zerolog.Event {
	if path == "" {
		return e.Interface(key, nil)
	}
	return e.Dict(key, zerolog.Dict().Str("path", path))
}
