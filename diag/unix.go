package diag

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"io/fs"
	"iter"
	"path/filepath"
	"strconv"
	"strings"
)

// Unix sockets come from /proc/net/unix, one line per socket:
//
//	Num       RefCount Protocol Flags    Type St Inode Path
//	0000000000000000: 00000002 00000000 00010000 0001 01 34567 /run/app.sock
//
// Flags, Type and St are hex; Inode is decimal; Path is the rest of the
// line, "@name" for an abstract name and missing for an unnamed socket.
// The table has no owner column, so a Unix socket's UID comes from the
// process found holding it. The parser is pure and has no build tag, like
// the one for /proc/net/tcp.

const (
	pathProcNetUnix = "proc/net/unix"

	unixAcceptCon = 0x10000 // __SO_ACCEPTCON: the socket listens
	unixStream    = 1       // SOCK_STREAM
	unixDgram     = 2       // SOCK_DGRAM
)

// Unix reports whether s is a Unix domain socket, whose address is Path
// rather than Local.
func (s Socket) Unix() bool { return s.Proto == "unix" || s.Proto == "unixgram" }

// unixRows yields the sockets of a /proc/net/unix that serve something: the
// listening stream sockets, and the datagram sockets bound to a name.
// Connections (an accepted one repeats its listener's path), unnamed
// sockets and malformed lines are skipped.
func unixRows(data []byte) iter.Seq[Socket] {
	return func(yield func(Socket) bool) {
		for line := range bytes.Lines(data) {
			s, ok := parseUnixLine(line)
			if ok && !yield(s) {
				return
			}
		}
	}
}

func parseUnixLine(line []byte) (Socket, bool) {
	line = bytes.TrimRight(line, "\n")
	var f [7][]byte
	rest := line
	for i := range f {
		rest = bytes.TrimLeft(rest, " ")
		end := bytes.IndexByte(rest, ' ')
		if end < 0 {
			end = len(rest)
		}
		f[i], rest = rest[:end], rest[end:]
	}
	// The path may hold spaces: it is everything after the inode's one.
	path := strings.TrimPrefix(string(rest), " ")
	flags, err1 := strconv.ParseUint(string(f[3]), 16, 32)
	typ, err2 := strconv.ParseUint(string(f[4]), 16, 16)
	inode, err3 := strconv.ParseUint(string(f[6]), 10, 64)
	if err1 != nil || err2 != nil || err3 != nil || path == "" {
		return Socket{}, false // the header, an unnamed socket, or garbage
	}
	switch {
	case typ == unixStream && flags&unixAcceptCon != 0:
		return Socket{Proto: "unix", Path: path, State: "listening", Inode: inode}, true
	case typ == unixDgram:
		return Socket{Proto: "unixgram", Path: path, State: "bound", Inode: inode}, true
	}
	return Socket{}, false
}

// unixTable reads the Unix sockets keep wants from /proc/net/unix.
func unixTable(sys System, keep func(Socket) bool) ([]Socket, error) {
	data, err := fs.ReadFile(sys.root(), pathProcNetUnix)
	if err != nil {
		return nil, fmt.Errorf("read /%s: %w", pathProcNetUnix, err)
	}
	var out []Socket
	for s := range unixRows(data) {
		if keep(s) {
			out = append(out, s)
		}
	}
	return out, nil
}

// IsSocketPath reports whether a `who` argument names a Unix socket rather
// than a port: an absolute path, one relative to here, or an abstract name.
func IsSocketPath(arg string) bool {
	return strings.HasPrefix(arg, "/") || strings.HasPrefix(arg, "./") || strings.HasPrefix(arg, "@")
}

// WhoPath returns the Unix sockets listening or bound at path, an absolute
// or ./relative file name or an @abstract name, with their holders. The
// kernel keeps the name as given to bind, so a relative one is also
// matched by its absolute form. It returns no sockets and no error when
// nothing is bound there.
func WhoPath(path string, sys System) ([]Socket, error) {
	want := map[string]bool{path: true}
	if !strings.HasPrefix(path, "@") {
		want[filepath.Clean(path)] = true
		if abs, err := filepath.Abs(path); err == nil {
			want[abs] = true
		}
	}
	socks, err := sockets(sys, query{noIP: true, unix: func(s Socket) bool {
		return want[s.Path] || !strings.HasPrefix(s.Path, "@") && want[filepath.Clean(s.Path)]
	}})
	if errors.Is(err, errors.ErrUnsupported) {
		return nil, unsupported("lsof -U +c0 | grep "+path, "netstat -ano")
	}
	return socks, err
}

// compareUnix orders Unix sockets by path, then type and inode.
func compareUnix(a, b *Socket) int {
	return cmp.Or(strings.Compare(a.Path, b.Path), strings.Compare(a.Proto, b.Proto), cmp.Compare(a.Inode, b.Inode))
}
