package diag

import (
	"fmt"
	"net/netip"
)

// Address classes reported in AddrInfo.Class.
const (
	ClassLoopback      = "loopback"
	ClassUnspecified   = "unspecified"
	ClassPrivate       = "private"
	ClassShared        = "shared"
	ClassLinkLocal     = "link-local"
	ClassMulticast     = "multicast"
	ClassBroadcast     = "broadcast"
	ClassDocumentation = "documentation"
	ClassReserved      = "reserved"
	ClassIPv4Mapped    = "ipv4-mapped"
	ClassPublic        = "public"
)

// classifyAddr explains one address. It is pure: the answer depends only on
// the address, never on this machine's interfaces.
func classifyAddr(a netip.Addr) AddrInfo {
	if a.Is4In6() {
		inner := classifyAddr(a.Unmap())
		return AddrInfo{
			Addr:  a,
			Class: ClassIPv4Mapped,
			Summary: fmt.Sprintf("%s is an IPv4-mapped IPv6 address (::ffff:0:0/96): "+
				"how an IPv6 socket on Linux shows the IPv4 address %s", a, a.Unmap()),
			IPv4: &inner,
		}
	}
	class, what := addrClass(a)
	return AddrInfo{Addr: a, Class: class, Summary: fmt.Sprintf("%s is %s", a, what)}
}

// addrClass returns the class of a and the rest of the sentence that
// explains it. Order matters: the special ranges come before "public".
func addrClass(a netip.Addr) (class, what string) {
	switch {
	case a.IsLoopback():
		return ClassLoopback, loopbackText(a)
	case a.IsUnspecified():
		return ClassUnspecified, unspecifiedText(a)
	case a.IsPrivate():
		return ClassPrivate, privateText(a)
	case in(a, "100.64.0.0/10"):
		return ClassShared, "shared address space (100.64.0.0/10): carrier-grade NAT " +
			"and overlay networks such as Tailscale use it; not routed on the internet"
	case a.IsLinkLocalUnicast():
		return ClassLinkLocal, linkLocalText(a)
	case a.IsMulticast():
		return ClassMulticast, multicastText(a)
	case a == netip.AddrFrom4([4]byte{255, 255, 255, 255}):
		return ClassBroadcast, "the limited broadcast address: every host on the local " +
			"network segment, UDP only; routers never forward it"
	}
	return specialClass(a)
}

// specialClass covers the reserved ranges netip has no predicate for.
func specialClass(a netip.Addr) (class, what string) {
	for _, p := range []string{"192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24", "2001:db8::/32"} {
		if in(a, p) {
			return ClassDocumentation, fmt.Sprintf("reserved for documentation (%s): "+
				"an example address, never a real host", p)
		}
	}
	switch {
	case in(a, "0.0.0.0/8"):
		return ClassReserved, "in 0.0.0.0/8, \"this network\": not usable as an address"
	case in(a, "::/8"):
		return ClassReserved, "in ::/8, reserved by the IETF (it holds the retired IPv4-compatible form)"
	case in(a, "240.0.0.0/4"):
		return ClassReserved, "reserved (240.0.0.0/4): not usable on the internet or by Linux by default"
	case !a.IsGlobalUnicast():
		return ClassReserved, "not a unicast address"
	}
	return ClassPublic, "public: traffic to it leaves this machine through the default " +
		"route, unless it is one of this machine's own addresses"
}

func loopbackText(a netip.Addr) string {
	switch {
	case a.Is6():
		return "IPv6 loopback (::1): traffic never leaves this machine; " +
			"unlike IPv4's 127.0.0.0/8 it is a single address"
	case a == netip.AddrFrom4([4]byte{127, 0, 0, 1}):
		return "loopback (127.0.0.0/8): traffic never leaves this machine; " +
			"on Linux the whole /8 answers, on macOS only 127.0.0.1"
	}
	return fmt.Sprintf("loopback (127.0.0.0/8): traffic never leaves this machine; "+
		"Linux answers on the whole /8, macOS only once aliased (sudo ifconfig lo0 alias %s)", a)
}

func unspecifiedText(a netip.Addr) string {
	if a.Is4() {
		return "unspecified: a server bound to it listens on every IPv4 interface, so anyone " +
			"who can reach this machine can connect; bind 127.0.0.1 to stay local"
	}
	return "unspecified (IPv6): a server bound to it listens on every interface, on Linux " +
		"IPv4 too unless IPV6_V6ONLY is set; anyone who can reach this machine can " +
		"connect; bind ::1 to stay local"
}

func privateText(a netip.Addr) string {
	if a.Is6() {
		return "unique local (fc00::/7), IPv6's private range: used inside a site, " +
			"never routed on the internet"
	}
	for _, p := range []string{"10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"} {
		if in(a, p) {
			return fmt.Sprintf("private (%s, RFC 1918): used inside local networks and "+
				"behind NAT, never routed on the internet", p)
		}
	}
	return "private"
}

func linkLocalText(a netip.Addr) string {
	if a.Is4() {
		return "link-local (169.254.0.0/16): self-assigned when DHCP fails, or a cloud " +
			"metadata service (169.254.169.254); reachable only on the same link"
	}
	if a.Zone() != "" {
		return fmt.Sprintf("link-local (fe80::/10): valid only on one link; the zone %%%s "+
			"names the interface it belongs to", a.Zone())
	}
	return "link-local (fe80::/10): every IPv6 interface has one, valid only on its own " +
		"link, so using it needs a zone naming the interface (fe80::1%eth0)"
}

func multicastText(a netip.Addr) string {
	scope := ""
	if a.IsLinkLocalMulticast() || a.IsInterfaceLocalMulticast() {
		scope = ", limited to the local link"
	}
	prefix := "224.0.0.0/4"
	if a.Is6() {
		prefix = "ff00::/8"
	}
	return fmt.Sprintf("multicast (%s): one datagram reaches every member of a group%s; "+
		"UDP only, never a TCP listener", prefix, scope)
}

// in reports whether a lies in the prefix p, a constant in this file.
func in(a netip.Addr, p string) bool {
	return netip.MustParsePrefix(p).Contains(a)
}

// covers reports whether a socket listening on listen accepts traffic sent
// to dst on the same port.
func covers(listen, dst netip.Addr) bool {
	listen, dst = listen.Unmap(), dst.Unmap()
	if listen.WithZone("") == dst.WithZone("") {
		return true
	}
	if !listen.IsUnspecified() {
		return false
	}
	// [::] is dual-stack on Linux by default (net.ipv6.bindv6only=0), and
	// Go's own ":port" listeners ask for exactly that.
	return listen.Is6() || dst.Is4()
}
