package hosttarget_test

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/wfn-dev/wfn/abi/conformance"
	"github.com/wfn-dev/wfn/host"
	"github.com/wfn-dev/wfn/host/hosttarget"
)

// buildGoGuest builds the Go SDK's conformance guest with the build tags
// tags (hosttarget.TagFluid: as an ABI version 2 guest), skipping the test
// when the go command is missing, except under CI=true, where it fails.
func buildGoGuest(t *testing.T, tags ...string) string {
	t.Helper()
	goBin, err := exec.LookPath("go")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("the go command is needed to build the Go conformance guest: %v", err)
		}
		t.Skipf("skipping: the go command is needed to build the Go conformance guest: %v", err)
	}
	out := filepath.Join(t.TempDir(), "conformance.wasm")
	args := []string{"build", "-buildmode=c-shared", "-o", out}
	if len(tags) > 0 {
		args = append(args, "-tags="+strings.Join(tags, ","))
	}
	cmd := exec.CommandContext(t.Context(), goBin, append(args, ".")...)
	cmd.Dir = filepath.Join("..", "..", "testdata", "conformance", "go")
	cmd.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm", "CGO_ENABLED=0", "GOWORK=off")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("building the Go conformance guest: %v\n%s", err, b)
	}
	return out
}

// The Go SDK's conformance guest passes every case, on every engine this
// build has (wasmtime with -tags wasmtime).
func TestGoSDK(t *testing.T) {
	guest := buildGoGuest(t)
	for _, engine := range host.Engines() {
		t.Run(engine, func(t *testing.T) {
			conformance.Run(t, hosttarget.Target{Engine: engine}, guest, conformance.Snapshots(os.Getenv("WFN_TEST_SNAPSHOT") != "off"))
		})
	}
}

// The Go SDK's conformance guest built for ABI version 2 (build tag
// wfn_fluid) passes every case, the fluid ones among them, on every
// engine this build has (wasmtime with -tags wasmtime, or that one alone
// with WFN_TEST_ENGINE=wasmtime).
func TestGoSDKFluid(t *testing.T) {
	guest := buildGoGuest(t, hosttarget.TagFluid)
	for _, engine := range testEngines() {
		t.Run(engine, func(t *testing.T) {
			conformance.Run(t, hosttarget.Target{Engine: engine}, guest)
		})
	}
}

// testEngines are the engines to run the suite on: $WFN_TEST_ENGINE if it
// is set, else every engine of this build.
func testEngines() []string {
	if e := os.Getenv("WFN_TEST_ENGINE"); e != "" {
		return []string{e}
	}
	return host.Engines()
}

// The suite can fail: the smallest guest, which implements no case,
// fails every case it takes part in.
func TestBrokenGuestFails(t *testing.T) {
	var out bytes.Buffer
	passed, failed, err := conformance.RunAll(context.Background(), hosttarget.Target{}, filepath.Join("..", "..", "testdata", "wat", "hello.wasm"), &out)
	if err != nil {
		t.Fatalf("RunAll: %v", err)
	}
	t.Logf("output:\n%s", &out)
	if passed != 0 {
		t.Errorf("%d cases passed with a guest that implements none", passed)
	}
	// dispatch is skipped: hello.wasm has no method export; so are the
	// fluid cases: it is a version 1 guest.
	want := -1
	for _, c := range conformance.Cases() {
		if !c.Fluid {
			want++
		}
	}
	if failed != want {
		t.Errorf("%d cases failed, want %d", failed, want)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if last := lines[len(lines)-1]; last != "0 passed, "+strconv.Itoa(failed)+" failed" {
		t.Errorf("last line %q", last)
	}
	if !strings.Contains(out.String(), "skip dispatch: ") {
		t.Errorf("dispatch not reported as skipped")
	}
	if !strings.Contains(out.String(), "skip fluid-trap: the guest is an ABI version 1 guest") {
		t.Errorf("fluid-trap not reported as skipped for a version 1 guest")
	}
}

func TestRunAllOnly(t *testing.T) {
	var out bytes.Buffer
	_, _, err := conformance.RunAll(context.Background(), hosttarget.Target{}, filepath.Join("..", "..", "testdata", "wat", "hello.wasm"), &out, conformance.Only("nope"))
	if err == nil || !strings.Contains(err.Error(), `no case "nope"`) {
		t.Errorf("Only(nope): err = %v", err)
	}
}

// A guest that does not export wfn_handle cannot take the suite.
func TestGuestWithoutHandle(t *testing.T) {
	_, _, err := conformance.RunAll(context.Background(), hosttarget.Target{}, filepath.Join("..", "..", "testdata", "wat", "methods.wasm"), &bytes.Buffer{})
	if err == nil || !strings.Contains(err.Error(), "wfn_handle") {
		t.Errorf("err = %v, want one naming wfn_handle", err)
	}
}

// The JavaScript runtime's conformance guest (a TypeScript source file the
// host bundles and runs on its embedded runtime) passes every case, on
// every engine this build has. It needs nothing but Go.
func TestJSSDK(t *testing.T) {
	guest := filepath.Join("..", "..", "testdata", "conformance", "js", "conformance.ts")
	for _, engine := range host.Engines() {
		t.Run(engine, func(t *testing.T) {
			conformance.Run(t, hosttarget.Target{Engine: engine}, guest, conformance.Snapshots(os.Getenv("WFN_TEST_SNAPSHOT") != "off"))
		})
	}
}

// A case that fails because the host failed the invocation says why, from
// the host's log: an SDK author running wfn conformance sees the trap
// (here an out-of-bounds pointer handed to response_body_write, SPEC.md
// section 1) and not only the 500 it caused.
func TestFailureShowsHostReason(t *testing.T) {
	var out bytes.Buffer
	_, failed, err := conformance.RunAll(t.Context(), hosttarget.Target{}, filepath.Join("..", "..", "testdata", "wat", "badptr.wasm"), &out, conformance.Only("empty"))
	if err != nil {
		t.Fatal(err)
	}
	if failed != 1 {
		t.Fatalf("failed = %d, want 1:\n%s", failed, &out)
	}
	for _, want := range []string{"FUNCTION_INVOCATION_FAILED", "host log", "response_body_write: out-of-bounds memory access at 0xfff0, length 100"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("the output does not say %q:\n%s", want, &out)
		}
	}
}
