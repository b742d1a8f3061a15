package server

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Instances is how the loopback servers on one machine recognise each
// other's UDP ports, so that two of them aimed at each other cannot echo
// for ever: each one that serves UDP writes a file named after its port,
// holding its PID, into one directory, and removes it when it stops. A
// file whose process is gone (a server killed with SIGKILL) is ignored.
// The directory is shared by every user, like /tmp itself, since a loop
// between two users' servers is a loop too; a user who plants a file only
// stops servers answering that port of their own machine.
type Instances struct {
	Dir string // where the port files are; DefaultInstancesDir() unless a test says otherwise
}

// DefaultInstancesDir is the directory every loopback server on this
// machine uses.
func DefaultInstancesDir() string { return filepath.Join(os.TempDir(), "loopback-udp-ports") }

// refreshEvery is how often a server reads the directory again: a server
// started since is recognised within this time.
const refreshEvery = time.Second

// Register announces a UDP port served by this process, and returns what
// takes it back.
func (in *Instances) Register(port uint16) (unregister func(), err error) {
	if err := os.MkdirAll(in.Dir, 0o1777); err != nil {
		return nil, fmt.Errorf("instances: %w", err)
	}
	// MkdirAll's mode passes through the umask; every user must be able to
	// write here, and only remove their own files (the sticky bit).
	if st, err := os.Stat(in.Dir); err == nil && st.Mode().Perm() != 0o777 && isOwner(st) {
		os.Chmod(in.Dir, 0o1777)
	}
	path := filepath.Join(in.Dir, strconv.Itoa(int(port)))
	if err := os.WriteFile(path, []byte(strconv.Itoa(os.Getpid())+"\n"), 0o644); err != nil {
		return nil, fmt.Errorf("instances: %w", err)
	}
	return func() { os.Remove(path) }, nil
}

// read lists the ports of the live servers, this process's own included:
// two servers in one process are as able to loop as two processes, and a
// server's own port is refused by the guard anyway.
func (in *Instances) read() (*portSet, error) {
	set := &portSet{}
	return set, in.readInto(set)
}

// readInto fills set, which it clears first, with the ports of the live
// servers.
func (in *Instances) readInto(set *portSet) error {
	clear(set[:])
	entries, err := os.ReadDir(in.Dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	for _, e := range entries {
		port, err := strconv.ParseUint(e.Name(), 10, 16)
		if err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join(in.Dir, e.Name()))
		if err != nil {
			continue
		}
		pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
		if err != nil || !alive(pid) {
			continue
		}
		set.add(uint16(port))
	}
	return nil
}

// portSet is a set of port numbers, one bit each.
type portSet [65536 / 64]uint64

func (s *portSet) add(p uint16)      { s[p/64] |= 1 << (p % 64) }
func (s *portSet) has(p uint16) bool { return s[p/64]&(1<<(p%64)) != 0 }

// instanceSet is the other servers' ports as last read, kept fresh by a
// goroutine of its own so that the echo never waits on the file system.
type instanceSet struct {
	ports atomic.Pointer[portSet]
	wg    sync.WaitGroup
}

// watchInstances reads in now and then every refreshEvery until ctx ends;
// a nil in gives a set that is always empty.
func watchInstances(ctx context.Context, in *Instances) *instanceSet {
	s := &instanceSet{}
	if in == nil {
		return s
	}
	// The set is read into a scratch copy and published only when it
	// changed: a new 8 KiB set every second would be garbage that an idle
	// server, which allocates nothing else, keeps until a forced GC.
	scratch := &portSet{}
	load := func() {
		if err := in.readInto(scratch); err != nil {
			return
		}
		if cur := s.ports.Load(); cur == nil || *cur != *scratch {
			set := *scratch
			s.ports.Store(&set)
		}
	}
	load()
	s.wg.Go(func() {
		t := time.NewTicker(refreshEvery)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				load()
			}
		}
	})
	return s
}

// has reports whether port is another server's.
func (s *instanceSet) has(port uint16) bool {
	set := s.ports.Load()
	return set != nil && set.has(port)
}

// wait returns once the refreshing goroutine has ended.
func (s *instanceSet) wait() { s.wg.Wait() }
