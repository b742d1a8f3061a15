package probe

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"runtime"
	"strconv"
	"strings"
)

// Target is where to probe: a host and port over TCP or UDP, or the path
// of a Unix domain socket, stream ("unix") or datagram ("unixgram").
type Target struct {
	Network string // "tcp", "udp", "unix" or "unixgram"
	Host    string // IP literal or host name, as the user gave it; "" for Unix sockets
	Port    uint16
	// Path is a Unix socket's file, as the user gave it, or @name for a
	// name in Linux's abstract namespace; "" for TCP and UDP.
	Path string
}

// Stream reports whether t is a byte stream (TCP or a Unix stream socket)
// rather than datagrams.
func (t Target) Stream() bool { return t.Network == "tcp" || t.Network == "unix" }

// Unix reports whether t is a Unix domain socket.
func (t Target) Unix() bool { return t.Network == "unix" || t.Network == "unixgram" }

// Place is where t is, as messages name it: the host and port, or the
// socket's path.
func (t Target) Place() string {
	if t.Unix() {
		return t.Path
	}
	return net.JoinHostPort(t.Host, strconv.Itoa(int(t.Port)))
}

// acceptedForm is appended to errors about a missing part, so the user sees
// a complete example instead of guessing the syntax.
const acceptedForm = "(e.g. tcp://127.0.0.1:7)"

// ParseTarget parses "tcp://host:port", "udp://host:port" or a bare
// "host:port", which means TCP. An IPv6 address goes in brackets: [::1]:7.
// "unix://PATH" and "unixgram://PATH" name a Unix socket by everything
// after the scheme, as serve's ready lines print it: unix:///tmp/echo.sock
// for an absolute path, unix://@name for Linux's abstract namespace. The
// scheme is case-insensitive. Port 0 is refused because nothing can listen
// on it. Errors are one line that quotes the input, says what was wrong and
// what is accepted.
func ParseTarget(s string) (Target, error) {
	t, err := parseTarget(s)
	if err != nil {
		return Target{}, fmt.Errorf("target %q: %w", s, err)
	}
	return t, nil
}

func parseTarget(s string) (Target, error) {
	t := Target{Network: "tcp"}
	rest := s
	if scheme, after, ok := strings.Cut(s, "://"); ok {
		t.Network = strings.ToLower(scheme)
		switch t.Network {
		case "tcp", "udp":
		case "unix", "unixgram":
			return parsePath(t.Network, after)
		default:
			return Target{}, errors.New("scheme must be tcp://, udp://, unix:// or unixgram://")
		}
		rest = after
	} else if strings.HasPrefix(s, "/") || strings.HasPrefix(s, "@") {
		return Target{}, fmt.Errorf("a Unix socket needs its scheme: unix://%s or unixgram://%s", s, s)
	}
	host, port, err := splitHostPort(rest)
	if err != nil {
		return Target{}, err
	}
	if t.Port, err = parsePort(port); err != nil {
		return Target{}, err
	}
	if err := checkHost(host); err != nil {
		return Target{}, err
	}
	t.Host = host
	return t, nil
}

// parsePath takes the path of a Unix socket target.
func parsePath(network, path string) (Target, error) {
	switch {
	case path == "" || path == "@":
		return Target{}, fmt.Errorf("missing path (e.g. %s:///tmp/echo.sock)", network)
	case strings.HasPrefix(path, "@") && runtime.GOOS != "linux":
		return Target{}, fmt.Errorf("abstract socket names (@name) are Linux's, not %s's", runtime.GOOS)
	case strings.ContainsRune(path, 0):
		return Target{}, errors.New("a socket path cannot hold a NUL byte")
	}
	return Target{Network: network, Path: path}, nil
}

// splitHostPort wraps net.SplitHostPort to turn its terse errors into advice.
func splitHostPort(s string) (host, port string, err error) {
	if s == "" {
		return "", "", errors.New("missing host and port " + acceptedForm)
	}
	host, port, err = net.SplitHostPort(s)
	if err == nil {
		if host == "" {
			return "", "", errors.New("missing host " + acceptedForm)
		}
		return host, port, nil
	}
	if _, perr := netip.ParseAddr(s); perr == nil && strings.Contains(s, ":") {
		// A bare IPv6 address: its last group would be read as a port.
		return "", "", errors.New("IPv6 addresses need brackets and a port, e.g. udp://[::1]:7")
	}
	if strings.Count(s, ":") > 1 && !strings.HasPrefix(s, "[") {
		return "", "", errors.New("IPv6 addresses need brackets, e.g. tcp://[::1]:7")
	}
	if !strings.Contains(strings.TrimPrefix(s, "["), ":") || strings.HasSuffix(s, "]") {
		return "", "", errors.New("missing port " + acceptedForm)
	}
	return "", "", fmt.Errorf("cannot split host and port %s", acceptedForm)
}

func parsePort(s string) (uint16, error) {
	if s == "" {
		return 0, errors.New("missing port " + acceptedForm)
	}
	n, err := strconv.ParseUint(s, 10, 16)
	if err != nil {
		return 0, errors.New("port must be a number 1-65535")
	}
	if n == 0 {
		return 0, errors.New("port 0 cannot be probed: nothing listens on port 0")
	}
	return uint16(n), nil
}

// checkHost accepts IP literals (with an IPv6 zone) and syntactically
// plausible host names. It rejects early what DNS would only reject later,
// with a worse message.
func checkHost(h string) error {
	if _, err := netip.ParseAddr(h); err == nil {
		return nil
	}
	if len(h) > 253 {
		return errors.New("host name longer than 253 characters")
	}
	for _, c := range h {
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
			c == '.' || c == '-' || c == '_'
		if !ok {
			return fmt.Errorf("host %q is neither an IP address nor a host name", h)
		}
	}
	return nil
}

// String returns the target as a URL that ParseTarget accepts, such as
// "tcp://127.0.0.1:7", "udp://[::1]:7" or "unix:///tmp/echo.sock".
func (t Target) String() string {
	return t.Network + "://" + t.Place()
}

// check reports a Target that ParseTarget would not have produced, for
// callers that build one by hand.
func (t Target) check() error {
	switch t.Network {
	case "tcp", "udp":
	case "unix", "unixgram":
		if t.Path == "" {
			return errors.New("target has no socket path")
		}
		return nil
	default:
		return fmt.Errorf("target network %q: must be tcp, udp, unix or unixgram", t.Network)
	}
	if t.Host == "" {
		return errors.New("target has no host")
	}
	if t.Port == 0 {
		return errors.New("target port 0 cannot be probed: nothing listens on port 0")
	}
	return nil
}
