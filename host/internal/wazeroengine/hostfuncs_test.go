package wazeroengine

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/tetratelabs/wazero/api"

	"github.com/wfn-dev/wfn/abi"
)

// The host module serves exactly the imports of abi.Funcs, with their
// signatures and parameter names: no more (no stubs of imports that are
// not built), no fewer.
func TestHostFunctionsMatchABI(t *testing.T) {
	e, err := New(context.Background(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close(context.Background())
	var served []string
	for key, def := range e.provided {
		mod, name, _ := strings.Cut(key, "\x00")
		if mod != abi.Module {
			continue
		}
		served = append(served, name)
		f, ok := abi.Lookup(name)
		if !ok {
			continue
		}
		want := []api.ValueType{}
		for _, p := range f.Params {
			want = append(want, api.ValueType(p.Type))
		}
		if !slices.Equal(def.ParamTypes(), want) || !slices.Equal(def.ResultTypes(), []api.ValueType{api.ValueType(f.Result.Type)}) {
			t.Errorf("%s: served as %s, want %s", name, sigOf(def), f.Signature())
		}
		if !slices.Equal(def.ParamNames(), f.ParamNames()) {
			t.Errorf("%s: parameter names %v, want %v", name, def.ParamNames(), f.ParamNames())
		}
	}
	slices.Sort(served)
	want := slices.Sorted(slices.Values(abi.Imports))
	if !slices.Equal(served, want) {
		t.Errorf("module %s exports %v, want %v", abi.Module, served, want)
	}
}
