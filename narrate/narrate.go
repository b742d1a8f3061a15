// Package narrate renders the program's structured log events as plain
// sentences for a person learning sockets: `serve --trace` and `probe
// --trace` write their logs through it, so each step of a connection or a
// datagram (bound, accepted, read, echoed, closed on the server; connected,
// sent, received, closed on the client) reads as one line of English, with the payload
// dumped beneath when the event carries one. The events are the JSON log's
// own; only their rendering differs.
package narrate

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Writer turns each JSON log event written to it into lines of text on
// the writer it wraps. It is safe for concurrent use.
type Writer struct {
	mu  sync.Mutex
	out io.Writer
}

// NewWriter returns a Writer that narrates onto out.
func NewWriter(out io.Writer) *Writer { return &Writer{out: out} }

// Write takes one zerolog event (a JSON object and a newline).
func (w *Writer) Write(p []byte) (int, error) {
	var ev event
	if err := json.Unmarshal(p, &ev.f); err != nil {
		return w.write(p, len(p)) // not an event: pass it through as it is
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, "%s  %s\n", ev.clock(), ev.sentence())
	if payload := ev.str("payload"); payload != "" {
		dump(&b, payload, int(ev.num("payload_cut")))
	}
	return w.write(b.Bytes(), len(p))
}

func (w *Writer) write(b []byte, n int) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if _, err := w.out.Write(b); err != nil {
		return 0, err
	}
	return n, nil
}

// event is one log event's fields.
type event struct{ f map[string]any }

func (e event) str(k string) string {
	s, _ := e.f[k].(string)
	return s
}

func (e event) num(k string) float64 {
	n, _ := e.f[k].(float64)
	return n
}

// peer names the other end; an unnamed Unix peer has none.
func (e event) peer() string {
	if p := e.addr("peer"); p != "" {
		return p
	}
	return "the client"
}

// addr reads an address field: {"ip", "port"} as ip:port, {"host",
// "port"} (a name as the user gave it) as host:port, {"path"} as the path,
// "" for none.
func (e event) addr(k string) string {
	m, ok := e.f[k].(map[string]any)
	if !ok {
		return e.str(k)
	}
	if p, ok := m["path"].(string); ok {
		return p
	}
	ip, _ := m["ip"].(string)
	if host, ok := m["host"].(string); ok {
		ip = host
	}
	port, _ := m["port"].(float64)
	return net.JoinHostPort(ip, strconv.Itoa(int(port)))
}

// clock is the event's time of day to the millisecond.
func (e event) clock() string {
	t, err := time.Parse(time.RFC3339Nano, e.str("time"))
	if err != nil {
		return "            "
	}
	return t.Local().Format("15:04:05.000")
}

// sentence says what the event means.
func (e event) sentence() string {
	n := int(e.num("bytes"))
	msg := e.str("message")
	if e.str("component") == "probe" {
		if s, ok := e.probeSentence(msg); ok {
			return s
		}
	}
	switch msg {
	case "listening":
		return e.listening()
	case "connection open":
		return fmt.Sprintf("a connection arrived from %s: the kernel finished the three-way handshake (SYN, SYN-ACK, ACK) before accept returned it", e.peer())
	case "read":
		return fmt.Sprintf("read %s from %s", bytesOf(n), e.peer())
	case "echoed":
		return fmt.Sprintf("echoed %s back to %s", bytesOf(n), e.peer())
	case "connection closed":
		return e.closed()
	case "datagram":
		return fmt.Sprintf("a datagram of %s from %s: one message, delivered whole or not at all", bytesOf(n), e.peer())
	case "datagram echoed":
		return fmt.Sprintf("echoed it: a datagram of %s back to %s", bytesOf(n), e.peer())
	case "datagram not answered":
		return fmt.Sprintf("not answered, a datagram from %s: %s", e.peer(), e.str("reason"))
	case "stopping":
		return fmt.Sprintf("stopping (%s): no new connections; open ones may finish", e.str("cause"))
	case "stopped":
		return fmt.Sprintf("stopped after %s: %s, %s echoed", millis(e.num("uptime_ms")),
			count(int(e.num("tcp_conns")), "connection"), count(int(e.num("udp_datagrams")+e.num("unixgram_datagrams")), "datagram"))
	default:
		return e.other(msg)
	}
}

func (e event) listening() string {
	var parts []string
	if a := e.addr("tcp"); a != "" {
		parts = append(parts, "TCP on "+a+" (the socket is bound to the address, and the kernel queues new connections for us until we accept them)")
	}
	if a := e.addr("udp"); a != "" {
		parts = append(parts, "UDP on "+a+" (bound: each datagram waits in the socket's buffer until we read it)")
	}
	if len(parts) == 0 {
		return "listening"
	}
	return "listening: " + strings.Join(parts, "; ")
}

func (e event) closed() string {
	in, out := int(e.num("bytes_in")), int(e.num("bytes_out"))
	total := fmt.Sprintf("%s in, %s out, open %s", bytesOf(in), bytesOf(out), millis(e.num("duration_ms")))
	if reason := e.str("reason"); reason != "closed by peer" {
		return fmt.Sprintf("we closed the connection with %s (%s): %s", e.peer(), reason, total)
	}
	return fmt.Sprintf("%s closed its side (FIN), and every byte had gone back, so we closed ours: %s", e.peer(), total)
}

// other renders an event this package has no sentence for, level first.
func (e event) other(msg string) string {
	var kv []string
	for k, v := range e.f {
		switch k {
		case "level", "time", "message":
			continue
		}
		kv = append(kv, fmt.Sprintf("%s=%v", k, v))
	}
	slices.Sort(kv)
	fields := strings.Join(kv, " ")
	level := e.str("level")
	if level == "info" || level == "" {
		return strings.TrimSpace(msg + " " + fields)
	}
	return strings.TrimSpace(level + ": " + msg + " " + fields)
}

func bytesOf(n int) string { return count(n, "byte") }

// count says n things, in the singular for one.
func count(n int, thing string) string {
	if n == 1 {
		return "1 " + thing
	}
	return fmt.Sprintf("%d %ss", n, thing)
}

func millis(ms float64) string {
	if ms < 1000 {
		return fmt.Sprintf("%.0f ms", ms)
	}
	return fmt.Sprintf("%.1f s", ms/1000)
}

// dump writes the payload as hexdump -C does: offset, sixteen bytes in
// hex, and the printable ones as text; then what was cut, if anything.
func dump(b *bytes.Buffer, hexPayload string, cut int) {
	p, err := hex.DecodeString(hexPayload)
	if err != nil {
		return
	}
	for off := 0; off < len(p); off += 16 {
		row := p[off:min(off+16, len(p))]
		fmt.Fprintf(b, "      %08x  %-48s |%s|\n", off, spaced(row), printable(row))
	}
	if cut > 0 {
		fmt.Fprintf(b, "      (%s more not shown)\n", bytesOf(cut))
	}
}

func spaced(row []byte) string {
	var s strings.Builder
	for i, c := range row {
		if i == 8 {
			s.WriteByte(' ')
		}
		fmt.Fprintf(&s, "%02x ", c)
	}
	return s.String()
}

func printable(row []byte) string {
	out := make([]byte, len(row))
	for i, c := range row {
		if c < 0x20 || c > 0x7e {
			c = '.'
		}
		out[i] = c
	}
	return string(out)
}
