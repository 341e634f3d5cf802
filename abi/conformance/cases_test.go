package conformance_test

import (
	"maps"
	"slices"
	"testing"

	"github.com/wfn-dev/wfn/abi"
	"github.com/wfn-dev/wfn/abi/conformance"
)

// Every import of abi.Funcs has at least one case that checks it, so that
// an SDK author can check every import; the failure lists those without
// one. A case names only imports that exist.
func TestEveryImportHasACase(t *testing.T) {
	covered := map[string][]string{}
	for _, c := range conformance.Cases() {
		for _, name := range c.Imports {
			if _, ok := abi.Lookup(name); !ok {
				t.Errorf("case %s names import %q, which abi.Funcs does not have", c.Name, name)
			}
			covered[name] = append(covered[name], c.Name)
		}
	}
	var missing []string
	for _, f := range abi.Funcs {
		if len(covered[f.Name]) == 0 {
			missing = append(missing, f.Name)
		}
	}
	if len(missing) > 0 {
		t.Errorf("imports without a conformance case: %v", missing)
	}
	for _, name := range slices.Sorted(maps.Keys(covered)) {
		t.Logf("%-28s %v", name, covered[name])
	}
}
