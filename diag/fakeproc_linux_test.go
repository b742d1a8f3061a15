package diag

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io/fs"
	"net"
	"net/netip"
	"os"
	"slices"
	"strings"
	"syscall"
	"testing"
)

// The fake machine (testdata/root-*/): socat (pid 100, child 105) on 7007
// over tcp, tcp6 and udp6, with one accepted connection from alice's nc
// (pid 300); sshd on 0.0.0.0:22; nginx (700, worker 701) on [::]:80;
// bob's python3 (400) on 192.168.1.10:8443; avahi (500) on
// 127.0.0.1:5353/udp; dhclient (600) on 0.0.0.0:68 and [fe80::1]:546; a
// connected UDP socket of uid 1002 with no process; and four connections
// in TIME_WAIT: a client's of 7007 (41000), the server's end of another on
// 7007 (from 41372), one between two ports nothing listens on (39000 to
// 9999), and a client's of a web server on another machine (203.0.113.5:443).
const (
	socat   = `pid=100 also=[105] socat ["socat" "-d" "-d" "TCP-LISTEN:7007,fork" "PIPE"]`
	socat1  = `pid=100 socat ["socat" "-d" "-d" "TCP-LISTEN:7007,fork" "PIPE"]`
	child   = `pid=105 socat ["socat" "-d" "-d" "TCP-LISTEN:7007,fork" "PIPE"]`
	nc      = `pid=300 nc ["nc" "127.0.0.1" "7007"]`
	unseen  = `pid=0 note=pid not visible: owned by uid 1000 (alice); run as that user or root`
	exited  = `pid=0 note=pid not found: the process may have exited during the scan`
	maybe   = `pid=0 note=pid not found: it exited, or belongs to a process this user can't see`
	python  = `pid=400 python3 ["python3" "-m" "http.server" "8443" "--bind" "192.168.1.10"]`
	avahi   = `pid=500 avahi-daemon ["avahi-daemon: running [vm.local]"]`
	gone500 = `pid=500 note=pid 500 exited during the scan`

	twDone   = ": this end closed first, so the kernel keeps the connection for 60 s; no process holds it"
	twClient = "tcp 127.0.0.1:41000 127.0.0.1:7007 time-wait uid=0(root) side=client pid=0 " +
		"note=TIME_WAIT, client side (the other end's port 7007 listens here)" + twDone
	twServer = "tcp 127.0.0.1:7007 127.0.0.1:41372 time-wait uid=0(root) side=server pid=0 " +
		"note=TIME_WAIT, server side (its port 7007 listens here)" + twDone
	twNeither = "tcp 127.0.0.1:39000 127.0.0.1:9999 time-wait uid=0(root) pid=0 " +
		"note=TIME_WAIT, side unknown (neither port listens here now)" + twDone
	twRemote   = "tcp 192.168.1.10:45000 203.0.113.5:443 time-wait uid=0(root)"
	twNote     = " pid=0 note=TIME_WAIT, side unknown (neither port listens here now)" + twDone
	unixDevLog = `unixgram "/run/systemd/journal/dev-log" bound uid=0() pid=0 note=pid not found: ` +
		"no process this user can see holds it, and the kernel's table of Unix sockets names no owner"
	twAsked = " side=client pid=0 note=TIME_WAIT, client side (connected to port 443, the port asked about, " +
		"from one nothing here listens on)" + twDone
)

// Faults a tree on disk can't hold; see faultFS.
var (
	deny300  = map[string]error{"proc/300/fd": fs.ErrPermission}
	exit400  = map[string]error{"proc/400": fs.ErrNotExist}
	exit500  = map[string]error{"proc/500/comm": fs.ErrNotExist, "proc/500/cmdline": fs.ErrNotExist}
	denyRead = map[string]error{"proc/100/fd/3": fs.ErrPermission, "proc/300/fd": fs.ErrPermission}
)

func TestWhoFakeTree(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		port   uint16
		faults map[string]error
		want   []string
	}{
		{"listeners, connections and clients", 7007, nil, []string{
			"tcp 127.0.0.1:7007 0.0.0.0:0 listening uid=0(root) " + socat,
			"tcp 127.0.0.1:7007 127.0.0.1:41234 established uid=0(root) side=server " + child,
			twServer,
			"tcp6 [::1]:7007 [::]:0 listening uid=0(root) " + socat1,
			"udp6 [::1]:7007 [::]:0 bound uid=0(root) " + socat1,
			// Then the connections whose remote port is 7007.
			twClient,
			"tcp 127.0.0.1:41234 127.0.0.1:7007 established uid=1000(alice) side=client " + nc,
		}},
		{"client side", 41234, nil, []string{
			"tcp 127.0.0.1:41234 127.0.0.1:7007 established uid=1000(alice) side=client " + nc,
			"tcp 127.0.0.1:7007 127.0.0.1:41234 established uid=0(root) side=server " + child,
		}},
		{"permission denied fds", 41234, deny300, []string{
			"tcp 127.0.0.1:41234 127.0.0.1:7007 established uid=1000(alice) side=client " + unseen,
			"tcp 127.0.0.1:7007 127.0.0.1:41234 established uid=0(root) side=server " + child,
		}},
		{"one unreadable fd", 7007, denyRead, []string{
			// 105 holds the listener too, so the scan still finds it.
			"tcp 127.0.0.1:7007 0.0.0.0:0 listening uid=0(root) " + child,
			"tcp 127.0.0.1:7007 127.0.0.1:41234 established uid=0(root) side=server " + child,
			twServer,
			"tcp6 [::1]:7007 [::]:0 listening uid=0(root) " + socat1,
			"udp6 [::1]:7007 [::]:0 bound uid=0(root) " + socat1,
			twClient,
			"tcp 127.0.0.1:41234 127.0.0.1:7007 established uid=1000(alice) side=client " + unseen,
		}},
		{"time-wait, client side", 41000, nil, []string{twClient}},
		{"time-wait, server side", 41372, nil, []string{twServer}},
		{"time-wait, neither port listens", 39000, nil, []string{twNeither}},
		{"time-wait, client of the port asked about", 9999, nil, []string{
			"tcp 127.0.0.1:39000 127.0.0.1:9999 time-wait uid=0(root) side=client pid=0 note=TIME_WAIT, " +
				"client side (connected to port 9999, the port asked about, from one nothing here listens on)" + twDone,
		}},
		{"time-wait, client of a server elsewhere", 443, nil, []string{twRemote + twAsked}},
		{"time-wait, from the port asked about", 45000, nil, []string{twRemote + twNote}},
		{"no holder, no name", 40000, nil, []string{"udp 127.0.0.1:40000 127.0.0.53:53 connected uid=1002() " + exited}},
		{"no holder, some hidden", 40000, deny300, []string{"udp 127.0.0.1:40000 127.0.0.53:53 connected uid=1002() " + maybe}},
		{"exits before its fds are read", 8443, exit400, []string{"tcp 192.168.1.10:8443 0.0.0.0:0 listening uid=1001(bob) " + exited}},
		{"exits after its fds are read", 5353, exit500, []string{"udp 127.0.0.1:5353 0.0.0.0:0 bound uid=0(root) " + gone500}},
		{"dup'ed fds count once", 80, nil, []string{
			`tcp6 [::]:80 [::]:0 listening uid=33(www-data) pid=700 also=[701] nginx ["nginx: master process /usr/sbin/nginx"]`,
			`tcp6 [::ffff:127.0.0.1]:80 [::ffff:127.0.0.1]:50000 established uid=33(www-data) side=server pid=701 nginx ["nginx: worker process"]`,
		}},
		{"nothing", 9, nil, nil},
	}
	for _, tree := range trees {
		for _, tt := range tests {
			t.Run(tree.name+"/"+tt.name, func(t *testing.T) {
				t.Parallel()
				got, err := Who(tt.port, fakeSystem(tree.name, tree.order, tt.faults))
				if err != nil {
					t.Fatalf("Who(%d): %v", tt.port, err)
				}
				if !slices.Equal(rows(got), tt.want) {
					t.Errorf("Who(%d) =\n%s\nwant\n%s", tt.port, strings.Join(rows(got), "\n"), strings.Join(tt.want, "\n"))
				}
			})
		}
	}
}

func TestHiddenNote(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		as   uint32
		want string
	}{
		{fakeUID, unseen},
		{0, "pid=0 note=pid not visible: owned by uid 1000 (alice), but its process hides its fds even from root here (not dumpable, or CAP_SYS_PTRACE is missing)"},
		{1000, "pid=0 note=pid not visible: owned by uid 1000 (alice), this user, but its process hides its fds (setuid or not dumpable); try as root"},
	} {
		sys := fakeSystem("root-le", nil, deny300)
		sys.asUID = &tt.as
		got, err := Who(41234, sys)
		if err != nil {
			t.Fatal(err)
		}
		want := "tcp 127.0.0.1:41234 127.0.0.1:7007 established uid=1000(alice) " +
			"side=client " + tt.want
		if len(got) != 2 || row(got[0]) != want {
			t.Errorf("as uid %d: Who(41234) = %q, want %q", tt.as, rows(got), want)
		}
	}
}

func TestPortsFakeTree(t *testing.T) {
	t.Parallel()
	loopback := []string{
		`tcp 0.0.0.0:22 0.0.0.0:0 listening uid=0(root) pid=200 sshd ["sshd: /usr/sbin/sshd -D [listener] 0 of 10-100 startups"]`,
		`udp 0.0.0.0:68 0.0.0.0:0 bound uid=0(root) pid=600 dhclient ["dhclient" "-6" "eth0"]`,
		`tcp6 [::]:80 [::]:0 listening uid=33(www-data) pid=700 also=[701] nginx ["nginx: master process /usr/sbin/nginx"]`,
		"udp 127.0.0.1:5353 0.0.0.0:0 bound uid=0(root) " + avahi,
		"tcp 127.0.0.1:7007 0.0.0.0:0 listening uid=0(root) " + socat,
		"tcp6 [::1]:7007 [::]:0 listening uid=0(root) " + socat1,
		"udp6 [::1]:7007 [::]:0 bound uid=0(root) " + socat1,
	}
	unix := []string{
		`unix "/run/avahi-daemon/socket" listening uid=0(root) ` + avahi,
		unixDevLog,
		`unix "/tmp/my app.sock" listening uid=1001(bob) ` + python,
		`unix "@nginx-ctl" listening uid=0(root) pid=700 nginx ["nginx: master process /usr/sbin/nginx"]`,
	}
	// --all adds the listeners on other addresses and TIME_WAIT.
	all := slices.Insert(slices.Clone(loopback), 3,
		`udp6 [fe80::1]:546 [::]:0 bound uid=0(root) pid=600 dhclient ["dhclient" "-6" "eth0"]`)
	all = slices.Insert(all, 6, twServer)
	all = append(all, "tcp 192.168.1.10:8443 0.0.0.0:0 listening uid=1001(bob) "+python,
		twNeither, twClient, twRemote+twNote)
	loopback, all = append(loopback, unix...), append(all, unix...)
	for _, tree := range trees {
		for _, tt := range []struct {
			all  bool
			want []string
		}{{false, loopback}, {true, all}} {
			got, err := Ports(tt.all, fakeSystem(tree.name, tree.order, nil))
			if err != nil {
				t.Fatalf("%s: Ports(%v): %v", tree.name, tt.all, err)
			}
			if !slices.Equal(rows(got), tt.want) {
				t.Errorf("%s: Ports(%v) =\n%s\nwant\n%s", tree.name, tt.all,
					strings.Join(rows(got), "\n"), strings.Join(tt.want, "\n"))
			}
		}
	}
}

func TestWhoPathFakeTree(t *testing.T) {
	t.Parallel()
	sys := fakeSystem("root-le", nil, nil)
	tests := []struct {
		path string
		want []string
	}{
		{"/run/avahi-daemon/socket", []string{`unix "/run/avahi-daemon/socket" listening uid=0(root) ` + avahi}},
		{"/run/avahi-daemon//socket", []string{`unix "/run/avahi-daemon/socket" listening uid=0(root) ` + avahi}},
		{"/run/systemd/journal/dev-log", []string{unixDevLog}},
		{"@nginx-ctl", []string{`unix "@nginx-ctl" listening uid=0(root) pid=700 nginx ["nginx: master process /usr/sbin/nginx"]`}},
		{"/run/seqpacket.sock", []string{}},
		{"@nope", []string{}},
	}
	for _, tt := range tests {
		got, err := WhoPath(tt.path, sys)
		if err != nil {
			t.Fatalf("WhoPath(%q): %v", tt.path, err)
		}
		if !slices.Equal(rows(got), tt.want) {
			t.Errorf("WhoPath(%q) =\n%s\nwant\n%s", tt.path, strings.Join(rows(got), "\n"), strings.Join(tt.want, "\n"))
		}
	}
	// who PATH needs the file; ports does without it.
	noUnix := fakeSystem("root-le", nil, map[string]error{"proc/net/unix": fs.ErrNotExist})
	if _, err := WhoPath("/x", noUnix); err == nil || !strings.Contains(err.Error(), "/proc/net/unix") {
		t.Errorf("WhoPath without /proc/net/unix = %v, want an error naming it", err)
	}
	if got, err := Ports(false, noUnix); err != nil || len(got) != 7 {
		t.Errorf("Ports without /proc/net/unix = %d sockets, %v; want the 7 TCP and UDP ones", len(got), err)
	}
}

func TestSocketsErrors(t *testing.T) {
	t.Parallel()
	if _, err := Who(0, System{}); err == nil {
		t.Error("Who(0) succeeded, want an error")
	}
	empty := System{Root: os.DirFS(t.TempDir())}
	if _, err := Ports(true, empty); err == nil || !strings.Contains(err.Error(), "/proc/net/tcp") {
		t.Errorf("Ports without /proc = %v, want an error naming /proc/net/tcp", err)
	}
	// A kernel without IPv6 has no tcp6 or udp6: not an error.
	sys := fakeSystem("root-le", nil, map[string]error{"proc/net/tcp6": fs.ErrNotExist, "proc/net/udp6": fs.ErrNotExist})
	if got, err := Who(7007, sys); err != nil || len(got) != 5 {
		t.Errorf("Who(7007) without IPv6 = %d sockets, %v; want the 5 in tcp, nil", len(got), err)
	}
}

func TestHolder(t *testing.T) {
	t.Parallel()
	sys := fakeSystem("root-le", nil, nil)
	denied := fakeSystem("root-le", nil, deny300)
	tests := []struct {
		network string
		port    uint16
		sys     System
		want    string
	}{
		{"tcp", 7007, sys, "held by pid 100 (socat) as tcp 127.0.0.1:7007 and pid 100 (socat) as tcp6 [::1]:7007"},
		{"tcp4", 22, sys, "held by pid 200 (sshd) as tcp 0.0.0.0:22"},
		{"udp", 7007, sys, "held by pid 100 (socat) as udp6 [::1]:7007"},
		{"tcp", 41234, denied, "held by uid 1000 (alice) as tcp 127.0.0.1:41234 (pid not visible)"},
		{"tcp", 41000, sys, ""}, // time-wait holds nothing a bind needs
		{"udp", 22, sys, ""},
		{"tcp", 9, sys, ""},
	}
	for _, tt := range tests {
		if got := Holder(tt.network, tt.port, tt.sys); got != tt.want {
			t.Errorf("Holder(%q, %d) = %q, want %q", tt.network, tt.port, got, tt.want)
		}
	}
}

func TestBindHint(t *testing.T) {
	t.Parallel()
	sys := fakeSystem("root-le", nil, nil)
	bindErr := func(port uint16, errno error) error {
		return &net.OpError{Op: "listen", Net: "tcp", Addr: net.TCPAddrFromAddrPort(
			netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), port)),
			Err: os.NewSyscallError("bind", errno)}
	}
	tests := []struct {
		err  error
		port uint16
		sys  System
		want string
	}{
		{bindErr(7007, syscall.EADDRINUSE), 7007, sys, "port 7007 is already in use, held by pid 100 (socat) as tcp 127.0.0.1:7007 and pid 100 (socat) as tcp6 [::1]:7007; stop it or pick another port (0 lets the kernel choose)"},
		{bindErr(9, syscall.EADDRINUSE), 9, sys, "port 9 is already in use, but nothing holds it now; try again, or pick another port (0 lets the kernel choose)"},
		{bindErr(80, syscall.EACCES), 80, sys, "ports below 1024 need root or CAP_NET_BIND_SERVICE on this machine (net.ipv4.ip_unprivileged_port_start=1024); pick a port >= 1024, or 0 to let the kernel choose"},
		{bindErr(8080, syscall.EACCES), 8080, sys, "port 8080 is not privileged here (net.ipv4.ip_unprivileged_port_start=1024), so a security policy (SELinux, AppArmor, seccomp or a container runtime) refused it"},
		{bindErr(80, syscall.EACCES), 80, System{Root: os.DirFS(t.TempDir())}, "ports below 1024 usually need root; pick a port >= 1024, or 0 to let the kernel choose (port 80 was refused)"},
		{bindErr(80, syscall.EINVAL), 80, sys, ""},
		{errors.New("other"), 80, sys, ""},
		{nil, 80, sys, ""},
	}
	for _, tt := range tests {
		if got := BindHint(tt.err, "tcp", tt.port, tt.sys); got != tt.want {
			t.Errorf("BindHint(%v) =\n%q\nwant\n%q", tt.err, got, tt.want)
		}
	}
}

func TestWriteSockets(t *testing.T) {
	t.Parallel()
	socks, err := Ports(true, fakeSystem("root-be", binary.BigEndian, deny300))
	if err != nil {
		t.Fatal(err)
	}
	more, err := Who(41234, fakeSystem("root-be", binary.BigEndian, deny300))
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := WriteSockets(&b, append(socks, more...)); err != nil {
		t.Fatal(err)
	}
	golden(t, "sockets.golden", b.String())
}
