package main

import (
	"context"
	"encoding/binary"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The classic services, each checked against its RFC by a client that is
// not ours: python3's socket module and nc.

// python runs a python3 program with the port as its argument and returns
// what it printed.
func python(t *testing.T, port int, program string) string {
	t.Helper()
	if _, err := exec.LookPath("python3"); err != nil {
		t.Skip("python3 is not installed")
	}
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "python3", "-c", program, strconv.Itoa(port)).CombinedOutput()
	if err != nil {
		t.Fatalf("python3: %v\n%s", err, out)
	}
	return string(out)
}

// chargenLine is line i of RFC 864's pattern.
func chargenLine(i int) string {
	var b strings.Builder
	for j := range 72 {
		b.WriteByte(byte(' ' + (i+j)%95))
	}
	return b.String() + "\r\n"
}

func TestServeChargen(t *testing.T) {
	t.Parallel()
	s := startServe(t, 2, "--service", "chargen")
	got := python(t, s.port, `
import socket, sys
c = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=10)
data = b""
while len(data) < 74 * 100:
    data += c.recv(65536)
c.close()
sys.stdout.write(data[:74 * 100].decode())
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
u.settimeout(10)
u.sendto(b"any", ("127.0.0.1", int(sys.argv[1])))
d, _ = u.recvfrom(65536)
sys.stdout.write("\nUDP %d %s" % (len(d), d.decode()))
`)
	stream, udp, _ := strings.Cut(got, "\nUDP ")
	var want strings.Builder
	for i := range 100 {
		want.WriteString(chargenLine(i))
	}
	if stream != want.String() {
		t.Errorf("TCP chargen's first 100 lines are not RFC 864's:\n%q", stream[:min(len(stream), 300)])
	}
	n, text, _ := strings.Cut(udp, " ")
	if size, _ := strconv.Atoi(n); size > 512 || !strings.Contains(strings.Repeat(want.String(), 2), text) {
		t.Errorf("UDP chargen answered %s bytes %q; want at most 512 of the pattern", n, text)
	}
}

func TestServeDaytimeAndTime(t *testing.T) {
	t.Parallel()
	day := startServe(t, 2, "--service", "daytime")
	tm := startServe(t, 2, "--service", "time")
	got := python(t, day.port, `
import socket, sys
p = int(sys.argv[1])
c = socket.create_connection(("127.0.0.1", p), timeout=10)
data = b""
while True:
    b = c.recv(100)
    if not b:
        break
    data += b
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
u.settimeout(10)
u.sendto(b"", ("127.0.0.1", p))
d, _ = u.recvfrom(100)
sys.stdout.write(data.decode() + "|" + d.decode())
`)
	for _, answer := range strings.Split(got, "|") {
		when, err := time.ParseInLocation("Mon Jan _2 15:04:05 2006\r\n", answer, time.Local)
		if err != nil || time.Since(when).Abs() > 5*time.Second {
			t.Errorf("daytime answered %q (%v); want RFC 867's date and time, now", answer, err)
		}
	}
	raw := python(t, tm.port, `
import socket, sys
p = int(sys.argv[1])
c = socket.create_connection(("127.0.0.1", p), timeout=10)
data = b""
while True:
    b = c.recv(10)
    if not b:
        break
    data += b
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
u.settimeout(10)
u.sendto(b"", ("127.0.0.1", p))
d, _ = u.recvfrom(10)
sys.stdout.write(data.hex() + " " + d.hex())
`)
	for _, h := range strings.Fields(raw) {
		b := make([]byte, 4)
		if len(h) != 8 {
			t.Fatalf("time answered %q; want 4 bytes", h)
		}
		for i := range b {
			v, _ := strconv.ParseUint(h[2*i:2*i+2], 16, 8)
			b[i] = byte(v)
		}
		secs := int64(binary.BigEndian.Uint32(b)) - 2208988800
		if d := time.Since(time.Unix(secs, 0)).Abs(); d > 5*time.Second {
			t.Errorf("time answered %d seconds since 1900, %v from now", secs+2208988800, d)
		}
	}
}

func TestServeDiscardWithNc(t *testing.T) {
	t.Parallel()
	if _, err := exec.LookPath("nc"); err != nil {
		t.Skip("nc is not installed")
	}
	s := startServe(t, 2, "--service", "discard")
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "nc", "-q", "1", "127.0.0.1", strconv.Itoa(s.port))
	cmd.Stdin = strings.NewReader("into the void\n")
	out, err := cmd.Output()
	if err != nil || len(out) != 0 {
		t.Errorf("nc to discard: %q, %v; want nothing back", out, err)
	}
}

// TestServeUDPChargenIsNoAmplifier: a burst of datagrams gets at most the
// rate limit's answers in a second.
func TestServeUDPChargenIsNoAmplifier(t *testing.T) {
	t.Parallel()
	s := startServe(t, 2, "--service", "chargen")
	got := python(t, s.port, `
import socket, sys, time
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
u.settimeout(0.3)
for i in range(500):
    u.sendto(b"%d" % i, ("127.0.0.1", int(sys.argv[1])))
n = 0
try:
    while True:
        u.recvfrom(1024)
        n += 1
except socket.timeout:
    pass
print(n)
`)
	if n, _ := strconv.Atoi(strings.TrimSpace(got)); n == 0 || n > 150 {
		t.Errorf("500 datagrams got %d answers; want some, and no more than the rate limit allows (100/s)", n)
	}
}
