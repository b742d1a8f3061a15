package probe

import (
	"errors"
	"strings"
	"testing"
	"time"
)

// TestBusyPollElsewhere: where the probe cannot spin, asking for it is an
// error that says so before anything connects.
func TestBusyPollElsewhere(t *testing.T) {
	t.Parallel()
	if canSpin {
		t.Skip("this system busy polls; busypoll_test.go tests it")
	}
	_, err := Run(t.Context(), Target{"tcp", "127.0.0.1", 7, ""}, Options{Count: 1, Size: 64, Timeout: time.Second, BusyPoll: true})
	if !errors.Is(err, errors.ErrUnsupported) || !strings.Contains(err.Error(), "needs a Unix system") {
		t.Errorf("Run with BusyPoll = %v, want an unsupported error", err)
	}
}

// TestReadsSay: the result says which reader each kind of run used.
func TestReadsSay(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		network string
		o       Options
		want    string
	}{
		{"tcp", "tcp", Options{}, readsBlocking},
		{"udp", "udp", Options{}, readsBlocking},
		{"udp on a schedule", "udp", Options{Interval: time.Millisecond}, readsFlow},
		{"busy poll", "tcp", Options{BusyPoll: true}, readsSpinning},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if !canSpin {
				tt.want = readsPoller
				if tt.o.BusyPoll {
					t.Skip("no busy poll here")
				}
			}
			target := serveTCP(t, tcpEcho)
			if tt.network == "udp" {
				target = serveUDP(t, udpEchoWith(nil))
			}
			o := tt.o
			o.Count, o.Size, o.Timeout = 3, 64, 5*time.Second
			r, err := Run(t.Context(), target, o)
			if err != nil {
				t.Fatal(err)
			}
			if !r.OK() || r.Reads != tt.want {
				t.Errorf("ok %v, reads %q; want true, %q", r.OK(), r.Reads, tt.want)
			}
		})
	}
}
