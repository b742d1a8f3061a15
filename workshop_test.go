//go:build linux

package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestWorkshopRunsAsWritten runs docs/workshop.sh, which holds every
// command of the workshop that needs no person, with this test binary as
// loopback; and checks that the doc quotes only commands the script runs.
func TestWorkshopRunsAsWritten(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the whole workshop")
	}
	t.Parallel()
	for _, tool := range []string{"bash", "nc", "python3"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("the workshop needs %s: %v", tool, err)
		}
	}
	bin := t.TempDir()
	if err := os.Symlink(os.Args[0], filepath.Join(bin, "loopback")); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", filepath.Join("docs", "workshop.sh"))
	cmd.Env = append(cleanEnv(), asMainVar+"=1", "PATH="+bin+string(os.PathListSeparator)+os.Getenv("PATH"))
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("docs/workshop.sh: %v\n%s", err, out)
	}
	for _, want := range []string{
		"read 6 bytes from", "a datagram of 5 bytes from",
		"TCP gave back b'one two three '", "UDP gave back [b'one ', b'two ', b'three ']",
		"is already in use, held by pid",
	} {
		if !strings.Contains(string(out), want) {
			t.Errorf("the workshop's output lacks %q:\n%s", want, out)
		}
	}
	script, _ := os.ReadFile(filepath.Join("docs", "workshop.sh"))
	doc, err := os.ReadFile(filepath.Join("docs", "workshop.md"))
	if err != nil {
		t.Fatal(err)
	}
	// Every command the doc shows with "$ " is one the script runs, with
	// the doc's port numbers where the script has $PORT.
	var runs []string
	for _, m := range regexp.MustCompile(`(?m)^\s*run "(.*)$`).FindAllStringSubmatch(string(script), -1) {
		// A one-line command ends in the quote that closes run's
		// argument; a longer one (python3 -c "...) goes on below.
		line := m[1]
		if strings.HasSuffix(line, `"`) && !strings.HasSuffix(line, `\"`) {
			line = strings.TrimSuffix(line, `"`)
		}
		line = strings.NewReplacer(`\"`, `"`, `\$`, `$`, "$PORT", "PORT").Replace(line)
		runs = append(runs, line)
	}
	port := regexp.MustCompile(`\b\d{4,5}\b`)
	for line := range strings.SplitSeq(string(doc), "\n") {
		shown, ok := strings.CutPrefix(line, "$ ")
		if !ok {
			continue
		}
		shown = port.ReplaceAllString(shown, "PORT")
		if !slices.ContainsFunc(runs, func(r string) bool {
			r = port.ReplaceAllString(r, "PORT")
			if i := strings.Index(r, "$*"); i >= 0 { // the script's own arguments
				return strings.HasPrefix(shown, r[:i])
			}
			return strings.HasPrefix(r, shown)
		}) {
			t.Errorf("docs/workshop.md shows %q, which docs/workshop.sh never runs", shown)
		}
	}
}
