package main

import (
	"net/netip"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/rs/zerolog"

	"github.com/loopback-dev/loopback/diag"
)

// TestServeWarnsOfRouteLocalnet: on a machine where route_localnet lets
// the network reach 127.0.0.0/8 (a kube-proxy node), serve says so at
// start, naming the sysctl; on ::1, or with the setting off, it says
// nothing.
func TestServeWarnsOfRouteLocalnet(t *testing.T) {
	t.Parallel()
	node := fstest.MapFS{
		"proc/sys/net/ipv4/conf/all/route_localnet":  {Data: []byte("1\n")},
		"proc/sys/net/ipv4/conf/eth0/route_localnet": {Data: []byte("0\n")},
		"proc/sys/net/ipv4/conf/lo/route_localnet":   {Data: []byte("0\n")},
	}
	safe := fstest.MapFS{"proc/sys/net/ipv4/conf/all/route_localnet": {Data: []byte("0\n")}}
	for _, c := range []struct {
		ip   string
		sys  fstest.MapFS
		warn bool
	}{
		{"127.0.0.1", node, true},
		{"127.3.4.5", node, true},
		{"::1", node, false},
		{"127.0.0.1", safe, false},
	} {
		var log strings.Builder
		warnRouteLocalnet(netip.MustParseAddr(c.ip), diag.System{Root: c.sys}, zerolog.New(&log))
		got := strings.Contains(log.String(), "net.ipv4.conf.all.route_localnet=1")
		if got != c.warn {
			t.Errorf("%s: warned %v, want %v: %s", c.ip, got, c.warn, log.String())
		}
	}
}
