package diag

import "fmt"

// Port ranges reported in PortInfo.Range: IANA's split from RFC 6335, plus
// "any" for port 0.
const (
	RangeAny        = "any"        // 0: the kernel picks
	RangeWellKnown  = "well-known" // 1-1023, IANA's system ports
	RangeRegistered = "registered" // 1024-49151, IANA's user ports
	RangeDynamic    = "dynamic"    // 49152-65535
)

// PortInfo explains one port as IANA and this machine see it.
type PortInfo struct {
	Port  uint16
	Range string
	// Privileged reports whether binding the port needs root or
	// CAP_NET_BIND_SERVICE here. Without the sysctl (not Linux) it assumes
	// the traditional limit of 1024.
	Privileged bool
	// UnprivilegedPortStart is net.ipv4.ip_unprivileged_port_start, nil
	// when this machine has no such setting.
	UnprivilegedPortStart *int
	// EphemeralRange is net.ipv4.ip_local_port_range, the range the kernel
	// picks client ports from; nil when unknown. InEphemeralRange is false
	// then (JSON "ephemeral" is null).
	EphemeralRange   *PortRange
	InEphemeralRange bool
	// Services are the /etc/services entries for the port; ServicesFile
	// reports whether there was a file to look in.
	Services     []Service
	ServicesFile bool
	// Summary and EphemeralNote are the sentences shown by WriteText
	// (JSON "note" and "ephemeral_note").
	Summary       string
	EphemeralNote string
}

// portFacts is what classifyPort needs to know about this machine; nil
// fields are unknown.
type portFacts struct {
	unprivStart *int
	ephemeral   *PortRange
}

// machinePortFacts reads the two sysctls that change what a port means.
func machinePortFacts(sys System) portFacts {
	var f portFacts
	if start, ok := unprivilegedStart(sys); ok {
		f.unprivStart = &start
	}
	if r, ok := ephemeralRange(sys); ok {
		f.ephemeral = &r
	}
	return f
}

// classifyPort explains p given this machine's facts. It is pure.
func classifyPort(p uint16, f portFacts) PortInfo {
	info := PortInfo{Port: p, UnprivilegedPortStart: f.unprivStart, EphemeralRange: f.ephemeral}
	start := 1024
	if f.unprivStart != nil {
		start = *f.unprivStart
	}
	info.Privileged = p != 0 && int(p) < start
	info.InEphemeralRange = f.ephemeral != nil && p != 0 && f.ephemeral.Contains(p)
	switch {
	case p == 0:
		info.Range = RangeAny
		info.Summary = "0 is not a real port: binding or connecting with it asks the kernel to pick a free one"
	case p < 1024:
		info.Range = RangeWellKnown
		info.Summary = fmt.Sprintf("%d is well-known (IANA system ports 0-1023)", p)
	case p < 49152:
		info.Range = RangeRegistered
		info.Summary = fmt.Sprintf("%d is registered (IANA user ports 1024-49151)", p)
	default:
		info.Range = RangeDynamic
		info.Summary = fmt.Sprintf("%d is in IANA's dynamic range (49152-65535)", p)
	}
	if p != 0 {
		info.Summary += privilegeText(p, info.Privileged, f.unprivStart)
	}
	info.EphemeralNote = ephemeralText(p, f.ephemeral)
	return info
}

// privilegeText finishes the port sentence with who may bind the port.
func privilegeText(p uint16, privileged bool, start *int) string {
	switch {
	case start == nil && privileged:
		return "; binding it usually needs root"
	case start == nil:
		return "; any user may bind it"
	case privileged:
		return fmt.Sprintf("; binding it needs root or CAP_NET_BIND_SERVICE here "+
			"(net.ipv4.ip_unprivileged_port_start=%d)", *start)
	case p < 1024:
		// Docker and rootless containers lower the limit, which surprises
		// people who learned that ports below 1024 need root.
		return fmt.Sprintf("; yet any user may bind it here "+
			"(net.ipv4.ip_unprivileged_port_start=%d)", *start)
	}
	return "; any user may bind it"
}

// ephemeralText relates p to the range the kernel picks client ports
// from. This is what explains odd ports such as 41234 on the client side of
// a connection: Linux does not use IANA's dynamic range.
func ephemeralText(p uint16, r *PortRange) string {
	switch {
	case r == nil:
		return "this machine's ephemeral range is unknown (no /" + pathPortRange + ")"
	case p == 0:
		return fmt.Sprintf("the kernel picks from this machine's ephemeral range (%s)", r)
	case r.Contains(p):
		return fmt.Sprintf("inside this machine's ephemeral range (%s): the kernel hands "+
			"these out as the local port of outgoing connections, so it often shows up "+
			"as the client side of one, and a server binding it may find it taken", r)
	case p >= 49152:
		return fmt.Sprintf("outside this machine's ephemeral range (%s), so the kernel here "+
			"won't pick it; macOS and Windows pick client ports from 49152-65535, "+
			"so a client there would", r)
	}
	return fmt.Sprintf("outside this machine's ephemeral range (%s): the kernel won't pick "+
		"it for outgoing connections, so servers can bind it without racing clients", r)
}
