package diag

import (
	"errors"
	"fmt"
	"io/fs"
	"strings"
)

// What serve says when it can't bind: who holds the port, or why a low
// port was refused.

// Holder describes who holds port for network ("tcp", "tcp4", "udp6", ...)
// in one line for serve's EADDRINUSE error, such as "held by pid 1234
// (socat) as tcp 127.0.0.1:7007". It returns "" when it can't tell.
func Holder(network string, port uint16, sys System) string {
	socks, err := Who(port, sys)
	if err != nil {
		return ""
	}
	family := strings.TrimRight(network, "46")
	var held []string
	for _, listeners := range []bool{true, false} {
		for _, s := range socks {
			// Prefer listeners; other sockets on the port (a client bound
			// to it, say) explain the error only when there is none.
			if strings.HasPrefix(s.Proto, family) && s.Listening() == listeners && s.Inode != 0 &&
				s.Local.Port() == port {
				held = append(held, holderPhrase(s))
			}
		}
		if len(held) > 0 {
			break
		}
	}
	if len(held) == 0 {
		return ""
	}
	if len(held) > 3 {
		held = append(held[:3], fmt.Sprintf("%d more", len(held)-3))
	}
	return "held by " + strings.Join(held, " and ")
}

// holderPhrase is "pid 1234 (socat) as tcp 127.0.0.1:7007".
func holderPhrase(s Socket) string {
	as := fmt.Sprintf("as %s %s", s.Proto, s.Local)
	if s.PID == 0 {
		return fmt.Sprintf("%s %s (pid not visible)", uidText(s), as)
	}
	return fmt.Sprintf("pid %d (%s) %s", s.PID, s.Process, as)
}

// uidText is "uid 1000 (alice)", or "uid 1000" without a name.
func uidText(s Socket) string {
	if s.User == "" {
		return fmt.Sprintf("uid %d", s.UID)
	}
	return fmt.Sprintf("uid %d (%s)", s.UID, s.User)
}

// BindHint turns a failed listen on port into advice for the user, or ""
// when it has none. network is what was passed to Listen ("tcp", "udp4",
// ...). Two failures get hints:
//
//   - EADDRINUSE: who holds the port, from Holder, such as "port 7007 is
//     already in use, held by pid 1234 (socat) as tcp 127.0.0.1:7007; stop
//     it or pick another port (0 lets the kernel choose)".
//   - EACCES below net.ipv4.ip_unprivileged_port_start: why, and which
//     ports work instead.
//
// The hint complements err, which already names the address: print both.
func BindHint(err error, network string, port uint16, sys System) string {
	switch {
	case err == nil:
		return ""
	case isAddrInUse(err):
		return inUseHint(network, port, sys)
	case errors.Is(err, fs.ErrPermission):
		return permissionHint(port, sys)
	}
	return ""
}

func inUseHint(network string, port uint16, sys System) string {
	if h := Holder(network, port, sys); h != "" {
		return fmt.Sprintf("port %d is already in use, %s; stop it or pick another port "+
			"(0 lets the kernel choose)", port, h)
	}
	if _, err := Who(port, sys); err != nil {
		if u, ok := errors.AsType[*unsupportedError](err); ok {
			return fmt.Sprintf("port %d is already in use; run `%s` to see by whom", port, u.native)
		}
	}
	// The holder may have exited since the bind failed.
	return fmt.Sprintf("port %d is already in use, but nothing holds it now; "+
		"try again, or pick another port (0 lets the kernel choose)", port)
}

func permissionHint(port uint16, sys System) string {
	start, known := unprivilegedStart(sys)
	switch {
	case !known && port < 1024:
		return fmt.Sprintf("ports below 1024 usually need root; pick a port >= 1024, "+
			"or 0 to let the kernel choose (port %d was refused)", port)
	case !known:
		return ""
	case int(port) < start:
		return fmt.Sprintf("ports below %d need root or CAP_NET_BIND_SERVICE on this machine "+
			"(net.ipv4.ip_unprivileged_port_start=%d); pick a port >= %d, or 0 to let "+
			"the kernel choose", start, start, start)
	}
	// Above the limit the kernel itself doesn't refuse; something else did.
	return fmt.Sprintf("port %d is not privileged here (net.ipv4.ip_unprivileged_port_start=%d), "+
		"so a security policy (SELinux, AppArmor, seccomp or a container runtime) refused it", port, start)
}
