package diag

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"strings"
)

// The JSON of explain, who and ports speaks the vocabulary of every
// command's JSON (docs/json-diag.md lists each field): an address is
// {"ip": ..., "port": ...} with the port a number, proto is tcp or udp
// with family ipv4 or ipv6 beside it, a value that is absent is null and
// never 0 or a placeholder, facts are booleans, and sentences are only in
// note fields. The Go types keep the forms that are handy in Go (netip
// values, 0 and "" for nothing); these wire types are what is written.

// jsonAddr is an address and port, {"ip": "127.0.0.1", "port": 7007}. An
// IPv4-mapped IPv6 address is written as the IPv4 address it stands for,
// as serve's log writes peers; family says which kind of socket held it.
type jsonAddr struct {
	IP   string  `json:"ip"`
	Port *uint16 `json:"port"`
}

func addrJSON(a netip.Addr, port *uint16) jsonAddr {
	return jsonAddr{IP: a.String(), Port: port}
}

func endpointJSON(ap netip.AddrPort) *jsonAddr {
	a := addrJSON(ap.Addr().Unmap(), new(ap.Port()))
	return &a
}

// jsonLocal is a socket's own address: an IP address and port, or for a
// Unix socket {"path": "/run/app.sock"}.
type jsonLocal struct {
	jsonAddr
	Path string
}

func (l jsonLocal) MarshalJSON() ([]byte, error) {
	if l.Path != "" {
		return json.Marshal(struct {
			Path string `json:"path"`
		}{l.Path})
	}
	return json.Marshal(l.jsonAddr)
}

func (l *jsonLocal) UnmarshalJSON(b []byte) error {
	var j struct {
		jsonAddr
		Path string `json:"path"`
	}
	err := json.Unmarshal(b, &j)
	l.jsonAddr, l.Path = j.jsonAddr, j.Path
	return err
}

// jsonSocket is a Socket as written.
type jsonSocket struct {
	Proto     string     `json:"proto"`
	Family    *string    `json:"family"`
	Local     *jsonLocal `json:"local"`
	Remote    *jsonAddr  `json:"remote"`
	State     string     `json:"state"`
	Side      *string    `json:"side"`
	UID       *uint32    `json:"uid"`
	User      *string    `json:"user"`
	Inode     *uint64    `json:"inode"`
	PID       *int       `json:"pid"`
	OtherPIDs []int      `json:"other_pids"`
	Process   *string    `json:"process"`
	Cmdline   []string   `json:"cmdline"`
	Note      *string    `json:"note"`
}

// MarshalJSON writes s in the diagnostics' JSON vocabulary: remote is null
// for a listener or an unconnected UDP socket (the table's "*"), pid and
// what comes with it null when no process could be seen, inode null for a
// socket no file holds (TIME_WAIT). A Unix socket has no family, its
// local address is {"path": ...}, and its uid is null when no holder was
// seen, since the kernel's table of them has no owner.
func (s Socket) MarshalJSON() ([]byte, error) {
	j := jsonSocket{
		Proto: transport(s.Proto), State: s.State, Side: orNull(s.Side),
		UID: ifSet(!s.Unix() || s.PID != 0, s.UID), User: orNull(s.User),
		Inode: ifSet(s.Inode != 0, s.Inode), Note: orNull(s.Note),
	}
	if s.Unix() {
		j.Local = &jsonLocal{Path: s.Path}
	} else {
		j.Family = new(ipFamily(s.Proto))
		j.Local = &jsonLocal{jsonAddr: *endpointJSON(s.Local)}
	}
	if s.Remote.Port() != 0 {
		j.Remote = endpointJSON(s.Remote)
	}
	if s.PID != 0 {
		j.PID, j.Process = &s.PID, orNull(s.Process)
		j.OtherPIDs = append([]int{}, s.OtherPIDs...)
		j.Cmdline = append([]string{}, s.Cmdline...)
	}
	return json.Marshal(j)
}

// UnmarshalJSON reads what MarshalJSON wrote back into s.
func (s *Socket) UnmarshalJSON(b []byte) error {
	var j jsonSocket
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	*s = Socket{Proto: j.Proto, State: j.State, Side: deref(j.Side),
		UID: deref(j.UID), User: deref(j.User), Inode: deref(j.Inode), PID: deref(j.PID),
		OtherPIDs: j.OtherPIDs, Process: deref(j.Process), Cmdline: j.Cmdline, Note: deref(j.Note)}
	v6 := deref(j.Family) == "ipv6"
	if s.Unix() {
		if j.Local == nil || j.Local.Path == "" {
			return errors.New("local: no path")
		}
		s.Path = j.Local.Path
	} else {
		var local *jsonAddr
		if j.Local != nil {
			local = &j.Local.jsonAddr
		}
		var err error
		if s.Local, err = parseEndpoint(local, v6); err != nil {
			return fmt.Errorf("local: %w", err)
		}
		if s.Remote, err = parseEndpoint(j.Remote, v6); err != nil {
			return fmt.Errorf("remote: %w", err)
		}
	}
	if v6 {
		s.Proto += "6"
	}
	if len(s.OtherPIDs) == 0 {
		s.OtherPIDs = nil
	}
	if len(s.Cmdline) == 0 {
		s.Cmdline = nil
	}
	return nil
}

// parseEndpoint reads an address back as the kernel's table holds it: an
// IPv4 address on an IPv6 socket is IPv4-mapped, and null is the
// unspecified address and port 0.
func parseEndpoint(j *jsonAddr, v6 bool) (netip.AddrPort, error) {
	if j == nil {
		if v6 {
			return netip.AddrPortFrom(netip.IPv6Unspecified(), 0), nil
		}
		return netip.AddrPortFrom(netip.IPv4Unspecified(), 0), nil
	}
	a, err := netip.ParseAddr(j.IP)
	if err != nil || j.Port == nil {
		return netip.AddrPort{}, errors.Join(err, errors.New("no port"))
	}
	if v6 && a.Is4() {
		a = netip.AddrFrom16(a.As16())
	}
	return netip.AddrPortFrom(a, *j.Port), nil
}

// ipFamily is "ipv4" or "ipv6" for a kernel table's name.
func ipFamily(proto string) string {
	if strings.HasSuffix(proto, "6") {
		return "ipv6"
	}
	return "ipv4"
}

// jsonExplanation is an Explanation as written.
type jsonExplanation struct {
	Input string         `json:"input"`
	Host  *string        `json:"host"`
	Addrs []jsonAddrInfo `json:"addrs"`
	Port  *jsonPortInfo  `json:"port"`
	Now   *jsonActivity  `json:"now"`
}

type jsonAddrInfo struct {
	Addr              jsonAddr      `json:"addr"`
	Class             string        `json:"class"`
	Note              string        `json:"note"`
	IPv4              *jsonAddrInfo `json:"ipv4"`
	Reachable         *bool         `json:"reachable"`
	RouteLocalnet     *bool         `json:"route_localnet"`
	RouteLocalnetOn   []string      `json:"route_localnet_on"`
	RouteLocalnetNote *string       `json:"route_localnet_note"`
}

type jsonPortInfo struct {
	Port                  uint16     `json:"port"`
	Range                 string     `json:"range"`
	Privileged            bool       `json:"privileged"`
	UnprivilegedPortStart *int       `json:"unprivileged_port_start"`
	EphemeralRange        *PortRange `json:"ephemeral_range"`
	Ephemeral             *bool      `json:"ephemeral"`
	Services              []Service  `json:"services"`
	ServicesFile          bool       `json:"services_file"`
	Note                  string     `json:"note"`
	EphemeralNote         string     `json:"ephemeral_note"`
}

type jsonActivity struct {
	Listening   []Socket   `json:"listening"`
	Connections []Socket   `json:"connections"`
	Clients     []Socket   `json:"clients"`
	TimeWait    *bool      `json:"time_wait"`
	Note        *string    `json:"note"`
	Error       *jsonError `json:"error"`
}

// jsonError says why something couldn't be found out: a code for scripts
// (unsupported on this system, or failed) and the message for people.
type jsonError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// MarshalJSON writes e in the diagnostics' JSON vocabulary; every address
// carries the port that was explained with it, null when there was none.
func (e Explanation) MarshalJSON() ([]byte, error) {
	j := jsonExplanation{Input: e.Input, Host: orNull(e.Host), Addrs: []jsonAddrInfo{}}
	var port *uint16
	if e.Port != nil {
		port = &e.Port.Port
		p := e.Port.json()
		j.Port = &p
	}
	for _, a := range e.Addrs {
		j.Addrs = append(j.Addrs, a.json(port))
	}
	if e.Now != nil {
		a := e.Now.json()
		j.Now = &a
	}
	return json.Marshal(j)
}

func (a AddrInfo) json(port *uint16) jsonAddrInfo {
	j := jsonAddrInfo{Addr: addrJSON(a.Addr, port), Class: a.Class, Note: a.Summary, Reachable: a.Reachable,
		RouteLocalnet: a.RouteLocalnet, RouteLocalnetNote: orNull(a.RouteLocalnetNote)}
	if a.RouteLocalnet != nil {
		j.RouteLocalnetOn = append([]string{}, a.RouteLocalnetOn...)
	}
	if a.IPv4 != nil {
		inner := a.IPv4.json(port)
		j.IPv4 = &inner
	}
	return j
}

func (p PortInfo) json() jsonPortInfo {
	j := jsonPortInfo{Port: p.Port, Range: p.Range, Privileged: p.Privileged,
		UnprivilegedPortStart: p.UnprivilegedPortStart, EphemeralRange: p.EphemeralRange,
		Ephemeral: ifSet(p.EphemeralRange != nil, p.InEphemeralRange), Services: []Service{},
		ServicesFile: p.ServicesFile, Note: p.Summary, EphemeralNote: p.EphemeralNote}
	j.Services = append(j.Services, p.Services...)
	return j
}

// json leaves what couldn't be found out null: when a.Error is set, the
// lists and the TIME_WAIT fact are unknown, not empty.
func (a Activity) json() jsonActivity {
	if a.Error != "" {
		code := "failed"
		if a.unsupported {
			code = "unsupported"
		}
		return jsonActivity{Error: &jsonError{Code: code, Message: a.Error}}
	}
	return jsonActivity{Listening: orEmpty(a.Listening), Connections: orEmpty(a.Connections),
		Clients: orEmpty(a.Clients), TimeWait: &a.TimeWait, Note: orNull(a.Note)}
}

// MarshalJSON writes a service with its aliases always a list.
func (s Service) MarshalJSON() ([]byte, error) {
	type plain Service
	p := plain(s)
	p.Aliases = append([]string{}, s.Aliases...)
	return json.Marshal(p)
}

func orNull(s string) *string { return ifSet(s != "", s) }

func orEmpty[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

func ifSet[T any](set bool, v T) *T {
	if !set {
		return nil
	}
	return &v
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}

// MarshalJSON writes a alone, its address without a port; Explanation
// writes each with the port explained.
func (a AddrInfo) MarshalJSON() ([]byte, error) { return json.Marshal(a.json(nil)) }

// MarshalJSON writes p as in explain's "port".
func (p PortInfo) MarshalJSON() ([]byte, error) { return json.Marshal(p.json()) }

// MarshalJSON writes a as in explain's "now".
func (a Activity) MarshalJSON() ([]byte, error) { return json.Marshal(a.json()) }
