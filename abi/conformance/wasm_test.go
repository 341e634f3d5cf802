package conformance

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
)

func exportNames(t *testing.T, wasm []byte) []string {
	t.Helper()
	exps, _, _, err := parseExports(wasm)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range exps {
		names = append(names, e.name)
	}
	return names
}

func TestWithoutExport(t *testing.T) {
	wasm, err := os.ReadFile(filepath.Join("..", "..", "testdata", "wat", "methods.wasm"))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := exportNames(t, wasm), []string{"memory", "wfn_abi_v1", "GET", "POST"}; !slices.Equal(got, want) {
		t.Fatalf("exports %q, want %q", got, want)
	}
	out, err := withoutExport(wasm, "GET")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := exportNames(t, out), []string{"memory", "wfn_abi_v1", "POST"}; !slices.Equal(got, want) {
		t.Errorf("after removing GET: exports %q, want %q", got, want)
	}
	if _, err := withoutExport(wasm, "wfn_handle"); err == nil {
		t.Errorf("removing an absent export: no error")
	}
	if _, _, _, err := parseExports([]byte("not wasm")); err == nil {
		t.Errorf("parseExports accepted a non-module")
	}
	if _, _, _, err := parseExports(wasm[:len(wasm)-3]); err == nil {
		t.Errorf("parseExports accepted a truncated module")
	}
}
