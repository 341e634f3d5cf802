package gobuild

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// A go command that ends without a word, killed (the OOM killer, on a
// small host building many functions) or never started (the process out
// of file descriptors, so that no pipe could be made for its output),
// fails the build with the reason it ended. The error was 'cannot build
// api/hello:' and nothing after it, in the log of wfn serve and in the
// 500 of every request to the function.
func TestBuildErrorWithoutOutput(t *testing.T) {
	sh, err := exec.LookPath("sh")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("sh is needed for a stand-in go command: ", err)
		}
		t.Skip("skipping: sh is needed for a stand-in go command: ", err)
	}
	bin := t.TempDir()
	// go env answers; go list and go build are killed.
	script := "#!" + sh + "\ncase \"$1\" in\nenv) echo go1.26.0; echo; echo ;;\n*) kill -9 $$ ;;\nesac\n"
	if err := os.WriteFile(filepath.Join(bin, "go"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", bin)
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "main.go"), []byte("package main\n\nfunc main() {}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	b := &Builder{CacheDir: t.TempDir()}
	_, _, err = b.Build(context.Background(), "api/hello", dir, []string{"main.go"})
	if err == nil {
		t.Fatal("Build with a go command that is killed = nil, want an error")
	}
	if msg := err.Error(); !strings.Contains(msg, "api/hello") || !strings.Contains(msg, "signal: killed") {
		t.Errorf("Build error = %q, want it to name api/hello and say the go command was killed", msg)
	}
}
