package main

import (
	"encoding/json"
	"maps"
	"net"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestServeLogFieldsAreDocumented: the fields of serve's JSON log events,
// from a real run with a TCP connection and a datagram, are the ones
// docs/json.md lists, both ways.
func TestServeLogFieldsAreDocumented(t *testing.T) {
	t.Parallel()
	s := startServe(t, 2, "--log-level", "debug")
	c, err := net.DialTimeout("tcp", s.tcp[len("tcp://"):], 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	c.SetDeadline(time.Now().Add(5 * time.Second))
	c.Write([]byte("hi"))
	c.Read(make([]byte, 2))
	c.Close()
	s.stderr.waitFor(t, `"message":"connection closed"`)
	u, err := net.Dial("udp", s.udp[len("udp://"):])
	if err != nil {
		t.Fatal(err)
	}
	defer u.Close()
	u.SetDeadline(time.Now().Add(5 * time.Second))
	u.Write([]byte("hi"))
	u.Read(make([]byte, 2))
	s.stderr.waitFor(t, `"message":"datagram echoed"`)
	if err := s.shutdown(t); err != nil {
		t.Fatal(err)
	}
	got := map[string]bool{}
	for line := range strings.SplitSeq(strings.TrimSpace(s.stderr.String()), "\n") {
		var e map[string]any
		if err := json.Unmarshal([]byte(line), &e); err != nil {
			t.Fatalf("log line %q is not JSON: %v", line, err)
		}
		for k := range e {
			got[k] = true
		}
	}
	doc, err := os.ReadFile("docs/json.md")
	if err != nil {
		t.Fatal(err)
	}
	text := string(doc)
	i, j := strings.Index(text, "<!-- json-serve -->"), strings.Index(text, "<!-- /json-serve -->")
	if i < 0 || j < i {
		t.Fatal("docs/json.md has no json-serve table")
	}
	documented := map[string]bool{}
	for line := range strings.SplitSeq(text[i:j], "\n") {
		cols := strings.Split(line, "|")
		if len(cols) < 3 {
			continue
		}
		for _, m := range regexp.MustCompile("`([a-z0-9_]+)`").FindAllStringSubmatch(cols[1], -1) {
			documented[m[1]] = true
		}
	}
	// The guard's refusal and the Unix datagram peer are not in this run.
	for _, rare := range []string{"suppressed", "reason"} {
		got[rare] = got[rare] || documented[rare]
	}
	for _, k := range slices.Sorted(maps.Keys(got)) {
		if !documented[k] {
			t.Errorf("serve logs %q, which docs/json.md does not list", k)
		}
	}
	for _, k := range slices.Sorted(maps.Keys(documented)) {
		if !got[k] {
			t.Errorf("docs/json.md lists %q, which serve's log never wrote in this run", k)
		}
	}
}
