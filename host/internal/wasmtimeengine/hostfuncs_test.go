//go:build wasmtime

package wasmtimeengine

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/wfn-dev/wfn/abi"
)

// The engine provides exactly the imports of abi.Funcs, with their
// signatures: no more, no fewer.
func TestHostFunctionsMatchABI(t *testing.T) {
	e, err := New(context.Background(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close(context.Background())
	var served []string
	for key, sig := range e.provided {
		mod, name, _ := strings.Cut(key, "\x00")
		if mod != abi.Module {
			continue
		}
		served = append(served, name)
		f, ok := abi.Lookup(name)
		if !ok {
			continue
		}
		var want []string
		for _, p := range f.Params {
			want = append(want, p.Type.String())
		}
		if !slices.Equal(sig.Params, want) || !slices.Equal(sig.Results, []string{f.Result.Type.String()}) {
			t.Errorf("%s: provided as %s, want %s", name, sig, f.Signature())
		}
	}
	slices.Sort(served)
	if want := slices.Sorted(slices.Values(abi.Imports)); !slices.Equal(served, want) {
		t.Errorf("module %s provides %v, want %v", abi.Module, served, want)
	}
}
