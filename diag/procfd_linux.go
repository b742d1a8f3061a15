//go:build linux

package diag

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io/fs"
	"math"
	"strconv"
	"syscall"
	"unsafe"
)

// Finding who holds a socket means reading where every fd of every
// process points, 10,000 readlink(2)s for one busy server; ss -p does the
// same. On the running machine diag reads them with raw system calls:
// readlinkat relative to the open /proc/PID/fd directory, so the kernel
// looks up one name rather than walking /proc/PID/fd/N from the root
// (a third less kernel time per fd), and getdents into one reused buffer,
// with nothing allocated per fd. Recorded trees go through fs.FS instead.

// fdScanner calls found with the inode of each socket among pid's fds,
// until found returns false. Its error is the directory's, or
// fs.ErrPermission if some fd could not be read.
type fdScanner func(pid int, found func(inode uint64) bool) error

// fsFDs reads pid's fds from a tree through fs.FS.
func fsFDs(root fs.FS) fdScanner {
	return func(pid int, found func(uint64) bool) error {
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
			if ino, ok := socketInode([]byte(link)); ok && !found(ino) {
				break
			}
		}
		return denied
	}
}

// liveFDs reads pid's fds from the running machine's /proc.
func liveFDs() fdScanner {
	dirents := make([]byte, 64<<10)
	var link [64]byte // "socket:[4294967295]" fits; longer targets are not sockets
	return func(pid int, found func(uint64) bool) error {
		dir := "/proc/" + strconv.Itoa(pid) + "/fd"
		dfd, err := syscall.Open(dir, syscall.O_RDONLY|syscall.O_DIRECTORY|syscall.O_CLOEXEC, 0)
		if err != nil {
			return &fs.PathError{Op: "open", Path: dir, Err: err}
		}
		defer syscall.Close(dfd)
		var denied error
		for {
			n, err := syscall.Getdents(dfd, dirents)
			if err == syscall.EINTR {
				continue
			}
			if err != nil {
				return &fs.PathError{Op: "getdents", Path: dir, Err: err}
			}
			if n <= 0 {
				return denied
			}
			// struct linux_dirent64: inode, offset, record length, type,
			// then the name, NUL-terminated, which readlinkat takes as is.
			for b := dirents[:n]; len(b) > 19; {
				reclen := int(binary.NativeEndian.Uint16(b[16:]))
				if reclen <= 19 || reclen > len(b) || bytes.IndexByte(b[19:reclen], 0) < 0 {
					break
				}
				if name := b[19:reclen]; name[0] != '.' {
					m, _, errno := syscall.Syscall6(syscall.SYS_READLINKAT, uintptr(dfd),
						uintptr(unsafe.Pointer(&name[0])), uintptr(unsafe.Pointer(&link[0])), uintptr(len(link)), 0, 0)
					switch {
					case errno == syscall.EACCES || errno == syscall.EPERM:
						denied = &fs.PathError{Op: "readlinkat", Path: dir, Err: errno}
					case errno == 0 && int(m) < len(link):
						if ino, ok := socketInode(link[:m]); ok && !found(ino) {
							return denied
						}
					}
				}
				b = b[reclen:]
			}
		}
	}
}

// socketInode parses the fd link target "socket:[12345]".
func socketInode(link []byte) (uint64, bool) {
	s, ok := bytes.CutPrefix(link, []byte("socket:["))
	if !ok {
		return 0, false
	}
	s, ok = bytes.CutSuffix(s, []byte("]"))
	if !ok || len(s) == 0 || len(s) > 20 {
		return 0, false
	}
	var ino uint64
	for _, c := range s {
		d := uint64(c - '0')
		if c < '0' || c > '9' || ino > (math.MaxUint64-d)/10 {
			return 0, false
		}
		ino = ino*10 + d
	}
	return ino, true
}
