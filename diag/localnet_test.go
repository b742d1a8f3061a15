package diag

import (
	"encoding/json"
	"errors"
	"io/fs"
	"slices"
	"strings"
	"testing"
	"testing/fstest"
)

// confTree is a /proc/sys/net/ipv4/conf with route_localnet set as given,
// one directory per interface, as the kernel lays it out.
func confTree(values map[string]string) fstest.MapFS {
	tree := fstest.MapFS{}
	for iface, v := range values {
		tree[pathIPv4Conf+"/"+iface+"/route_localnet"] = &fstest.MapFile{Data: []byte(v)}
		// Each interface has some fifty settings; one more keeps the
		// directory from being only the file under test.
		tree[pathIPv4Conf+"/"+iface+"/forwarding"] = &fstest.MapFile{Data: []byte("0\n")}
	}
	return tree
}

// kubeNode is a node where kube-proxy has run: route_localnet on for all.
var kubeNode = map[string]string{"all": "1\n", "default": "0\n", "lo": "0\n", "eth0": "0\n", "cni0": "0\n"}

func TestRouteLocalnet(t *testing.T) {
	t.Parallel()
	const eth0 = pathIPv4Conf + "/eth0/route_localnet"
	tests := []struct {
		name    string
		root    fs.FS
		want    []string
		wantErr string
	}{
		{"all off", confTree(map[string]string{"all": "0\n", "default": "0\n", "lo": "0\n", "eth0": "0\n"}), nil, ""},
		{"kube-proxy", confTree(kubeNode), []string{"all"}, ""},
		{"some interfaces", confTree(map[string]string{"all": "0\n", "eth0": "1\n", "eth0.100": "1\n", "wlan0": "0\n"}), []string{"eth0", "eth0.100"}, ""},
		{"new interfaces", confTree(map[string]string{"all": "0\n", "default": "1\n"}), []string{"default"}, ""},
		{"lo alone exposes nothing", confTree(map[string]string{"all": "0\n", "lo": "1\n"}), nil, ""},
		{"any integer but 0", confTree(map[string]string{"eth0": "2\n", "eth1": " -1 ", "eth2": "00"}), []string{"eth0", "eth1"}, ""},
		{"no such setting (not Linux)", fstest.MapFS{}, nil, ""},
		{"a kernel without it", fstest.MapFS{pathIPv4Conf + "/eth0/forwarding": {Data: []byte("0\n")}}, nil, ""},
		{"not a number", confTree(map[string]string{"eth0": "on\n"}), nil, `/` + eth0 + ` holds "on", not a number`},
		{"interface gone during the scan",
			faultFS{FS: confTree(map[string]string{"all": "0\n", "eth0": "1\n", "eth1": "1\n"}), faults: map[string]error{eth0: fs.ErrNotExist}},
			[]string{"eth1"}, ""},
		{"unreadable setting",
			faultFS{FS: confTree(map[string]string{"all": "1\n", "eth0": "1\n"}), faults: map[string]error{eth0: fs.ErrPermission}},
			nil, "read /" + eth0 + ": open " + eth0 + ": permission denied"},
		{"unreadable directory",
			faultFS{FS: confTree(kubeNode), faults: map[string]error{pathIPv4Conf: fs.ErrPermission}},
			nil, "read /" + pathIPv4Conf + ": open " + pathIPv4Conf + ": permission denied"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := RouteLocalnet(System{Root: tt.root})
			if gotErr := errString(err); gotErr != tt.wantErr {
				t.Fatalf("RouteLocalnet error = %q, want %q", gotErr, tt.wantErr)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("RouteLocalnet = %q, want %q", got, tt.want)
			}
		})
	}
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

func TestRouteLocalnetPermissionIsAnError(t *testing.T) {
	t.Parallel()
	const eth0 = pathIPv4Conf + "/eth0/route_localnet"
	root := faultFS{FS: confTree(kubeNode), faults: map[string]error{eth0: fs.ErrPermission}}
	if _, err := RouteLocalnet(System{Root: root}); !errors.Is(err, fs.ErrPermission) {
		t.Errorf("RouteLocalnet error = %v, want one that is fs.ErrPermission", err)
	}
}

func TestRouteLocalnetWarning(t *testing.T) {
	t.Parallel()
	const rest = " (kube-proxy sets it; CVE-2020-8558): this machine accepts packets for 127.0.0.0/8 " +
		"from the network %s, so neighbours there can reach servers bound to 127.x; " +
		"bind ::1 to stay local, or set it to 0 if nothing here needs it"
	tests := []struct {
		ifaces        []string
		sysctls, from string
	}{
		{[]string{"all"}, "net.ipv4.conf.all.route_localnet=1", "on every interface"},
		{[]string{"eth0"}, "net.ipv4.conf.eth0.route_localnet=1", "on eth0"},
		{[]string{"default"}, "net.ipv4.conf.default.route_localnet=1", "on any interface added later"},
		{[]string{"all", "eth0"}, "net.ipv4.conf.all.route_localnet=1, net.ipv4.conf.eth0.route_localnet=1", "on every interface"},
		{[]string{"default", "eth0.100", "wg0"},
			"net.ipv4.conf.default.route_localnet=1, net.ipv4.conf.eth0/100.route_localnet=1, net.ipv4.conf.wg0.route_localnet=1",
			"on any interface added later, eth0.100 and wg0"},
	}
	for _, tt := range tests {
		want := tt.sysctls + strings.Replace(rest, "%s", tt.from, 1)
		if got := RouteLocalnetWarning(tt.ifaces); got != want {
			t.Errorf("RouteLocalnetWarning(%q) =\n%s\nwant\n%s", tt.ifaces, got, want)
		}
	}
	if got := RouteLocalnetWarning(nil); got != "" {
		t.Errorf("RouteLocalnetWarning(nil) = %q, want nothing", got)
	}
}

// TestExplainRouteLocalnet explains addresses on a Kubernetes node, where
// 127.x is open to the network and ::1 is not, and compares the text with
// testdata/explain/route_localnet.golden.
func TestExplainRouteLocalnet(t *testing.T) {
	t.Parallel()
	sys := System{Root: confTree(kubeNode), LookupIP: fakeLookup}
	var all strings.Builder
	for _, in := range []string{"127.0.0.1", "127.0.0.53", "::ffff:127.0.0.1", "::1", "0.0.0.0", "10.0.0.1"} {
		e, err := Explain(t.Context(), in, sys)
		if err != nil {
			t.Fatalf("Explain(%q): %v", in, err)
		}
		if err := e.WriteText(&all); err != nil {
			t.Fatal(err)
		}
		all.WriteString("\n")
	}
	golden(t, "explain/route_localnet.golden", all.String())

	e, err := Explain(t.Context(), "localhost", sys)
	if err != nil {
		t.Fatal(err)
	}
	js, err := json.MarshalIndent(e, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "explain/route_localnet_localhost.json.golden", string(js)+"\n")
}

func TestExplainRouteLocalnetUnknown(t *testing.T) {
	t.Parallel()
	root := faultFS{FS: confTree(kubeNode), faults: map[string]error{pathIPv4Conf: fs.ErrPermission}}
	e, err := Explain(t.Context(), "127.0.0.1", System{Root: root})
	if err != nil {
		t.Fatal(err)
	}
	a := e.Addrs[0]
	if a.RouteLocalnet != nil || !strings.HasPrefix(a.RouteLocalnetNote, "can't tell whether net.ipv4.conf.*.route_localnet") {
		t.Errorf("with /%s unreadable: route_localnet %v, note %q; want unknown and a note saying why",
			pathIPv4Conf, a.RouteLocalnet, a.RouteLocalnetNote)
	}
	var b strings.Builder
	if err := e.WriteText(&b); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), "  note       can't tell") {
		t.Errorf("text lacks the note:\n%s", b.String())
	}
}
