package hosttarget_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/wfn-dev/wfn/abi/conformance"
	"github.com/wfn-dev/wfn/host"
	"github.com/wfn-dev/wfn/host/hosttarget"
)

// cPackages names what to install on Debian and Ubuntu to build C guests.
const cPackages = "clang lld wasi-libc libclang-rt-dev-wasm32"

// cSysroot returns the wasm32-wasi sysroot the host's C builder would use:
// $WASI_SYSROOT, else the first of the usual places holding libc.a.
func cSysroot() string {
	if s := os.Getenv("WASI_SYSROOT"); s != "" {
		return s
	}
	for _, s := range []string{"/usr", "/usr/share/wasi-sysroot", "/opt/wasi-sdk/share/wasi-sysroot"} {
		if _, err := os.Stat(filepath.Join(s, "lib", "wasm32-wasi", "libc.a")); err == nil {
			return s
		}
	}
	return ""
}

// noCToolchain skips the test, or fails it under CI=true.
func noCToolchain(t *testing.T, format string, args ...any) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatalf("the C conformance guest needs clang for wasm32-wasi (Debian/Ubuntu: apt-get install "+cPackages+"): "+format, args...)
	}
	t.Skipf("skipping: the C conformance guest needs clang for wasm32-wasi (Debian/Ubuntu: apt-get install "+cPackages+"): "+format, args...)
}

// buildCGuest builds the C SDK's conformance guest with the host's C
// build flags, skipping the test when the toolchain is missing, except
// under CI=true, where it fails.
func buildCGuest(t *testing.T) string {
	t.Helper()
	clang := os.Getenv("WFN_CLANG")
	if clang == "" {
		clang = "clang"
	}
	clang, err := exec.LookPath(clang)
	if err != nil {
		noCToolchain(t, "%v", err)
	}
	sysroot := cSysroot()
	if sysroot == "" {
		noCToolchain(t, "no wasm32-wasi sysroot (lib/wasm32-wasi/libc.a)")
	}
	sdk, err := filepath.Abs(filepath.Join("..", "..", "guests", "sdk", "c"))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	flags := []string{
		"--target=wasm32-wasi", "--sysroot=" + sysroot,
		"-mexec-model=reactor", "-O2", "-Wall", "-fno-color-diagnostics", "-Wl,--strip-debug",
	}

	// Link a trivial reactor first, so that a missing wasm-ld or builtins
	// library is a missing toolchain, not a broken guest.
	probe := filepath.Join(dir, "probe.c")
	if err := os.WriteFile(probe, []byte("#include <stdlib.h>\n__attribute__((export_name(\"f\"))) void f(void) { free(malloc(1)); }\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.CommandContext(t.Context(), clang, append(flags, "-o", filepath.Join(dir, "probe.wasm"), probe)...)
	if b, err := cmd.CombinedOutput(); err != nil {
		noCToolchain(t, "%s cannot link a wasm32-wasi reactor: %v\n%s", clang, err, b)
	}

	src := filepath.Join("..", "..", "testdata", "conformance", "c")
	files, err := filepath.Glob(filepath.Join(src, "*.c"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no .c files in %s (%v)", src, err)
	}
	out := filepath.Join(dir, "conformance.wasm")
	args := append(flags, "-I", sdk, "-o", out)
	cmd = exec.CommandContext(t.Context(), clang, append(args, files...)...)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("building the C conformance guest: %v\n%s", err, b)
	} else if len(b) > 0 {
		t.Errorf("building the C conformance guest: clang warned:\n%s", b)
	}
	return out
}

// The C SDK's conformance guest passes every case, on every engine this
// build has (wasmtime with -tags wasmtime).
func TestCSDK(t *testing.T) {
	guest := buildCGuest(t)
	if st, err := os.Stat(guest); err == nil {
		t.Logf("C conformance guest: %d bytes", st.Size())
	}
	for _, engine := range host.Engines() {
		t.Run(engine, func(t *testing.T) {
			conformance.Run(t, hosttarget.Target{Engine: engine}, guest, conformance.Snapshots(os.Getenv("WFN_TEST_SNAPSHOT") != "off"))
		})
	}
}
