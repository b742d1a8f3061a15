package main

import (
	"io"
	"net"
	"slices"
	"testing"
	"time"
)

// TestNagleAndDelayedACK: against a server that answers only whole
// messages, a client that sends each message in two writes with Nagle's
// algorithm on waits for the server's delayed ACK before its second write
// leaves (about 40 ms on Linux); with TCP_NODELAY it does not. Medians,
// compared with each other rather than with a fixed time.
func TestNagleAndDelayedACK(t *testing.T) {
	t.Parallel()
	s := startServe(t, 1, "--proto", "tcp", "--message-size", "64")
	nagle := splitRoundTrips(t, s.tcp[len("tcp://"):], false)
	nodelay := splitRoundTrips(t, s.tcp[len("tcp://"):], true)
	t.Logf("median round trip: %v with Nagle, %v with TCP_NODELAY", nagle, nodelay)
	if nagle < 10*nodelay {
		t.Errorf("median round trip %v with Nagle, %v without; want the stall at least 10 times as long", nagle, nodelay)
	}
}

// splitRoundTrips sends 64-byte messages in two writes of 32 and returns
// the median round trip.
func splitRoundTrips(t *testing.T, addr string, nodelay bool) time.Duration {
	t.Helper()
	nc, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	c := nc.(*net.TCPConn)
	defer c.Close()
	c.SetNoDelay(nodelay)
	c.SetDeadline(time.Now().Add(cliTimeout))
	msg, got := make([]byte, 64), make([]byte, 64)
	var rtts []time.Duration
	// The first round trips ride on the kernel's quick ACKs of a new
	// connection; the delayed ACK shows in the rest.
	for range 30 {
		start := time.Now()
		c.Write(msg[:32])
		c.Write(msg[32:])
		if _, err := io.ReadFull(c, got); err != nil {
			t.Fatal(err)
		}
		rtts = append(rtts, time.Since(start))
	}
	slices.Sort(rtts)
	return rtts[len(rtts)/2]
}
