package server

import (
	"net/netip"

	"github.com/rs/zerolog"
)

// Tracing is the server's socket steps, each a trace-level log event, for
// a person learning what a connection or a datagram is: `serve --trace`
// renders them as sentences. The events are the structured log's own, so
// the sentences and the JSON never disagree; with Trace off an engine
// checks one boolean per read, and builds nothing.
type Tracing struct {
	Trace   bool // log every read, echo and datagram at trace level
	Payload int  // with Trace, also each payload's first this many bytes (hex); 0: none
}

// traceIO logs one step: what was read from peer (step "read"), what went
// back ("echoed"), or a datagram that arrived ("datagram").
func traceIO(log *zerolog.Logger, t Tracing, component, step string, peer netip.AddrPort, p []byte, n int) {
	e := log.Trace()
	if !e.Enabled() {
		return
	}
	e = withPeer(e.Str("component", component), peer).Int("bytes", n)
	if t.Payload > 0 && p != nil {
		shown := p[:min(len(p), t.Payload)]
		e = e.Hex("payload", shown).Int("payload_cut", len(p)-len(shown))
	}
	e.Msg(step)
}
