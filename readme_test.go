package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestDocsShowCommandsThatParse: every loopback command that the README
// and docs/ show after a "$ " prompt still parses, its flags and their
// values included, so the docs cannot drift from the tool. Each is run
// with --help added, which exits 0 only when everything before it parsed.
func TestDocsShowCommandsThatParse(t *testing.T) {
	t.Parallel()
	files, _ := filepath.Glob(filepath.Join("docs", "*.md"))
	files = append(files, "README.md")
	invocation := regexp.MustCompile(`loopback( [^|;&>)]*)?`)
	vars := strings.NewReplacer(
		`"$LOOPBACK_TCP"`, "tcp://127.0.0.1:9", "$LOOPBACK_TCP", "tcp://127.0.0.1:9",
		`"$LOOPBACK_UDP"`, "udp://127.0.0.1:9", "$LOOPBACK_UDP", "udp://127.0.0.1:9",
		`"$LOOPBACK_PORT"`, "9", "$LOOPBACK_PORT", "9", `"$LOOPBACK_PID"`, "1", "$LOOPBACK_PID", "1",
		"$PORT", "9", "PORT", "9")
	checked := 0
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(string(b), "\n")
		for i, line := range lines {
			shown, ok := strings.CutPrefix(line, "$ ")
			if !ok {
				continue
			}
			if i+1 < len(lines) && strings.HasPrefix(lines[i+1], "loopback: ") && strings.Contains(lines[i+1], "not") {
				continue // an example of a refused value, shown with its refusal
			}
			shown, _, _ = strings.Cut(shown, " #")
			for _, m := range invocation.FindAllString(shown, -1) {
				args := strings.Fields(strings.ReplaceAll(vars.Replace(m), `"`, ""))[1:]
				if len(args) > 0 && (args[0] == "completion" || args[0] == "version") {
					continue // no --help of their own to parse against
				}
				_, stderr, code := runCLI(t, nil, append(args, "--help")...)
				if code != 0 {
					t.Errorf("%s shows %q, which no longer parses: %s", f, m, stderr)
				}
				checked++
			}
		}
	}
	if checked < 10 {
		t.Errorf("checked only %d commands; the docs' prompts are not being found", checked)
	}
}
