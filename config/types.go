package config

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"net"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/rs/zerolog"
)

// Each setting has one type, and each type one parser, used for the
// environment and for flags alike, so a bad value gets the same explanation
// from either source. The parsers' errors say what is accepted; the caller
// prefixes the name of the flag or variable.

// HostPort is an address to listen on. Host may be an IP literal or a name;
// names are resolved, and checked against the loopback policy, by the server.
type HostPort struct {
	Host string
	Port uint16
}

// LoopbackHost is the host of an address given as a port alone (:8080).
// Other programs read :8080 as every interface; this one listens on
// loopback unless told otherwise, so an empty host cannot widen it.
const LoopbackHost = "127.0.0.1"

// String gives host:port, with brackets around an IPv6 literal.
func (h HostPort) String() string {
	return net.JoinHostPort(h.Host, strconv.Itoa(int(h.Port)))
}

// UnmarshalText parses host:port with a port from 0 to 65535; :port is
// LoopbackHost's.
func (h *HostPort) UnmarshalText(b []byte) error {
	s := string(b)
	host, port, err := net.SplitHostPort(s)
	if _, nerr := strconv.ParseUint(s, 10, 16); err != nil && nerr == nil {
		return fmt.Errorf("%q is a port alone; give :%s for port %s on %s", s, s, s, LoopbackHost)
	}
	if err != nil {
		return fmt.Errorf("%q is not host:port (e.g. 127.0.0.1:0, :8080 or [::1]:7007)", s)
	}
	host = cmp.Or(host, LoopbackHost)
	n, err := strconv.ParseUint(port, 10, 16)
	if err != nil {
		return fmt.Errorf("%q: port %q is not a number from 0 to 65535", s, port)
	}
	*h = HostPort{Host: host, Port: uint16(n)}
	return nil
}

// Port is a port number from 0 to 65535.
type Port uint16

// UnmarshalText parses a port number.
func (p *Port) UnmarshalText(b []byte) error {
	n, err := strconv.ParseUint(string(b), 10, 16)
	if err != nil {
		return fmt.Errorf("%q is not a port: give a number from 0 to 65535", b)
	}
	*p = Port(n)
	return nil
}

// LogFormat is how log events are written.
type LogFormat string

// The log formats.
const (
	FormatAuto    LogFormat = "auto"
	FormatConsole LogFormat = "console"
	FormatJSON    LogFormat = "json"
)

// UnmarshalText accepts auto, console or json.
func (f *LogFormat) UnmarshalText(b []byte) (err error) {
	*f, err = OneOf(b, "a log format", FormatAuto, FormatConsole, FormatJSON)
	return err
}

// Values lists the log formats, for completion.
func (LogFormat) Values() []string {
	return []string{string(FormatAuto), string(FormatConsole), string(FormatJSON)}
}

// OneOf returns the allowed value that b names, ignoring case, or an error
// that lists them all, for a setting that is one of a few words:
//
//	func (p *Proto) UnmarshalText(b []byte) (err error) {
//		*p, err = config.OneOf(b, "a protocol", TCP, UDP, Both)
//		return err
//	}
func OneOf[T ~string](b []byte, what string, allowed ...T) (T, error) {
	for _, v := range allowed {
		if strings.EqualFold(string(b), string(v)) {
			return v, nil
		}
	}
	names := make([]string, len(allowed))
	for i, v := range allowed {
		names[i] = string(v)
	}
	last := len(names) - 1
	return "", fmt.Errorf("%q is not %s (%s or %s)", b, what, strings.Join(names[:last], ", "), names[last])
}

// Level is a zerolog level whose parser says which names it accepts
// (zerolog's own error does not) and refuses the ones that make no sense
// for a command-line tool (fatal, panic, disabled).
type Level struct{ zerolog.Level }

// UnmarshalText accepts trace, debug, info, warn or error.
func (l *Level) UnmarshalText(b []byte) error {
	v, err := zerolog.ParseLevel(strings.ToLower(string(b)))
	if err != nil || v < zerolog.TraceLevel || v > zerolog.ErrorLevel || len(b) == 0 {
		return fmt.Errorf("%q is not a log level (trace, debug, info, warn or error)", b)
	}
	l.Level = v
	return nil
}

// String gives the level's name, for the help text and the start event.
func (l Level) String() string { return l.Level.String() }

// Values lists the levels UnmarshalText accepts, for completion.
func (Level) Values() []string { return []string{"trace", "debug", "info", "warn", "error"} }

var errNegative = errors.New("must not be negative")

// parsers handles the standard types that have no UnmarshalText; env uses it
// as its FuncMap and the flags call it directly.
var parsers = map[reflect.Type]func(string) (any, error){
	reflect.TypeFor[time.Duration](): parseDuration,
	reflect.TypeFor[int]():           parseCount,
	reflect.TypeFor[float64]():       parseRate,
	reflect.TypeFor[bool]():          parseBool,
	reflect.TypeFor[string]():        func(s string) (any, error) { return s, nil },
}

func parseDuration(s string) (any, error) {
	if s == "0" {
		return time.Duration(0), nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return nil, fmt.Errorf("%q is not a duration (e.g. 30s, 250ms, 1m30s)", s)
	}
	if d < 0 {
		return nil, fmt.Errorf("%q %w", s, errNegative)
	}
	return d, nil
}

func parseCount(s string) (any, error) {
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 {
		return nil, fmt.Errorf("%q is not a whole number of 0 or more", s)
	}
	return n, nil
}

func parseRate(s string) (any, error) {
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || f < 0 || math.IsInf(f, 0) || math.IsNaN(f) {
		return nil, fmt.Errorf("%q is not a number of 0 or more (e.g. 1000 or 2.5)", s)
	}
	return f, nil
}

func parseBool(s string) (any, error) {
	b, err := strconv.ParseBool(s)
	if err != nil {
		return nil, fmt.Errorf("%q is not true or false", s)
	}
	return b, nil
}

// WritableFile checks, before anything starts, that a file can be created
// at path: its directory exists and this process may write there. An
// output file that fails only after a whole run, or after the ports are
// bound, loses the run.
func WritableFile(path string) error {
	dir := filepath.Dir(path)
	st, err := os.Stat(dir)
	if err != nil {
		return fmt.Errorf("%q: directory %s does not exist", path, dir)
	}
	if !st.IsDir() {
		return fmt.Errorf("%q: %s is not a directory", path, dir)
	}
	f, err := os.CreateTemp(dir, ".loopback-check-*")
	if err != nil {
		return fmt.Errorf("%q: cannot write in %s: %w", path, dir, errors.Unwrap(err))
	}
	f.Close()
	os.Remove(f.Name())
	return nil
}
