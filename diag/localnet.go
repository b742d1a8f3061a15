package diag

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"net/netip"
	"path"
	"slices"
	"strconv"
	"strings"
)

// pathIPv4Conf holds a directory of IPv4 settings for each network
// interface, plus "all", which applies to every interface, and "default",
// which new interfaces start from.
const pathIPv4Conf = "proc/sys/net/ipv4/conf"

// RouteLocalnet returns the interfaces whose net.ipv4.conf.IFACE.route_localnet
// is on, in the order of sys's /proc/sys/net/ipv4/conf: "all" stands for
// every interface, "default" for those added from now on.
//
// With it on, Linux routes packets for 127.0.0.0/8 that arrive from the
// network on those interfaces instead of dropping them as martians, so a
// neighbour that sends them (CVE-2020-8558; kube-proxy turns it on for its
// NodePorts) reaches servers that believe they are bound to loopback only.
// lo is left out: what arrives on it came from this machine anyway.
//
// A system without the directory (not Linux) has no such setting, so the
// answer is none and no error; an interface that goes away during the
// scan is skipped.
func RouteLocalnet(sys System) ([]string, error) {
	entries, err := fs.ReadDir(sys.root(), pathIPv4Conf)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read /%s: %w", pathIPv4Conf, err)
	}
	var on []string
	for _, e := range entries {
		if !e.IsDir() || e.Name() == "lo" {
			continue
		}
		set, err := routeLocalnetOn(sys, e.Name())
		if err != nil {
			return nil, err
		}
		if set {
			on = append(on, e.Name())
		}
	}
	return on, nil
}

// routeLocalnetOn reads one interface's setting. The kernel writes 0 or 1,
// but takes any integer, and any but 0 turns it on.
func routeLocalnetOn(sys System, iface string) (bool, error) {
	p := path.Join(pathIPv4Conf, iface, "route_localnet")
	data, err := fs.ReadFile(sys.root(), p)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return false, nil
	case err != nil:
		return false, fmt.Errorf("read /%s: %w", p, err)
	}
	n, err := strconv.ParseInt(string(bytes.TrimSpace(data)), 10, 32)
	if err != nil {
		return false, fmt.Errorf("/%s holds %q, not a number", p, bytes.TrimSpace(data))
	}
	return n != 0, nil
}

// RouteLocalnetWarning says, in one sentence for a person, what it means
// that route_localnet is on for ifaces (as RouteLocalnet returns them),
// naming each sysctl as `sysctl` spells it; "" when ifaces is empty.
func RouteLocalnetWarning(ifaces []string) string {
	if len(ifaces) == 0 {
		return ""
	}
	names := make([]string, len(ifaces))
	where := make([]string, len(ifaces))
	for i, iface := range ifaces {
		// sysctl writes a dot inside a name (a VLAN, eth0.100) as a slash.
		names[i] = "net.ipv4.conf." + strings.ReplaceAll(iface, ".", "/") + ".route_localnet=1"
		where[i] = iface
		if iface == "default" {
			where[i] = "any interface added later"
		}
	}
	from := "on " + joinAnd(where)
	if slices.Contains(ifaces, "all") {
		from = "on every interface"
	}
	return fmt.Sprintf("%s (kube-proxy sets it; CVE-2020-8558): this machine accepts packets "+
		"for 127.0.0.0/8 from the network %s, so neighbours there can reach servers bound "+
		"to 127.x; bind ::1 to stay local, or set it to 0 if nothing here needs it",
		strings.Join(names, ", "), from)
}

// joinAnd joins "a", "b" and "c" as "a, b and c".
func joinAnd(s []string) string {
	if len(s) < 2 {
		return strings.Join(s, "")
	}
	return strings.Join(s[:len(s)-1], ", ") + " and " + s[len(s)-1]
}

// markRouteLocalnet records, for each address in 127.0.0.0/8 (IPv4-mapped
// too), whether route_localnet lets the network reach it. /proc is read only
// when there is such an address; ::1 has no such setting, since Linux
// drops IPv6 packets for it that come from outside.
func markRouteLocalnet(addrs []AddrInfo, sys System) {
	if !slices.ContainsFunc(addrs, func(a AddrInfo) bool { return isLoopback4(a.Addr) }) {
		return
	}
	ifaces, err := RouteLocalnet(sys)
	for i := range addrs {
		a := &addrs[i]
		switch {
		case !isLoopback4(a.Addr):
		case err != nil:
			a.RouteLocalnetNote = "can't tell whether net.ipv4.conf.*.route_localnet lets the network reach it: " + err.Error()
		default:
			a.RouteLocalnet = new(len(ifaces) > 0)
			a.RouteLocalnetOn = ifaces
			a.RouteLocalnetNote = RouteLocalnetWarning(ifaces)
		}
	}
}

func isLoopback4(a netip.Addr) bool {
	a = a.Unmap()
	return a.Is4() && a.IsLoopback()
}
