//go:build linux

package diag

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
)

// startOwnerScan starts finding which processes hold which sockets, and
// returns the function that waits for it and fills in socks. Finding them
// means reading every process's fd table, as ss -p and lsof do: the kernel
// has no inode-to-pid index. The scan needs nothing from the socket
// tables, so it runs in a goroutine of its own while they are read, and
// records every socket it sees; both are mostly the kernel's time, which
// two CPUs halve. fill(nil) stops the scan early: nothing to look up.
func startOwnerScan(sys System) (fill func(socks []Socket)) {
	o := &owners{sys: sys, users: users{sys: sys}, procs: make(map[int]procInfo)}
	var stop atomic.Bool
	done := make(chan struct{})
	go func() {
		defer close(done)
		o.scan(&stop)
	}()
	return func(socks []Socket) {
		if len(socks) == 0 {
			stop.Store(true)
		}
		<-done
		for i := range socks {
			o.fill(&socks[i])
		}
	}
}

// readTables returns the sockets q keeps, and where every listener is,
// which tells the sides of those connections. Both describe the network
// namespace of this process, which is the one our own listeners and
// `loopback serve` live in. The running machine is asked over netlink, as
// ss does (see netlink_linux.go); a System with a Root, and a kernel that
// refuses netlink (no inet_diag, or a sandbox), are read from /proc/net.
func readTables(sys System, q query) ([]Socket, listenIndex, error) {
	if sys.Root == nil {
		if socks, listeners, err := netlinkTables(q); err == nil {
			return socks, listeners, nil
		}
	}
	return procTables(sys, q)
}

// procTables parses /proc/net/{tcp,tcp6,udp,udp6}.
func procTables(sys System, q query) ([]Socket, listenIndex, error) {
	root, order := sys.root(), sys.byteOrder()
	var out []Socket
	listeners := make(listenIndex)
	for _, proto := range []string{"tcp", "tcp6", "udp", "udp6"} {
		path := "proc/net/" + proto
		data, err := fs.ReadFile(root, path)
		if errors.Is(err, fs.ErrNotExist) && strings.HasSuffix(proto, "6") {
			continue // a kernel without IPv6
		}
		if err != nil {
			return nil, nil, fmt.Errorf("read /%s: %w", path, err)
		}
		for s := range procNetRows(data, proto, order) {
			if s.Listening() {
				listeners.add(s)
			}
			if q.keep(s) {
				out = append(out, s)
			}
		}
	}
	return out, listeners, nil
}

// readUnix reads the Unix sockets keep wants from /proc/net/unix. Unlike
// TCP and UDP, netlink is not asked: one file is all there is to read.
func readUnix(sys System, keep func(Socket) bool) ([]Socket, error) {
	return unixTable(sys, keep)
}

// procInfo is what diag shows about a process.
type procInfo struct {
	name    string
	cmdline []string
	gone    bool // exited between the fd scan and reading its name
}

// owners maps socket inodes to the processes holding them.
type owners struct {
	sys   System
	users users
	pids  map[uint64][]int // inode -> holders, ascending
	procs map[int]procInfo
	// denied holds the uids of processes whose fds we may not read, so a
	// socket of theirs without a pid can be explained as not visible.
	denied map[uint32]bool
}

// scan walks /proc/*/fd for socket inodes, until stop is set. Processes
// that exit mid-scan are skipped; ones whose fds we may not read are
// remembered so that fill can say why a socket has no pid.
func (o *owners) scan(stop *atomic.Bool) {
	o.pids = make(map[uint64][]int)
	o.denied = make(map[uint32]bool)
	root := o.sys.root()
	fds := fsFDs(root)
	if o.sys.Root == nil {
		fds = liveFDs()
	}
	ents, _ := fs.ReadDir(root, "proc") // no /proc: every socket gets a note
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid <= 0 {
			continue // not a process: /proc/net, /proc/sys, ...
		}
		if stop.Load() {
			return
		}
		// A missing directory means the process exited after /proc was
		// listed.
		err = fds(pid, func(ino uint64) bool {
			// One process's dup'ed fds count once, and they come together.
			if pids := o.pids[ino]; len(pids) == 0 || pids[len(pids)-1] != pid {
				o.pids[ino] = append(pids, pid)
			}
			return !stop.Load()
		})
		if errors.Is(err, fs.ErrPermission) {
			// status stays world-readable when fd/ is not.
			status, _ := fs.ReadFile(root, "proc/"+e.Name()+"/status")
			for _, uid := range statusUIDs(status) {
				o.denied[uid] = true
			}
		}
	}
	// /proc lists names in string order ("10" < "9"); holders go lowest
	// first so that PID is the parent of forked children.
	for _, pids := range o.pids {
		slices.Sort(pids)
	}
}

// fill sets the user, process and note of s from the scan.
func (o *owners) fill(s *Socket) {
	s.User = o.users.name(s.UID)
	pids := o.pids[s.Inode]
	switch {
	case len(pids) > 0:
		s.PID = pids[0]
		if s.Unix() {
			// /proc/net/unix has no owner: the holder's is the best guess.
			s.UID = o.uid(s.PID)
			s.User = o.users.name(s.UID)
		}
		if len(pids) > 1 {
			s.OtherPIDs = pids[1:]
		}
		p := o.process(s.PID)
		s.Process, s.Cmdline = p.name, p.cmdline
		if p.gone {
			s.Note = fmt.Sprintf("pid %d exited during the scan", s.PID)
		}
	case s.Unix():
		s.User = ""
		s.Note = "pid not found: no process this user can see holds it, " +
			"and the kernel's table of Unix sockets names no owner"
	case s.Inode == 0 && s.TimeWait():
		s.Note = timeWaitNote(*s)
	case s.Inode == 0:
		// Orphaned sockets (closed, still sending) belong to no file.
		s.Note = "no process: the kernel keeps this socket until it times out"
	case o.denied[s.UID]:
		s.Note = hiddenNote(*s, o.sys.uid())
	case len(o.denied) > 0:
		s.Note = "pid not found: it exited, or belongs to a process this user can't see"
	default:
		s.Note = "pid not found: the process may have exited during the scan"
	}
}

// uid is the effective uid of pid, from its status; 0 if unreadable.
func (o *owners) uid(pid int) uint32 {
	status, _ := fs.ReadFile(o.sys.root(), "proc/"+strconv.Itoa(pid)+"/status")
	if uids := statusUIDs(status); len(uids) > 1 {
		return uids[1]
	}
	return 0
}

// hiddenNote explains a socket whose owner's fds we may not read, from the
// point of view of the user diag runs as.
func hiddenNote(s Socket, me uint32) string {
	switch me {
	case 0:
		// Root is refused only by non-dumpable processes or a policy
		// (no CAP_SYS_PTRACE in a container, Yama); ss -p sees no more.
		return fmt.Sprintf("pid not visible: owned by %s, but its process hides its fds "+
			"even from root here (not dumpable, or CAP_SYS_PTRACE is missing)", uidText(s))
	case s.UID:
		return fmt.Sprintf("pid not visible: owned by %s, this user, but its process hides "+
			"its fds (setuid or not dumpable); try as root", uidText(s))
	}
	return fmt.Sprintf("pid not visible: owned by %s; run as that user or root", uidText(s))
}

// process reads a process's name and command line once per scan.
func (o *owners) process(pid int) procInfo {
	if p, ok := o.procs[pid]; ok {
		return p
	}
	root, dir := o.sys.root(), "proc/"+strconv.Itoa(pid)+"/"
	var p procInfo
	comm, err := fs.ReadFile(root, dir+"comm")
	p.gone = errors.Is(err, fs.ErrNotExist)
	p.name = strings.TrimSpace(string(comm))
	cmdline, _ := fs.ReadFile(root, dir+"cmdline")
	// Arguments are NUL-terminated; kernel threads and zombies have none.
	if len(cmdline) > 0 {
		for arg := range bytes.SplitSeq(bytes.TrimSuffix(cmdline, []byte{0}), []byte{0}) {
			p.cmdline = append(p.cmdline, string(arg))
		}
	}
	o.procs[pid] = p
	return p
}

// isAddrInUse reports whether err is EADDRINUSE.
func isAddrInUse(err error) bool { return errors.Is(err, syscall.EADDRINUSE) }
