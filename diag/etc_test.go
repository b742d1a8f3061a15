package diag

import (
	"encoding/binary"
	"fmt"
	"os"
	"slices"
	"testing"
)

func TestServices(t *testing.T) {
	t.Parallel()
	data, err := os.ReadFile("testdata/root-le/etc/services")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		port uint16
		want string
	}{
		{22, "[{ssh tcp []}]"},
		{53, "[{domain tcp []} {domain udp []}]"},
		{80, "[{http tcp [www]}]"},
		{8080, "[{http-alt tcp [webcache]}]"},
		{9, "[]"},
	}
	for _, tt := range tests {
		if got := fmt.Sprint(servicesFor(data, tt.port)); got != tt.want {
			t.Errorf("servicesFor(%d) = %s, want %s", tt.port, got, tt.want)
		}
	}
	for name, want := range map[string]uint16{"http": 80, "www": 80, "webcache": 8080, "mdns": 5353} {
		if got, ok := servicePort(data, name); !ok || got != want {
			t.Errorf("servicePort(%q) = %d, %v; want %d", name, got, ok, want)
		}
	}
	if got, ok := servicePort(data, "malformed"); ok {
		t.Errorf("servicePort(malformed) = %d, want none", got)
	}
}

func TestPasswdName(t *testing.T) {
	t.Parallel()
	data := []byte("root:x:0:0:root:/root:/bin/bash\n# comment\nbroken\n:x:5:5::/:/bin/sh\nalice:x:1000:1000::/home/alice:/bin/bash")
	for uid, want := range map[uint32]string{0: "root", 1000: "alice", 5: "", 1: ""} {
		if got := passwdName(data, uid); got != want {
			t.Errorf("passwdName(%d) = %q, want %q", uid, got, want)
		}
	}
}

func TestMachineFacts(t *testing.T) {
	t.Parallel()
	sys := fakeSystem("root-le", binary.LittleEndian, nil)
	if r, ok := ephemeralRange(sys); !ok || r != (PortRange{32768, 60999}) {
		t.Errorf("ephemeralRange = %v, %v; want 32768-60999", r, ok)
	}
	if n, ok := unprivilegedStart(sys); !ok || n != 1024 {
		t.Errorf("unprivilegedStart = %d, %v; want 1024", n, ok)
	}
	empty := System{Root: os.DirFS(t.TempDir())}
	if r, ok := ephemeralRange(empty); ok {
		t.Errorf("ephemeralRange without /proc = %v, want unknown", r)
	}
	if n, ok := unprivilegedStart(empty); ok || n != 1024 {
		t.Errorf("unprivilegedStart without /proc = %d, %v; want 1024, false", n, ok)
	}
}

func TestStatusUIDs(t *testing.T) {
	t.Parallel()
	status := []byte("Name:\tnc\nUid:\t1000\t1001\t1000\t1002\nGid:\t5\t5\t5\t5\n")
	if got, want := statusUIDs(status), []uint32{1000, 1001, 1000, 1002}; !slices.Equal(got, want) {
		t.Errorf("statusUIDs = %v, want %v", got, want)
	}
}
