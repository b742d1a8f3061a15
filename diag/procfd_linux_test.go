package diag

import (
	"errors"
	"io/fs"
	"os"
	"slices"
	"testing"
)

// TestLiveFDsMatchFS: the raw fd reader and the fs.FS one find the same
// sockets in this process, which holds a few.
func TestLiveFDsMatchFS(t *testing.T) {
	t.Parallel()
	listenSelf(t)
	var viaFS, live []uint64
	if err := fsFDs(os.DirFS("/"))(os.Getpid(), func(ino uint64) bool { viaFS = append(viaFS, ino); return true }); err != nil {
		t.Fatal(err)
	}
	if err := liveFDs()(os.Getpid(), func(ino uint64) bool { live = append(live, ino); return true }); err != nil {
		t.Fatal(err)
	}
	// Other tests open and close sockets meanwhile: ours are in both.
	ours, err := Ports(false, System{})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, s := range ours {
		if s.PID != os.Getpid() {
			continue
		}
		n++
		if !slices.Contains(viaFS, s.Inode) || !slices.Contains(live, s.Inode) {
			t.Errorf("socket %d (%s %s): fs.FS found it %v, the raw reader %v", s.Inode, s.Proto, s.Local,
				slices.Contains(viaFS, s.Inode), slices.Contains(live, s.Inode))
		}
	}
	if n < 4 {
		t.Errorf("Ports found %d of this process's listeners, want at least 4", n)
	}
	// PIDs stop at 2^22 on Linux.
	if err := liveFDs()(1<<30, func(uint64) bool { return true }); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("liveFDs of no such process: %v, want fs.ErrNotExist", err)
	}
}

func TestSocketInode(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		link string
		ino  uint64
		ok   bool
	}{
		{"socket:[12345]", 12345, true},
		{"socket:[18446744073709551615]", 1<<64 - 1, true},
		{"socket:[18446744073709551616]", 0, false},
		{"socket:[]", 0, false},
		{"socket:[12a]", 0, false},
		{"socket:[1", 0, false},
		{"pipe:[12345]", 0, false},
		{"/dev/null", 0, false},
		{"anon_inode:[eventpoll]", 0, false},
	} {
		if ino, ok := socketInode([]byte(tt.link)); ino != tt.ino || ok != tt.ok {
			t.Errorf("socketInode(%q) = %d, %v; want %d, %v", tt.link, ino, ok, tt.ino, tt.ok)
		}
	}
}
