package probe

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
)

// Target is where to probe.
type Target struct {
	Network string // "tcp" or "udp"
	Host    string // IP literal or host name, as the user gave it
	Port    uint16
}

// acceptedForm is appended to errors about a missing part, so the user sees
// a complete example instead of guessing the syntax.
const acceptedForm = "(e.g. tcp://127.0.0.1:7)"

// ParseTarget parses "tcp://host:port", "udp://host:port" or a bare
// "host:port", which means TCP. An IPv6 address goes in brackets: [::1]:7.
// The scheme is case-insensitive. Port 0 is refused because nothing can
// listen on it. Errors are one line that quotes the input, says what was
// wrong and what is accepted.
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
		if t.Network != "tcp" && t.Network != "udp" {
			return Target{}, errors.New("scheme must be tcp:// or udp://")
		}
		rest = after
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
// "tcp://127.0.0.1:7" or "udp://[::1]:7".
func (t Target) String() string {
	return t.Network + "://" + net.JoinHostPort(t.Host, strconv.Itoa(int(t.Port)))
}

// check reports a Target that ParseTarget would not have produced, for
// callers that build one by hand.
func (t Target) check() error {
	if t.Network != "tcp" && t.Network != "udp" {
		return fmt.Errorf("target network %q: must be tcp or udp", t.Network)
	}
	if t.Host == "" {
		return errors.New("target has no host")
	}
	if t.Port == 0 {
		return errors.New("target port 0 cannot be probed: nothing listens on port 0")
	}
	return nil
}
