//go:build unix

package probe

import (
	"context"
	"testing"
	"time"
)

func TestBusyPollMeasuresLikeThePoller(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name   string
		target Target
	}{
		{"tcp", serveTCP(t, tcpEcho)},
		{"udp", serveUDP(t, udpEchoWith(nil))},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r, err := Run(t.Context(), tt.target, Options{Count: 300, Size: 64, Timeout: 5 * time.Second, BusyPoll: true})
			if err != nil {
				t.Fatal(err)
			}
			if !r.OK() || r.Received != 300 || !r.BusyPoll {
				t.Errorf("ok %v, received %d, busy poll %v; want 300 intact by busy polling", r.OK(), r.Received, r.BusyPoll)
			}
			checkOrdered(t, r)
		})
	}
}

// TestBusyPollStopsWhenInterrupted: a spinning read never parks, so it must
// notice the cancellation itself.
func TestBusyPollStopsWhenInterrupted(t *testing.T) {
	t.Parallel()
	replied := make(chan struct{})
	target := serveTCP(t, tcpEchoWith(64, func(seq uint64, _ []byte) bool {
		if seq == 5 {
			close(replied)
			return false // withhold this reply and every later one
		}
		return true
	}))
	ctx, cancel := context.WithCancel(t.Context())
	go func() { <-replied; cancel() }()
	r, err := Run(ctx, target, Options{Count: 100, Size: 64, Timeout: time.Minute, BusyPoll: true})
	if err != nil {
		t.Fatal(err)
	}
	if !r.Interrupted || r.Received != 5 {
		t.Errorf("interrupted %v, received %d; want an interruption after 5 replies", r.Interrupted, r.Received)
	}
}
