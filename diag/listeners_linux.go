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
	"syscall"
)

// attachOwners finds the processes holding socks. Finding them means
// reading every process's fd table, as ss -p and lsof do: the kernel has no
// inode-to-pid index.
func attachOwners(sys System, socks []Socket) {
	o := owners{sys: sys, users: users{sys: sys}, procs: make(map[int]procInfo)}
	o.scan(socks)
	for i := range socks {
		o.fill(&socks[i])
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
			if q.keep(&s) {
				out = append(out, s)
			}
		}
	}
	return out, listeners, nil
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

// scan walks /proc/*/fd for the inodes of socks. Processes that exit
// mid-scan are skipped; ones whose fds we may not read are remembered so
// that fill can say why a socket has no pid.
func (o *owners) scan(socks []Socket) {
	o.pids = make(map[uint64][]int, len(socks))
	for _, s := range socks {
		if s.Inode != 0 {
			o.pids[s.Inode] = nil
		}
	}
	o.denied = make(map[uint32]bool)
	root := o.sys.root()
	ents, _ := fs.ReadDir(root, "proc") // no /proc: every socket gets a note
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid <= 0 {
			continue // not a process: /proc/net, /proc/sys, ...
		}
		if err := o.scanProcess(root, pid); errors.Is(err, fs.ErrPermission) {
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

// scanProcess records pid as a holder of every wanted inode among its fds.
// A missing directory means the process exited after /proc was listed.
func (o *owners) scanProcess(root fs.FS, pid int) error {
	dir := "proc/" + strconv.Itoa(pid) + "/fd"
	fds, err := fs.ReadDir(root, dir)
	if err != nil {
		return err
	}
	var denied error
	for _, fd := range fds {
		link, err := fs.ReadLink(root, dir+"/"+fd.Name())
		if err != nil {
			// The fd closed since the listing, or the process changed
			// credentials (setuid) and its fds became private.
			if errors.Is(err, fs.ErrPermission) {
				denied = err
			}
			continue
		}
		ino, ok := socketInode(link)
		if !ok {
			continue
		}
		if pids, want := o.pids[ino]; want && !slices.Contains(pids, pid) {
			o.pids[ino] = append(pids, pid)
		}
	}
	return denied
}

// socketInode parses the fd link target "socket:[12345]".
func socketInode(link string) (uint64, bool) {
	s, ok := strings.CutPrefix(link, "socket:[")
	if !ok {
		return 0, false
	}
	s, ok = strings.CutSuffix(s, "]")
	if !ok {
		return 0, false
	}
	ino, err := strconv.ParseUint(s, 10, 64)
	return ino, err == nil
}

// fill sets the user, process and note of s from the scan.
func (o *owners) fill(s *Socket) {
	s.User = o.users.name(s.UID)
	pids := o.pids[s.Inode]
	switch {
	case len(pids) > 0:
		s.PID = pids[0]
		if len(pids) > 1 {
			s.OtherPIDs = pids[1:]
		}
		p := o.process(s.PID)
		s.Process, s.Cmdline = p.name, p.cmdline
		if p.gone {
			s.Note = fmt.Sprintf("pid %d exited during the scan", s.PID)
		}
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
