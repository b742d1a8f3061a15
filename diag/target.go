package diag

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
)

// target is a parsed explain argument. Exactly one of addr and host is set,
// or neither for a bare port.
type target struct {
	addr     netip.Addr
	host     string
	hasPort  bool
	port     uint16
	portName string // a service name to look up, such as "http"
}

// parseTarget parses an explain argument without touching the network or
// the file system. Literal addresses win over host names, so "::1" is an
// address and never "host : port 1".
func parseTarget(s string) (target, error) {
	s = strings.TrimSpace(s)
	switch {
	case s == "":
		return target{}, errors.New("nothing to explain: give an address, port or host name")
	case len(s) > 512:
		return target{}, errors.New("argument too long to be an address, port or host name")
	}
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return target{addr: ap.Addr(), hasPort: true, port: ap.Port()}, checkZone(ap.Addr())
	}
	if a, err := netip.ParseAddr(unbracket(s)); err == nil {
		return target{addr: a}, checkZone(a)
	}
	if strings.Contains(s, "://") {
		return target{}, fmt.Errorf("%q is a URL: give only the host and port, such as localhost:8080", s)
	}
	if isDigits(s) {
		// A bare number is a port: nobody means the host "8080".
		return withPort(target{}, s)
	}
	host, port, err := net.SplitHostPort(s)
	if err != nil {
		// No port: the whole argument must be a host name.
		return hostPart(s, s)
	}
	t, err := hostPart(host, s)
	if err != nil {
		return target{}, err
	}
	return withPort(t, port)
}

// hostPart parses the part before the port: empty, an address, or a name.
func hostPart(host, input string) (target, error) {
	if host == "" {
		return target{}, nil
	}
	if a, err := netip.ParseAddr(host); err == nil {
		return target{addr: a}, checkZone(a)
	}
	if !isHostName(host) {
		return target{}, fmt.Errorf("%q is not an address, port or host name", input)
	}
	return target{host: host}, nil
}

// withPort adds the port part, a number or a service name.
func withPort(t target, port string) (target, error) {
	t.hasPort = true
	if port == "" {
		return target{}, errors.New("missing port after ':'")
	}
	if isDigits(port) {
		n, err := strconv.ParseUint(port, 10, 16)
		if err != nil {
			return target{}, fmt.Errorf("port %s is out of range: ports go from 0 to 65535", port)
		}
		t.port = uint16(n)
		return t, nil
	}
	if !isServiceName(port) || !isLetter(port[0]) {
		return target{}, fmt.Errorf("%q is not a port number or service name", port)
	}
	t.portName = port
	return t, nil
}

// portNumber returns the port, looking a service name up in an
// /etc/services file.
func (t target) portNumber(services []byte) (uint16, error) {
	if t.portName == "" {
		return t.port, nil
	}
	p, ok := servicePort(services, t.portName)
	if !ok {
		return 0, fmt.Errorf("no service %q in /%s", t.portName, pathServices)
	}
	return p, nil
}

// String formats t so that parseTarget reads it back unchanged.
func (t target) String() string {
	port := t.portName
	if port == "" {
		port = strconv.Itoa(int(t.port))
	}
	switch {
	case t.addr.IsValid() && t.hasPort && t.portName == "":
		return netip.AddrPortFrom(t.addr, t.port).String()
	case t.addr.IsValid() && t.hasPort:
		return net.JoinHostPort(t.addr.String(), port)
	case t.addr.IsValid():
		return t.addr.String()
	case t.hasPort:
		return net.JoinHostPort(t.host, port)
	}
	return t.host
}

// checkZone accepts the zones an interface can be named by: netip takes
// any bytes after the '%', but an interface name is printable and has no
// spaces, and refusing the rest keeps output and round trips sane.
func checkZone(a netip.Addr) error {
	for _, c := range []byte(a.Zone()) {
		if c <= ' ' || c >= 0x7f || strings.IndexByte("%/[]", c) >= 0 {
			return fmt.Errorf("%q is not an interface name", a.Zone())
		}
	}
	return nil
}

// unbracket strips the brackets of "[::1]".
func unbracket(s string) string {
	if strings.HasPrefix(s, "[") && strings.HasSuffix(s, "]") {
		return s[1 : len(s)-1]
	}
	return s
}

func isLetter(c byte) bool { return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' }

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range []byte(s) {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// isHostName accepts DNS-style names: dot-separated labels of letters,
// digits, '-' and '_', with an optional final dot. It rejects anything
// else so that a typo gets a clear error instead of a DNS query.
func isHostName(s string) bool {
	s = strings.TrimSuffix(s, ".")
	if s == "" || len(s) > 253 {
		return false
	}
	for label := range strings.SplitSeq(s, ".") {
		if label == "" || len(label) > 63 || !isServiceName(label) {
			return false
		}
	}
	return true
}

// isServiceName accepts the characters used in /etc/services names and in
// host name labels.
func isServiceName(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range []byte(s) {
		if !isLetter(c) && (c < '0' || c > '9') && c != '-' && c != '_' {
			return false
		}
	}
	return true
}
