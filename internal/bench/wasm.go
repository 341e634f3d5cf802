package bench

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// AppendCustomSection returns wasm with a custom section (id 0) added at
// the end: it changes the module's bytes, and so its compilation cache
// key, without changing what it does.
func AppendCustomSection(wasm []byte, name string, payload []byte) []byte {
	var content []byte
	content = appendULEB(content, uint64(len(name)))
	content = append(content, name...)
	content = append(content, payload...)
	out := append([]byte(nil), wasm...)
	out = append(out, 0)
	out = appendULEB(out, uint64(len(content)))
	return append(out, content...)
}

func appendULEB(b []byte, v uint64) []byte {
	for {
		c := byte(v & 0x7f)
		v >>= 7
		if v != 0 {
			c |= 0x80
		}
		b = append(b, c)
		if v == 0 {
			return b
		}
	}
}

// RepoRoot finds the wfn repository from dir upwards: the directory whose
// go.mod declares module github.com/wfn-dev/wfn.
func RepoRoot(dir string) (string, error) {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	for {
		b, err := os.ReadFile(filepath.Join(dir, "go.mod"))
		if err == nil && bytes.Contains(b, []byte("module github.com/wfn-dev/wfn\n")) {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("bench: not inside the wfn repository (no go.mod of github.com/wfn-dev/wfn above)")
		}
		dir = parent
	}
}

// ErrNoGo is returned by BuildGoGuest when the go command is missing.
var ErrNoGo = errors.New("bench: the go command is not installed")

// BuildGoGuest builds the Go guest package pkg (such as ./hello) of the
// module in moduleDir to the file out, as wfn builds a function.
func BuildGoGuest(ctx context.Context, moduleDir, pkg, out string, tags ...string) error {
	gobin, err := exec.LookPath("go")
	if err != nil {
		return ErrNoGo
	}
	args := []string{"build", "-buildmode=c-shared", "-trimpath", "-o", out}
	if len(tags) > 0 {
		args = append(args, "-tags", strings.Join(tags, ","))
	}
	cmd := exec.CommandContext(ctx, gobin, append(args, pkg)...)
	cmd.Dir = moduleDir
	cmd.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm", "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("bench: cannot build %s in %s: %w\n%s", pkg, moduleDir, err, b)
	}
	return nil
}

// WriteSite creates dir/api with the given .wasm files (name -> bytes,
// name without .wasm) and, if config is not empty, dir/wfn.json.
func WriteSite(dir string, fns map[string][]byte, config string) error {
	if err := os.MkdirAll(filepath.Join(dir, "api"), 0o755); err != nil {
		return err
	}
	for name, wasm := range fns {
		if err := os.WriteFile(filepath.Join(dir, "api", name+".wasm"), wasm, 0o644); err != nil {
			return err
		}
	}
	if config != "" {
		return os.WriteFile(filepath.Join(dir, "wfn.json"), []byte(config), 0o644)
	}
	return nil
}
