package host_test

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestWATFixtures checks that every committed .wasm fixture is what its
// .wat source assembles to, so that the sources can be trusted.
func TestWATFixtures(t *testing.T) {
	wat2wasm, err := exec.LookPath("wat2wasm")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("wat2wasm (Debian package wabt) is needed: %v", err)
		}
		t.Skipf("skipping: wat2wasm (Debian package wabt) is not installed")
	}
	srcs, err := filepath.Glob("../testdata/wat/*.wat")
	if err != nil || len(srcs) == 0 {
		t.Fatalf("no .wat fixtures: %v", err)
	}
	for _, src := range srcs {
		out := filepath.Join(t.TempDir(), "out.wasm")
		if msg, err := exec.Command(wat2wasm, src, "-o", out).CombinedOutput(); err != nil {
			t.Fatalf("wat2wasm %s: %v\n%s", src, err, msg)
		}
		want, _ := os.ReadFile(out)
		got, err := os.ReadFile(strings.TrimSuffix(src, ".wat") + ".wasm")
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("%s: the committed .wasm is stale; run: wat2wasm %s -o %s", src, src, strings.TrimSuffix(src, ".wat")+".wasm")
		}
	}
	example, _ := os.ReadFile("../testdata/example/api/hello.wasm")
	hello, _ := os.ReadFile("../testdata/wat/hello.wasm")
	if !bytes.Equal(example, hello) {
		t.Error("testdata/example/api/hello.wasm differs from testdata/wat/hello.wasm")
	}
}
