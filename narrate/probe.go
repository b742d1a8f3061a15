package narrate

import "fmt"

// probeSentence says what one of the probe's trace events (probe --trace)
// means, on the client's side of the same steps that serve narrates, and
// reports false for an event it has no sentence for.
func (e event) probeSentence(msg string) (string, bool) {
	network, n := e.str("network"), int(e.num("seq"))
	dgram := network == "udp" || network == "unixgram"
	switch msg {
	case "connecting":
		return e.connecting(network), true
	case "connection made":
		return e.connectionMade(network), true
	case "connect failed":
		return "the connect failed: " + e.str("error"), true
	case "warm-up done":
		return fmt.Sprintf("%s done, not told: they bring caches and the scheduler up to speed, and are not measured",
			count(int(e.num("count")), "warm-up round trip")), true
	case "request sent":
		if dgram {
			return fmt.Sprintf("round trip %d: sent a datagram of %s", n, bytesOf(int(e.num("bytes")))), true
		}
		part := ""
		switch e.num("part") {
		case 1:
			part = " (the first of two writes)"
		case 2:
			part = " (the second write)"
		}
		return fmt.Sprintf("round trip %d: sent %s%s", n, bytesOf(int(e.num("bytes"))), part), true
	case "reply received":
		what := bytesOf(int(e.num("bytes")))
		if dgram {
			what = "a datagram of " + what
		}
		verdict := "as sent"
		if v, _ := e.f["intact"].(bool); !v {
			verdict = "but they differ from what was sent: corrupt"
			if dgram {
				verdict = "but it differs from what was sent: corrupt"
			}
		}
		return fmt.Sprintf("round trip %d: %s came back after %s, %s", n, what, duration(e.num("rtt_ms")), verdict), true
	case "reply missing":
		return fmt.Sprintf("round trip %d: no reply within %s: lost", n, duration(e.num("timeout_ms"))), true
	case "more not told":
		what := "more round trip"
		if e.num("told") == 0 {
			what = "round trip" // on a schedule, or none was told before a failure
		}
		return fmt.Sprintf("%s, measured but not told one by one", count(int(e.num("count")), what)), true
	case "socket closed":
		return e.socketClosed(network), true
	}
	return "", false
}

func (e event) connecting(network string) string {
	addr := e.addr("addr")
	switch network {
	case "tcp":
		return fmt.Sprintf("connecting to %s: connect(2) sends a SYN and waits for the server's SYN-ACK", addr)
	case "udp":
		return fmt.Sprintf("a UDP socket for %s: connect(2) only notes where datagrams go; nothing is sent, UDP has no handshake", addr)
	case "unix":
		return fmt.Sprintf("connecting to %s: connect(2) asks the kernel to join our socket to one the server will accept; no packet is sent", addr)
	case "unixgram":
		return fmt.Sprintf("a Unix datagram socket for %s: it first binds a name of its own, in a private directory, since the server can answer only a socket with a name", addr)
	}
	return "connecting to " + addr
}

func (e event) connectionMade(network string) string {
	local := e.addr("local")
	switch network {
	case "tcp":
		return fmt.Sprintf("connected from %s after %s: the SYN-ACK came back, and our ACK completed the three-way handshake",
			local, duration(e.num("connect_ms")))
	case "unix":
		return fmt.Sprintf("connected after %s; our side has no name, as a Unix client needs none", duration(e.num("connect_ms")))
	case "udp", "unixgram":
		return fmt.Sprintf("ready, from %s", local)
	}
	return "connected"
}

func (e event) socketClosed(network string) string {
	switch network {
	case "tcp":
		return "closed the connection: our FIN tells the server we are done, and it closes its side; " +
			"having closed first, our side waits in TIME_WAIT for a while"
	case "unix":
		return "closed the connection: the server reads end-of-file and closes its side"
	case "unixgram":
		return "closed the socket, and removed its name " + e.addr("local")
	}
	return "closed the socket: UDP has no connection to end, so nothing is sent"
}

// duration formats a duration field (the log's are in milliseconds, named
// _ms) in the unit that suits it.
func duration(ms float64) string {
	switch {
	case ms >= 1000:
		return fmt.Sprintf("%.3g s", ms/1000)
	case ms >= 1:
		return fmt.Sprintf("%.3g ms", ms)
	}
	return fmt.Sprintf("%.1f µs", ms*1000)
}
