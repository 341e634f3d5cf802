package gobuild

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// A build's key changes with GOWASM and GOEXPERIMENT, which change the
// code the go command makes from the same files: a guest built with
// GOWASM=satconv,signext is not the one built without.
func TestKeyToolchainSettings(t *testing.T) {
	if _, err := exec.LookPath("go"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal(err)
		}
		t.Skip("skipping: the go command is not on PATH: ", err)
	}
	dir := t.TempDir()
	for name, text := range map[string]string{
		"go.mod":  "module example.com/guest\n\ngo 1.24\n",
		"main.go": "package main\n\nfunc main() {}\n",
	} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	key := func() string {
		t.Helper()
		b := &Builder{CacheDir: t.TempDir()}
		if err := b.init(context.Background()); err != nil {
			t.Fatal(err)
		}
		k, _, err := b.key(context.Background(), dir, filepath.Join(b.CacheDir, "work"), nil, []string{"main.go"}, nil)
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	t.Setenv("GOWASM", "")
	t.Setenv("GOEXPERIMENT", "")
	plain := key()
	if again := key(); again != plain {
		t.Fatalf("the same settings give two keys: %s and %s", plain, again)
	}
	t.Setenv("GOWASM", "satconv,signext")
	wasm := key()
	if wasm == plain {
		t.Errorf("GOWASM=satconv,signext gives the key of the default build: %s", wasm)
	}
	t.Setenv("GOWASM", "")
	t.Setenv("GOEXPERIMENT", "nogreenteagc")
	if exp := key(); exp == plain || exp == wasm {
		t.Errorf("GOEXPERIMENT=nogreenteagc gives the key %s of another build", exp)
	}
}
