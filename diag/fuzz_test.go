package diag

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"testing/fstest"
)

// The fuzz tests follow net/netip's FuzzParse: never panic, and round-trip
// wherever a round trip is defined. Their seed corpus is in
// testdata/fuzz/<name>/ besides the f.Add calls; run one with, for example,
// go test -fuzz=FuzzExplain -fuzztime=1m ./diag/

func FuzzExplain(f *testing.F) {
	for _, s := range []string{
		"127.0.0.1:62893", "[::1]:7007", "::1", "[::ffff:127.0.0.1]:80", "0.0.0.0", "::",
		"fe80::1%eth0", "[fe80::1%eth0]:22", "localhost", "localhost:http", "example.test:0",
		":41234", "8080", "65536", "nosuch.test", "[::1", "a..b", "http://localhost:80",
		"1.2.3.4:5:6", "224.0.0.251:5353", "255.255.255.255", "0.1.2.3:9", "localhost:",
		"::ffff:0.0.0.0", "[::ffff:7f00:1]:0", "100.64.0.1", "2001:db8::1", "[::]:http-alt",
	} {
		f.Add(s)
	}
	sys := fakeSystem("root-le", binary.LittleEndian, nil)
	f.Fuzz(func(t *testing.T, in string) {
		if tgt, err := parseTarget(in); err == nil {
			again, err := parseTarget(tgt.String())
			if err != nil || again != tgt {
				t.Fatalf("parseTarget(%q) = %+v, but its String %q parses to %+v, %v",
					in, tgt, tgt.String(), again, err)
			}
		}
		e, err := Explain(t.Context(), in, sys)
		if err != nil {
			return
		}
		if err := e.WriteText(io.Discard); err != nil {
			t.Fatal(err)
		}
		if _, err := json.Marshal(e); err != nil {
			t.Fatalf("json.Marshal(Explain(%q)): %v", in, err)
		}
		for _, a := range e.Addrs {
			if a.Class == "" || !strings.HasPrefix(a.Summary, a.Addr.String()+" is ") {
				t.Errorf("Explain(%q): address %s has class %q, summary %q", in, a.Addr, a.Class, a.Summary)
			}
		}
	})
}

// FuzzProcNet feeds arbitrary tables to the /proc/net parser in both byte
// orders: every socket it accepts must encode back, the way the kernel
// writes it, to a line that parses to the same socket.
func FuzzProcNet(f *testing.F) {
	for _, tree := range []string{"root-le", "root-be"} {
		for _, proto := range []string{"tcp", "tcp6", "udp", "udp6"} {
			data, err := os.ReadFile(filepath.Join("testdata", tree, "proc/net", proto))
			if err != nil {
				f.Fatal(err)
			}
			f.Add(data, tree == "root-be", uint8(len(proto)))
		}
	}
	f.Add([]byte("0: 0:0 0:0 0 0 0 0 0 0 0\n"), false, uint8(0))
	f.Add([]byte("   0: 0100007f:1b5f 00000000:0000 0a 0 0 0 0 0 1 1\n"), false, uint8(0))
	f.Fuzz(func(t *testing.T, data []byte, bigEndian bool, which uint8) {
		var order binary.ByteOrder = binary.LittleEndian
		if bigEndian {
			order = binary.BigEndian
		}
		proto := []string{"tcp", "tcp6", "udp", "udp6"}[which%4]
		for s := range procNetRows(data, proto, order) {
			if !s.Local.IsValid() || !s.Remote.IsValid() || s.State == "" {
				t.Fatalf("procNetRows accepted a socket with an invalid field: %+v", s)
			}
			line := procNetLine(s, order)
			back, ok := parseProcNetLine([]byte(line), proto, order)
			if !ok || back.Local != s.Local || back.Remote != s.Remote || back.state != s.state ||
				back.UID != s.UID || back.Inode != s.Inode || back.State != s.State {
				t.Fatalf("%+v encodes as %q, which parses to %+v, %v", s, line, back, ok)
			}
		}
	})
}

// FuzzEtc feeds arbitrary files to the /etc/services, /etc/passwd and
// /proc/PID/status readers, which must never panic.
func FuzzEtc(f *testing.F) {
	data, err := os.ReadFile("testdata/root-le/etc/services")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(data, uint16(80), "www")
	f.Add([]byte("root:x:0:0::/:/bin/sh\nUid:\t0\t0\t0\t0\n"), uint16(0), "root")
	f.Add([]byte("x 99999/tcp\ny 1/\n# z 2/udp\n"), uint16(1), "y")
	f.Fuzz(func(t *testing.T, data []byte, port uint16, name string) {
		for p, svc := range services(data) {
			if svc.Name == "" || svc.Proto == "" || strings.ContainsAny(svc.Name, " \t\n#") {
				t.Fatalf("services yielded %d %+v", p, svc)
			}
		}
		for _, svc := range servicesFor(data, port) {
			if svc.Name == "" {
				t.Fatalf("servicesFor(%d) yielded an unnamed service", port)
			}
		}
		servicePort(data, name)
		if name := passwdName(data, uint32(port)); strings.Contains(name, ":") {
			t.Fatalf("passwdName returned %q", name)
		}
		statusUIDs(data)
	})
}

// FuzzRouteLocalnet feeds arbitrary setting files and interface names to
// RouteLocalnet: an interface other than lo is reported exactly when its
// file holds an integer other than 0, a file that holds no integer is an
// error naming it, and the warning names every interface reported.
func FuzzRouteLocalnet(f *testing.F) {
	for _, s := range []string{"0\n", "1\n", "2", " -1 ", "", "x", "1\n1\n", "0x1", "99999999999"} {
		f.Add([]byte(s), "eth0")
	}
	f.Add([]byte("1\n"), "all")
	f.Add([]byte("1\n"), "lo")
	f.Add([]byte("1\n"), "default")
	f.Add([]byte("1\n"), "eth0.100")
	f.Fuzz(func(t *testing.T, data []byte, iface string) {
		file := pathIPv4Conf + "/" + iface + "/route_localnet"
		if strings.Contains(iface, "/") || !fs.ValidPath(file) {
			return // not a name a directory can have
		}
		tree := confTree(map[string]string{"all": "0\n", "lo": "1\n"})
		tree[file] = &fstest.MapFile{Data: data}
		got, err := RouteLocalnet(System{Root: tree})
		n, perr := strconv.ParseInt(string(bytes.TrimSpace(data)), 10, 32)
		switch {
		case iface == "lo":
			// Not read at all: lo carries nothing from the network.
			if got != nil || err != nil {
				t.Fatalf("RouteLocalnet with %q for lo = %q, %v; want none", data, got, err)
			}
			return
		case perr != nil:
			if err == nil || !strings.Contains(err.Error(), "/"+file+" holds") {
				t.Fatalf("RouteLocalnet with %q in %s = %q, %v; want an error naming the file", data, file, got, err)
			}
			return
		case err != nil:
			t.Fatalf("RouteLocalnet with %q in %s: %v", data, file, err)
		}
		var want []string
		if n != 0 && iface != "lo" {
			want = []string{iface}
		}
		if !slices.Equal(got, want) {
			t.Fatalf("RouteLocalnet with %q in %s = %q, want %q", data, file, got, want)
		}
		if w := RouteLocalnetWarning(got); (w != "") != (len(got) > 0) || len(got) > 0 &&
			!strings.Contains(w, "net.ipv4.conf."+strings.ReplaceAll(iface, ".", "/")+".route_localnet=1") {
			t.Fatalf("RouteLocalnetWarning(%q) = %q", got, w)
		}
	})
}
