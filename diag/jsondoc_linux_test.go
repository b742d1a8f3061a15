package diag

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"maps"
	"net"
	"net/netip"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// docTable is one table of docs/json-diag.md: each field's type and when
// it is null.
type docTable map[string]struct{ typ, null string }

// docTables reads every table between <!-- json-NAME --> and
// <!-- /json-NAME --> in docs/json-diag.md; a row may name several
// fields, each in backquotes.
func docTables(t *testing.T) map[string]docTable {
	t.Helper()
	b, err := os.ReadFile("../docs/json-diag.md")
	if err != nil {
		t.Fatal(err)
	}
	tables := map[string]docTable{}
	for _, m := range regexp.MustCompile(`(?s)<!-- (json-[a-z-]+) -->(.*?)<!-- /json-[a-z-]+ -->`).FindAllStringSubmatch(string(b), -1) {
		tab := docTable{}
		for line := range strings.Lines(m[2]) {
			cols := strings.Split(line, "|")
			if len(cols) != 6 {
				continue
			}
			for _, f := range regexp.MustCompile("`([a-z0-9_]+)`").FindAllStringSubmatch(cols[1], -1) {
				tab[f[1]] = struct{ typ, null string }{strings.TrimSpace(cols[2]), strings.TrimSpace(cols[4])}
			}
		}
		tables[m[1]] = tab
	}
	return tables
}

// children says which table describes the objects under a field.
var children = map[string]string{
	"json-explain.addrs":                "json-explain-addrs",
	"json-explain.port":                 "json-explain-port",
	"json-explain.now":                  "json-explain-now",
	"json-explain-addrs.addr":           "json-address",
	"json-explain-addrs.ipv4":           "json-explain-addrs",
	"json-explain-port.ephemeral_range": "json-explain-range",
	"json-explain-port.services":        "json-explain-service",
	"json-explain-now.listening":        "json-socket",
	"json-explain-now.connections":      "json-socket",
	"json-explain-now.clients":          "json-socket",
	"json-explain-now.error":            "json-error",
	"json-socket.local":                 "json-address",
	"json-socket.remote":                "json-address",
}

// seen collects, for each table, every value written under each field.
type seen map[string]map[string][]any

func (s seen) walk(table string, v any) {
	switch v := v.(type) {
	case []any:
		for _, e := range v {
			s.walk(table, e)
		}
	case map[string]any:
		if s[table] == nil {
			s[table] = map[string][]any{}
		}
		for k, e := range v {
			s[table][k] = append(s[table][k], e)
			if child, ok := children[table+"."+k]; ok {
				if m, ok := e.(map[string]any); ok && child == "json-address" && m["path"] != nil {
					child = "json-unix-address" // a Unix socket's local
				}
				s.walk(child, e)
			}
		}
	}
}

func (s seen) add(t *testing.T, table string, v any) {
	t.Helper()
	js, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var decoded any
	if err := json.Unmarshal(js, &decoded); err != nil {
		t.Fatal(err)
	}
	s.walk(table, decoded)
}

// kind names a decoded JSON value the way the tables' type column does.
func kind(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case string:
		return "string"
	case float64:
		return "number"
	case bool:
		return "boolean"
	case []any:
		return "array"
	}
	return "object"
}

// allows reports whether a type column admits a value of kind k: "address"
// is an object, "array of ..." an array.
func allows(typ, k string) bool {
	typ = strings.ReplaceAll(typ, "address", "object")
	if k == "null" {
		return strings.HasSuffix(typ, " or null")
	}
	if strings.HasPrefix(typ, "array") {
		return k == "array"
	}
	return strings.HasPrefix(typ, k)
}

// TestJSONDocMatchesOutput holds docs/json-diag.md to what explain, who
// and ports write, both ways: every field written is in its table, every
// field in a table is written, each value has a type its row allows, and
// only rows that say when are ever null. The output is real: sockets this
// test opens (a listener, connections, TIME_WAIT on both sides) on the
// running machine, plus the fake machine for what this one can't show (an
// /etc/services alias) and a machine with no /proc for the error.
func TestJSONDocMatchesOutput(t *testing.T) {
	t.Parallel()
	listeners := listenSelf(t)
	var tcp4 netip.AddrPort
	for _, b := range listeners {
		if b.proto == "tcp" {
			tcp4 = b.addr
		}
	}
	c := connectAndClose(t, tcp4)
	served := c.listener // both TIME_WAITs went through it
	live := System{LookupIP: fakeLookup}
	unixPath := t.TempDir() + "/s"
	uln, err := net.Listen("unix", unixPath)
	if err != nil {
		t.Fatal(err)
	}
	defer uln.Close()

	s := seen{}
	for _, in := range []string{served.String(), fmt.Sprintf("[::ffff:127.0.0.1]:%d", served.Port()),
		"localhost", ":0", tcp4.String()} {
		e, err := Explain(t.Context(), in, live)
		if err != nil {
			t.Fatal(err)
		}
		s.add(t, "json-explain", e)
	}
	e, err := Explain(t.Context(), "example.test:http", fakeSystem("root-le", binary.LittleEndian, nil))
	if err != nil {
		t.Fatal(err)
	}
	s.add(t, "json-explain", e)
	e, err = Explain(t.Context(), "127.0.0.1:7007", System{Root: os.DirFS(t.TempDir()), LookupIP: fakeLookup})
	if err != nil {
		t.Fatal(err)
	}
	s.add(t, "json-explain", e)
	for _, port := range []uint16{served.Port(), c.ends[0][0].Port()} {
		who, err := Who(port, live)
		if err != nil {
			t.Fatal(err)
		}
		s.add(t, "json-socket", who)
	}
	who, err := WhoPath(unixPath, live)
	if err != nil || len(who) != 1 {
		t.Fatalf("WhoPath(%s) = %v, %v; want our listener", unixPath, who, err)
	}
	s.add(t, "json-socket", who)
	for _, all := range []bool{false, true} {
		ports, err := Ports(all, live)
		if err != nil {
			t.Fatal(err)
		}
		s.add(t, "json-socket", ports)
	}

	tables := docTables(t)
	want := slices.Sorted(maps.Keys(maps.Collect(func(yield func(string, bool) bool) {
		for _, name := range append(slices.Collect(maps.Values(children)), "json-explain", "json-socket", "json-unix-address") {
			yield(name, true)
		}
	})))
	if got := slices.Sorted(maps.Keys(tables)); !slices.Equal(got, want) {
		t.Fatalf("docs/json-diag.md has the tables %v, want %v", got, want)
	}
	for name, doc := range tables {
		fields := s[name]
		if got, want := slices.Sorted(maps.Keys(fields)), slices.Sorted(maps.Keys(doc)); !slices.Equal(got, want) {
			t.Errorf("%s: the output has %v\nthe doc has        %v", name, got, want)
		}
		for f, values := range fields {
			row, ok := doc[f]
			if !ok {
				continue
			}
			for _, v := range values {
				if k := kind(v); !allows(row.typ, k) || k == "null" && row.null == "never" {
					t.Errorf("%s.%s is %s (%v), but the doc says %q, null when %q", name, f, k, v, row.typ, row.null)
					break
				}
			}
		}
	}
	for name := range s {
		if _, ok := tables[name]; !ok {
			t.Errorf("the output has %s objects, the doc no such table", name)
		}
	}
}
