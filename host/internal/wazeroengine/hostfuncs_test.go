package wazeroengine

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/wfn-dev/wfn/abi"
)

// The host serves exactly the imports abi.Imports lists, in spec order: no
// more (no stubs of imports that are not built), no fewer.
func TestHostFunctionsMatchABI(t *testing.T) {
	var names []string
	for _, f := range hostFuncs {
		names = append(names, f.name)
	}
	if !slices.Equal(names, abi.Imports) {
		t.Errorf("host functions %v\nwant abi.Imports %v", names, abi.Imports)
	}
	e, err := New(context.Background(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close(context.Background())
	var served []string
	for key := range e.provided {
		if mod, name, _ := strings.Cut(key, "\x00"); mod == abi.Module {
			served = append(served, name)
		}
	}
	slices.Sort(served)
	want := slices.Sorted(slices.Values(abi.Imports))
	if !slices.Equal(served, want) {
		t.Errorf("module %s exports %v, want %v", abi.Module, served, want)
	}
}
