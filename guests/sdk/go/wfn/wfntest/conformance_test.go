package wfntest_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// The conformance suite passes on wfntest with the Go SDK's conformance
// guest (testdata/conformance/go, a module of its own, whose TestWfntest
// runs its handler through wfntest.Target), as it does on the host
// (host/hosttarget): the double and the host agree on every case both
// take part in.
func TestConformance(t *testing.T) {
	goBin, err := exec.LookPath("go")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("the go command is needed to test the Go conformance guest: %v", err)
		}
		t.Skipf("skipping: the go command is needed to test the Go conformance guest: %v", err)
	}
	cmd := exec.CommandContext(t.Context(), goBin, "test", "-count=1", "-run", "^TestWfntest$", ".")
	cmd.Dir = filepath.Join("..", "..", "..", "..", "..", "testdata", "conformance", "go")
	cmd.Env = append(os.Environ(), "GOWORK=off")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("go test in %s: %v\n%s", cmd.Dir, err, out)
	}
	t.Logf("%s", out)
}
