package loopbacktest_test

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/loopback-dev/loopback/loopbacktest"
)

// A test of a client's timeout: the server holds every echo for longer
// than the client waits.
func ExampleEcho() {
	testClientTimesOut := func(t *testing.T) {
		srv := loopbacktest.Echo(t, loopbacktest.Delay(time.Second))
		conn, err := net.Dial(srv.Network(), srv.Addr())
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		conn.SetDeadline(time.Now().Add(100 * time.Millisecond))
		conn.Write([]byte("ping"))
		if _, err := conn.Read(make([]byte, 4)); !errors.Is(err, os.ErrDeadlineExceeded) {
			t.Errorf("read = %v, want a timeout", err)
		}
	}
	_ = testClientTimesOut
}

// A server that resets each connection after 5 bytes, as a crashed peer
// would, and what the client sees.
func ExampleNew() {
	srv, err := loopbacktest.New(loopbacktest.ResetAfter(5))
	if err != nil {
		panic(err)
	}
	conn, err := net.Dial(srv.Network(), srv.Addr())
	if err != nil {
		panic(err)
	}
	conn.Write([]byte("hello, world"))
	got, err := io.ReadAll(conn)
	fmt.Printf("%q, reset: %v\n", got, errors.Is(err, syscall.ECONNRESET))
	conn.Close()
	srv.Close()
	fmt.Println("connections reset:", srv.Stats().TCP.Reset)
	// Output:
	// "hello", reset: true
	// connections reset: 1
}
