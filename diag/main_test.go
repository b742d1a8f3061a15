package diag

import (
	"context"
	"encoding/binary"
	"flag"
	"fmt"
	"io/fs"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.uber.org/goleak"
)

var update = flag.Bool("update", false, "update .golden files")

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// The trees under testdata/ are one fake machine recorded twice: root-le as
// a little-endian kernel writes /proc/net, root-be as a big-endian one.
// Everything outside proc/net is identical.
var trees = []struct {
	name  string
	order binary.ByteOrder
}{
	{"root-le", binary.LittleEndian},
	{"root-be", binary.BigEndian},
}

// fakeUID is who the tests play against the fake machine: a user with no
// sockets or processes of its own there.
const fakeUID = 1002

// fakeSystem reads a tree from testdata, with faults injected by path.
func fakeSystem(tree string, order binary.ByteOrder, faults map[string]error) System {
	root := os.DirFS(filepath.Join("testdata", tree))
	sys := System{Root: root, ByteOrder: order, LookupIP: fakeLookup, asUID: new(uint32(fakeUID))}
	if faults != nil {
		sys.Root = faultFS{FS: root, faults: faults}
	}
	return sys
}

// fakeLookup stands in for DNS so tests never leave the machine.
func fakeLookup(_ context.Context, host string) ([]netip.Addr, error) {
	switch strings.ToLower(strings.TrimSuffix(host, ".")) {
	case "localhost":
		return []netip.Addr{netip.MustParseAddr("127.0.0.1"), netip.MustParseAddr("::1"),
			netip.MustParseAddr("127.0.0.1")}, nil
	case "example.test":
		return []netip.Addr{netip.MustParseAddr("192.0.2.7")}, nil
	case "empty.test":
		return nil, nil
	}
	return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
}

// faultFS makes chosen paths fail, to stand for what a tree on disk can't
// hold: a process's fds hidden from us (root reads everything, and git
// keeps no permissions) or a process that exits halfway through a scan.
// Only Open is promoted from the wrapped FS, so ReadDir and ReadFile come
// through Open and see the faults too.
type faultFS struct {
	fs.FS
	faults map[string]error // path, and everything below it -> error
}

func (f faultFS) fault(op, name string) error {
	for p, err := range f.faults {
		if name == p || strings.HasPrefix(name, p+"/") {
			return &fs.PathError{Op: op, Path: name, Err: err}
		}
	}
	return nil
}

func (f faultFS) Open(name string) (fs.File, error) {
	if err := f.fault("open", name); err != nil {
		return nil, err
	}
	return f.FS.Open(name)
}

func (f faultFS) ReadLink(name string) (string, error) {
	if err := f.fault("readlink", name); err != nil {
		return "", err
	}
	return fs.ReadLink(f.FS, name)
}

func (f faultFS) Lstat(name string) (fs.FileInfo, error) {
	if err := f.fault("lstat", name); err != nil {
		return nil, err
	}
	return fs.Lstat(f.FS, name)
}

// row formats the fields of a socket that tests compare, on one line.
func row(s Socket) string {
	out := fmt.Sprintf("%s %s %s %s uid=%d(%s)", s.Proto, s.Local, s.Remote, s.State, s.UID, s.User)
	if s.Unix() {
		out = fmt.Sprintf("%s %q %s uid=%d(%s)", s.Proto, s.Path, s.State, s.UID, s.User)
	}
	if s.Side != "" {
		out += " side=" + s.Side
	}
	out += fmt.Sprintf(" pid=%d", s.PID)
	if len(s.OtherPIDs) > 0 {
		out += fmt.Sprintf(" also=%v", s.OtherPIDs)
	}
	if s.Process != "" {
		out += fmt.Sprintf(" %s %q", s.Process, s.Cmdline)
	}
	if s.Note != "" {
		out += " note=" + s.Note
	}
	return out
}

func rows(socks []Socket) []string {
	out := make([]string, len(socks))
	for i, s := range socks {
		out[i] = row(s)
	}
	return out
}

// golden compares got with testdata/name, rewriting it under -update.
func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("%s differs (go test -update rewrites it)\ngot:\n%s\nwant:\n%s", path, got, want)
	}
}
