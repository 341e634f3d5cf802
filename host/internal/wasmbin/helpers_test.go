package wasmbin_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// wat compiles WebAssembly text with wabt's wat2wasm and the given
// feature flags (such as --enable-threads).
func wat(t testing.TB, src string, flags ...string) []byte {
	t.Helper()
	bin, err := exec.LookPath("wat2wasm")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("wat2wasm (wabt) is needed by this test")
		}
		t.Skip("wat2wasm (wabt) not found; install wabt to run this test")
	}
	dir := t.TempDir()
	in, out := filepath.Join(dir, "m.wat"), filepath.Join(dir, "m.wasm")
	if err := os.WriteFile(in, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	args := append(append([]string{}, flags...), "-o", out, in)
	if b, err := exec.Command(bin, args...).CombinedOutput(); err != nil {
		t.Fatalf("wat2wasm %v: %v\n%s\n%s", flags, err, b, src)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// goGuest builds the Go guest guests/api/hello as a WASI reactor.
func goGuest(t testing.TB) []byte {
	t.Helper()
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("go not found on PATH: cannot build the Go guest")
	}
	out := filepath.Join(t.TempDir(), "hello.wasm")
	cmd := exec.Command(gobin, "build", "-buildmode=c-shared", "-o", out, "./hello")
	cmd.Dir = filepath.Join("..", "..", "..", "guests", "api")
	cmd.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build guests/api/hello: %v\n%s", err, b)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// fixtures returns the committed testdata/wat/*.wasm modules by file name.
func fixtures(t testing.TB) map[string][]byte {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("..", "..", "..", "testdata", "wat", "*.wasm"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no fixtures in testdata/wat: %v", err)
	}
	m := map[string][]byte{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		m[filepath.Base(f)] = b
	}
	return m
}

func readFile(t testing.TB, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
