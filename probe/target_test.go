package probe

import (
	"runtime"
	"strings"
	"testing"
)

func TestParseTarget(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in      string
		want    Target
		wantErr string
	}{
		{in: "tcp://127.0.0.1:7", want: Target{"tcp", "127.0.0.1", 7, ""}},
		{in: "udp://127.0.0.1:7", want: Target{"udp", "127.0.0.1", 7, ""}},
		{in: "127.0.0.1:7007", want: Target{"tcp", "127.0.0.1", 7007, ""}},
		{in: "UDP://localhost:65535", want: Target{"udp", "localhost", 65535, ""}},
		{in: "udp://[::1]:7", want: Target{"udp", "::1", 7, ""}},
		{in: "[fe80::1%eth0]:7", want: Target{"tcp", "fe80::1%eth0", 7, ""}},
		{in: "tcp://echo.example.com.:7", want: Target{"tcp", "echo.example.com.", 7, ""}},
		{in: "unix:///tmp/echo.sock", want: Target{Network: "unix", Path: "/tmp/echo.sock"}},
		{in: "UNIXGRAM:///tmp/echo.dgram", want: Target{Network: "unixgram", Path: "/tmp/echo.dgram"}},
		{in: "unix://echo.sock", want: Target{Network: "unix", Path: "echo.sock"}},

		{in: "ftp://x:1", wantErr: `target "ftp://x:1": scheme must be tcp://, udp://, unix:// or unixgram://`},
		{in: "://x:1", wantErr: `target "://x:1": scheme must be tcp://, udp://, unix:// or unixgram://`},
		{in: "unix://", wantErr: `target "unix://": missing path (e.g. unix:///tmp/echo.sock)`},
		{in: "unixgram://@", wantErr: `target "unixgram://@": missing path (e.g. unixgram:///tmp/echo.sock)`},
		{in: "/tmp/echo.sock", wantErr: `target "/tmp/echo.sock": a Unix socket needs its scheme: unix:///tmp/echo.sock or unixgram:///tmp/echo.sock`},
		{in: "localhost", wantErr: `target "localhost": missing port (e.g. tcp://127.0.0.1:7)`},
		{in: "localhost:", wantErr: `target "localhost:": missing port (e.g. tcp://127.0.0.1:7)`},
		{in: "udp://[::1]", wantErr: `target "udp://[::1]": missing port (e.g. tcp://127.0.0.1:7)`},
		{in: "tcp://", wantErr: `target "tcp://": missing host and port (e.g. tcp://127.0.0.1:7)`},
		{in: "tcp://:7", wantErr: `target "tcp://:7": missing host (e.g. tcp://127.0.0.1:7)`},
		{in: "h:99999", wantErr: `target "h:99999": port must be a number 1-65535`},
		{in: "h:-1", wantErr: `target "h:-1": port must be a number 1-65535`},
		{in: "h:echo", wantErr: `target "h:echo": port must be a number 1-65535`},
		{in: "h:0", wantErr: `target "h:0": port 0 cannot be probed: nothing listens on port 0`},
		{in: "::1", wantErr: `target "::1": IPv6 addresses need brackets and a port, e.g. udp://[::1]:7`},
		{in: "fe80::1:x", wantErr: `target "fe80::1:x": IPv6 addresses need brackets, e.g. tcp://[::1]:7`},
		{in: "tcp://a b:7", wantErr: `target "tcp://a b:7": host "a b" is neither an IP address nor a host name`},
		{in: "tcp://h/x:7", wantErr: `target "tcp://h/x:7": host "h/x" is neither an IP address nor a host name`},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseTarget(tt.in)
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr {
					t.Fatalf("ParseTarget(%q) error = %v, want %q", tt.in, err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("ParseTarget(%q) = %+v, %v; want %+v", tt.in, got, err, tt.want)
			}
		})
	}
}

// TestParseAbstractName: an abstract name (@name) is Linux's; elsewhere
// it would be a file called @name, so it is refused.
func TestParseAbstractName(t *testing.T) {
	t.Parallel()
	got, err := ParseTarget("unix://@echo")
	if runtime.GOOS != "linux" {
		if err == nil || !strings.Contains(err.Error(), "are Linux's") {
			t.Errorf("ParseTarget(unix://@echo) = %+v, %v; want refused off Linux", got, err)
		}
		return
	}
	if want := (Target{Network: "unix", Path: "@echo"}); err != nil || got != want {
		t.Errorf("ParseTarget(unix://@echo) = %+v, %v; want %+v", got, err, want)
	}
}

func TestTargetString(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   Target
		want string
	}{
		{Target{"tcp", "127.0.0.1", 7, ""}, "tcp://127.0.0.1:7"},
		{Target{"udp", "::1", 7, ""}, "udp://[::1]:7"},
		{Target{"tcp", "localhost", 65535, ""}, "tcp://localhost:65535"},
		{Target{Network: "unix", Path: "/run/echo.sock"}, "unix:///run/echo.sock"},
		{Target{Network: "unixgram", Path: "@echo"}, "unixgram://@echo"},
	}
	for _, tt := range tests {
		if got := tt.in.String(); got != tt.want {
			t.Errorf("%+v.String() = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// FuzzParseTarget checks that ParseTarget never panics, and that whatever
// it accepts prints as a URL that parses back to the same Target.
func FuzzParseTarget(f *testing.F) {
	for _, s := range []string{"tcp://127.0.0.1:7", "udp://[::1]:7", "h:1", "[fe80::1%eth0]:7", "ftp://x", ":", "unix:///a", "unixgram://@b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := ParseTarget(s)
		if err != nil {
			return
		}
		again, err := ParseTarget(got.String())
		if err != nil || again != got {
			t.Fatalf("ParseTarget(%q) = %+v, whose String %q parses to %+v, %v", s, got, got.String(), again, err)
		}
	})
}
