package server

import (
	"encoding/binary"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

func TestGuardRules(t *testing.T) {
	own := netip.MustParseAddrPort("127.0.0.1:7000")
	others := &instanceSet{}
	set := &portSet{}
	set.add(7001)
	others.ports.Store(set)
	g := newGuard(&UDP{}, own, others)
	for _, c := range []struct {
		src  string
		want verdict
	}{
		{"127.0.0.1:40000", answer},
		{"127.0.0.1:7000", refuseSelf},
		{"127.0.0.2:7000", refuseSelf}, // every loopback address is this socket's
		{"127.0.0.1:7", refuseLowPort},
		{"127.0.0.1:1023", refuseLowPort},
		{"127.0.0.1:1024", answer},
		{"127.0.0.1:7001", refuseInstance},
	} {
		if got := g.check(netip.MustParseAddrPort(c.src), []byte(c.src), 0); got != c.want {
			t.Errorf("datagram from %s: verdict %d, want %d", c.src, got, c.want)
		}
	}
	if g := newGuard(&UDP{MinSourcePort: 1}, own, others); g.check(netip.MustParseAddrPort("127.0.0.1:7"), nil, 0) != answer {
		t.Error("MinSourcePort 1 still refuses port 7")
	}
}

// TestGuardEndsALoopButNotAClient: a source that sends back the same bytes
// it was sent is refused after LoopLimit repeats, and for loopPause; one
// whose payloads carry a sequence number never is, however fast it sends.
func TestGuardEndsALoopButNotAClient(t *testing.T) {
	own := netip.MustParseAddrPort("127.0.0.1:7000")
	g := newGuard(&UDP{}, own, &instanceSet{})
	loop := netip.MustParseAddrPort("127.0.0.1:50000")
	client := netip.MustParseAddrPort("127.0.0.1:50001")
	p := make([]byte, 64)
	now := time.Duration(0)
	answered := 0
	for range 1000 {
		now += time.Microsecond
		if g.check(loop, p, now) == answer {
			answered++
		}
	}
	if answered != defaultLoopLimit {
		t.Errorf("a loop was answered %d times, want %d", answered, defaultLoopLimit)
	}
	if g.check(loop, p, now+loopPause-time.Millisecond) != refuseLoop {
		t.Error("the loop was answered again before its pause ended")
	}
	if g.check(loop, p, now+loopPause+time.Millisecond) != answer {
		t.Error("the source was not answered after its pause")
	}
	for seq := range uint64(10000) {
		now += time.Microsecond
		binary.LittleEndian.PutUint64(p, seq)
		if v := g.check(client, p, now); v != answer {
			t.Fatalf("client datagram %d refused: verdict %d", seq, v)
		}
	}
	// The same bytes a second apart are a person typing, not a loop.
	for range 100 {
		now += 2 * loopWindow
		if v := g.check(client, p, now); v != answer {
			t.Fatalf("a slow repeat was refused: verdict %d", v)
		}
	}
}

func TestGuardForgetsSourcesBeyondItsMemory(t *testing.T) {
	g := newGuard(&UDP{}, netip.MustParseAddrPort("127.0.0.1:7000"), &instanceSet{})
	for i := range maxSources * 3 {
		src := netip.AddrPortFrom(netip.AddrFrom4([4]byte{127, 0, byte(i >> 16), byte(i >> 8)}), uint16(2000+i%50000))
		g.check(src, []byte{1}, 0)
	}
	if n := len(g.sources); n > maxSources {
		t.Errorf("remembers %d sources, want at most %d", n, maxSources)
	}
}

// TestInstancesSeeTheLiveOnes: a registered port is seen, this process's
// as another's, and a file left by a dead process is ignored.
func TestInstancesSeeTheLiveOnes(t *testing.T) {
	in := &Instances{Dir: filepath.Join(t.TempDir(), "ports")}
	unregister, err := in.Register(7100)
	if err != nil {
		t.Fatal(err)
	}
	other := os.Getppid() // a process that is alive and is not this one
	if err := os.WriteFile(filepath.Join(in.Dir, "7101"), []byte(strconv.Itoa(other)+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(in.Dir, "7102"), []byte("999999999\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	set, err := in.read()
	if err != nil {
		t.Fatal(err)
	}
	if !set.has(7100) || !set.has(7101) || set.has(7102) {
		t.Errorf("read: own 7100 %v, other's 7101 %v, dead 7102 %v; want true, true, false",
			set.has(7100), set.has(7101), set.has(7102))
	}
	unregister()
	if _, err := os.Stat(filepath.Join(in.Dir, "7100")); !os.IsNotExist(err) {
		t.Errorf("the port file is still there after unregister: %v", err)
	}
}
