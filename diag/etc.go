package diag

import (
	"bytes"
	"errors"
	"io/fs"
	"iter"
	"slices"
	"strconv"
	"strings"
)

// Service is one entry of /etc/services: a name registered for a port and
// protocol, such as http on 80/tcp.
type Service struct {
	Name    string   `json:"name"`
	Proto   string   `json:"proto"`
	Aliases []string `json:"aliases"` // [] when none, see MarshalJSON
}

// services yields the entries of an /etc/services file with their ports.
// Go's net package can map a name to a port but not a port to a name, so
// diag reads the file itself. Malformed lines are skipped.
func services(data []byte) iter.Seq2[uint16, Service] {
	return func(yield func(uint16, Service) bool) {
		for line := range bytes.Lines(data) {
			port, svc, ok := parseServiceLine(line)
			if ok && !yield(port, svc) {
				return
			}
		}
	}
}

// parseServiceLine parses "name port/proto [aliases...] [# comment]".
func parseServiceLine(line []byte) (uint16, Service, bool) {
	line, _, _ = bytes.Cut(line, []byte("#"))
	f := strings.Fields(string(line))
	if len(f) < 2 {
		return 0, Service{}, false
	}
	num, proto, ok := strings.Cut(f[1], "/")
	port, err := strconv.ParseUint(num, 10, 16)
	if !ok || err != nil || proto == "" {
		return 0, Service{}, false
	}
	svc := Service{Name: f[0], Proto: proto}
	if len(f) > 2 {
		svc.Aliases = f[2:]
	}
	return uint16(port), svc, true
}

// servicesFor returns the entries registered for port, in file order.
func servicesFor(data []byte, port uint16) []Service {
	var out []Service
	for p, svc := range services(data) {
		if p == port {
			out = append(out, svc)
		}
	}
	return out
}

// servicePort returns the port registered under name or one of its
// aliases, so "localhost:http" means port 80.
func servicePort(data []byte, name string) (uint16, bool) {
	for p, svc := range services(data) {
		if svc.Name == name || slices.Contains(svc.Aliases, name) {
			return p, true
		}
	}
	return 0, false
}

// readServices reads /etc/services from sys. A missing file is not an
// error: minimal containers ship without one, and Explain says so.
func readServices(sys System) (data []byte, found bool, err error) {
	data, err = fs.ReadFile(sys.root(), pathServices)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	return data, true, nil
}

// passwdName returns the user name for uid from an /etc/passwd file, or ""
// when it has no entry. Parsing the file rather than calling os/user gives
// the same answer as the static (CGO_ENABLED=0) build, which reads only
// this file too, and lets tests supply their own users.
func passwdName(data []byte, uid uint32) string {
	want := strconv.FormatUint(uint64(uid), 10)
	for line := range bytes.Lines(data) {
		f := strings.SplitN(strings.TrimSpace(string(line)), ":", 4)
		if len(f) >= 3 && f[2] == want && f[0] != "" {
			return f[0]
		}
	}
	return ""
}

// users looks up names for uids, reading /etc/passwd at most once.
type users struct {
	sys   System
	data  []byte
	read  bool
	names map[uint32]string
}

func (u *users) name(uid uint32) string {
	if name, ok := u.names[uid]; ok {
		return name
	}
	if !u.read {
		// A missing or unreadable passwd only costs the names; the uids
		// are still shown.
		u.data, _ = fs.ReadFile(u.sys.root(), pathPasswd)
		u.read = true
		u.names = make(map[uint32]string)
	}
	name := passwdName(u.data, uid)
	u.names[uid] = name
	return name
}
