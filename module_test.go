package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestAnotherModuleImportsAndInstalls: the module path is one the Go
// toolchain fetches, so a second module can import the server package, use
// the loopbacktest fixture in its own tests, and build the command. Nothing is published from here, so the second module
// points its requirement at this checkout with a replace directive, as a
// user's module would point at a fork.
func TestAnotherModuleImportsAndInstalls(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a second module with the go command")
	}
	t.Parallel()
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Skipf("no go command: %v", err)
	}
	checkout, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	const mod = "github.com/loopback-dev/loopback"
	writeTestFile(t, filepath.Join(dir, "go.mod"), "module example.com/user\n\ngo 1.26.8\n\n"+
		"require "+mod+" v0.0.0\n\nreplace "+mod+" => "+checkout+"\n")
	writeTestFile(t, filepath.Join(dir, "main.go"), `package main

import (
	"context"
	"fmt"
	"net/netip"

	"`+mod+`/server"
)

func main() {
	l, err := server.Listen(context.Background(), netip.MustParseAddrPort("127.0.0.1:0"), true, false)
	if err != nil {
		panic(err)
	}
	defer l.Close()
	fmt.Println("imported")
}
`)
	// A user's test of a client that gives up: the fixture from another
	// module, run by go test.
	writeTestFile(t, filepath.Join(dir, "client_test.go"), `package main

import (
	"errors"
	"net"
	"os"
	"testing"
	"time"

	"`+mod+`/loopbacktest"
)

func TestClientGivesUp(t *testing.T) {
	srv := loopbacktest.Echo(t, loopbacktest.Delay(time.Second))
	c, err := net.Dial("tcp", srv.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(50 * time.Millisecond))
	c.Write([]byte("ping"))
	if _, err := c.Read(make([]byte, 4)); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("read = %v, want a timeout", err)
	}
}
`)
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()
	gocmd := func(args ...string) string {
		t.Helper()
		cmd := exec.CommandContext(ctx, gobin, args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "GOFLAGS=-mod=mod", "GOBIN="+filepath.Join(dir, "bin"))
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	if out := gocmd("run", "."); strings.TrimSpace(out) != "imported" {
		t.Errorf("the importing program printed %q, want \"imported\"", out)
	}
	if out := gocmd("test", "-count=1", "."); !strings.Contains(out, "ok") {
		t.Errorf("the importing module's test: %s", out)
	}
	gocmd("install", mod)
	if _, err := os.Stat(filepath.Join(dir, "bin", "loopback")); err != nil {
		t.Errorf("go install %s left no binary: %v", mod, err)
	}
}

func writeTestFile(t *testing.T, path, text string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
}
