package loopbacktest_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"os"
	"syscall"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/loopback-dev/loopback/loopbacktest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// dial connects to srv with a deadline, so a bug fails in seconds.
func dial(t *testing.T, srv *loopbacktest.Server) net.Conn {
	t.Helper()
	c, err := net.DialTimeout(srv.Network(), srv.Addr(), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(10 * time.Second))
	return c
}

func TestAPlainEchoOverEachTransport(t *testing.T) {
	for _, srv := range []*loopbacktest.Server{
		loopbacktest.Echo(t), loopbacktest.EchoUDP(t), loopbacktest.EchoUnix(t),
	} {
		c := dial(t, srv)
		if _, err := c.Write([]byte("echo?")); err != nil {
			t.Fatal(err)
		}
		got := make([]byte, 5)
		if _, err := io.ReadFull(c, got); err != nil || string(got) != "echo?" {
			t.Errorf("%s %s: echo = %q, %v", srv.Network(), srv.Addr(), got, err)
		}
	}
}

// Each fault, as a plain client meets it.
func TestEachFaultAsAClientSeesIt(t *testing.T) {
	t.Parallel()
	t.Run("delay", func(t *testing.T) {
		t.Parallel()
		c := dial(t, loopbacktest.Echo(t, loopbacktest.Delay(100*time.Millisecond)))
		start := time.Now()
		c.Write([]byte("x"))
		io.ReadFull(c, make([]byte, 1))
		if d := time.Since(start); d < 100*time.Millisecond || d > 400*time.Millisecond {
			t.Errorf("echo after %v; want about 100ms", d)
		}
	})
	t.Run("reset after", func(t *testing.T) {
		t.Parallel()
		srv := loopbacktest.Echo(t, loopbacktest.ResetAfter(4))
		c := dial(t, srv)
		c.Write([]byte("12345678"))
		got, err := io.ReadAll(c)
		if string(got) != "1234" || !errors.Is(err, syscall.ECONNRESET) {
			t.Errorf("read %q, %v; want \"1234\" and ECONNRESET", got, err)
		}
	})
	t.Run("close after", func(t *testing.T) {
		t.Parallel()
		c := dial(t, loopbacktest.Echo(t, loopbacktest.CloseAfter(4)))
		c.Write([]byte("12345678"))
		if got, err := io.ReadAll(c); string(got) != "1234" || err != nil {
			t.Errorf("read %q, %v; want \"1234\" and the end of the stream", got, err)
		}
	})
	t.Run("stall after", func(t *testing.T) {
		t.Parallel()
		c := dial(t, loopbacktest.Echo(t, loopbacktest.StallAfter(1)))
		c.SetWriteDeadline(time.Now().Add(300 * time.Millisecond))
		big := make([]byte, 64<<20)
		if _, err := c.Write(big); !errors.Is(err, os.ErrDeadlineExceeded) {
			t.Errorf("write = %v; want it blocked until the deadline", err)
		}
	})
	t.Run("refuse", func(t *testing.T) {
		t.Parallel()
		c := dial(t, loopbacktest.Echo(t, loopbacktest.Refuse()))
		if n, err := c.Read(make([]byte, 1)); n != 0 || err == nil {
			t.Errorf("read = %d, %v; want the connection closed", n, err)
		}
	})
	t.Run("no reply", func(t *testing.T) {
		t.Parallel()
		c := dial(t, loopbacktest.Echo(t, loopbacktest.NoReply()))
		c.Write([]byte("hello?"))
		c.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
		if _, err := c.Read(make([]byte, 6)); !errors.Is(err, os.ErrDeadlineExceeded) {
			t.Errorf("read = %v; want no answer", err)
		}
	})
	t.Run("bandwidth", func(t *testing.T) {
		t.Parallel()
		c := dial(t, loopbacktest.Echo(t, loopbacktest.Bandwidth(1<<20)))
		start := time.Now()
		go c.Write(make([]byte, 256<<10))
		io.ReadFull(c, make([]byte, 256<<10))
		if d := time.Since(start); d < 150*time.Millisecond {
			t.Errorf("256 KiB at 1 MiB/s came back in %v; want about 250ms", d)
		}
	})
	t.Run("udp loss, counted", func(t *testing.T) {
		t.Parallel()
		srv := loopbacktest.EchoUDP(t, loopbacktest.Loss(1))
		c := dial(t, srv)
		for i := range 10 {
			b := binary.LittleEndian.AppendUint64(nil, uint64(i))
			c.Write(b)
		}
		c.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
		if _, err := c.Read(make([]byte, 8)); !errors.Is(err, os.ErrDeadlineExceeded) {
			t.Errorf("read = %v; want every datagram lost", err)
		}
		srv.Close()
		if st := srv.Stats().UDP; st.Lost != 10 {
			t.Errorf("lost %d, want 10", st.Lost)
		}
	})
}

func TestCountersAfterClose(t *testing.T) {
	srv := loopbacktest.EchoUnix(t)
	c := dial(t, srv)
	c.Write(bytes.Repeat([]byte("z"), 100))
	io.ReadFull(c, make([]byte, 100))
	c.Close()
	if err := srv.Close(); err != nil {
		t.Fatal(err)
	}
	if st := srv.Stats().TCP; st.Accepted != 1 || st.BytesIn != 100 || st.BytesOut != 100 {
		t.Errorf("stats = %+v, want 1 connection and 100 bytes each way", st)
	}
	if _, err := os.Stat(srv.Addr()); !os.IsNotExist(err) {
		t.Errorf("the socket file is still there after Close: %v", err)
	}
}

func TestBadOptionsFailToStart(t *testing.T) {
	if _, err := loopbacktest.New(loopbacktest.Loss(2)); err == nil {
		t.Error("a loss of 2 was accepted")
	}
}
