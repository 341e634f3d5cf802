package fluid

import (
	"fmt"
	"slices"
	"strings"

	"github.com/wfn-dev/wfn/abi"
	"github.com/wfn-dev/wfn/host/internal/engine"
)

// IsV2 reports whether g is built for ABI version 2: it exports
// abi.ExportMarkerV2.
func IsV2(g engine.Guest) bool {
	for _, f := range g.Funcs {
		if f.Name == abi.ExportMarkerV2 {
			return true
		}
	}
	return false
}

// Check applies the load-time rules of a version 2 guest (SPEC-v2.md
// section 2). provided returns the signature of a host function, and
// false when the host has none by that name.
func Check(name string, g engine.Guest, provided func(module, name string) (engine.Sig, bool)) error {
	fail := func(format string, args ...any) error {
		return &engine.LoadError{Name: name, Reason: fmt.Sprintf(format, args...)}
	}
	for _, imp := range g.Imports {
		if !imp.Func {
			return fail("imports %s.%s, which is not a function; a guest must export its own memory", imp.Module, imp.Name)
		}
		if imp.Module == abi.Module {
			return fail("imports %s.%s: an ABI v2 guest imports module %s, not %s", imp.Module, imp.Name, abi.ModuleV2, abi.Module)
		}
		want, ok := provided(imp.Module, imp.Name)
		if !ok {
			if _, declared := abi.LookupV2(imp.Name); declared && imp.Module == abi.ModuleV2 {
				return fail("imports %s.%s, which ABI v2 declares and this host does not serve yet", imp.Module, imp.Name)
			}
			return fail("imports %s.%s, which this host does not provide", imp.Module, imp.Name)
		}
		if !slices.Equal(imp.Sig.Params, want.Params) || !slices.Equal(imp.Sig.Results, want.Results) {
			return fail("imports %s.%s with signature %s, want %s", imp.Module, imp.Name, imp.Sig, want)
		}
	}
	if !g.Memory {
		return fail("missing export %q (the guest's linear memory)", abi.ExportMemory)
	}
	var void engine.Sig
	found := map[string]bool{}
	for _, f := range g.Funcs {
		if f.Name == abi.ExportHandle || slices.Contains(abi.Methods, f.Name) {
			// A handler export, called once per instance to register
			// its handler (Pool.Exports).
			if !slices.Equal(f.Sig.Params, void.Params) || !slices.Equal(f.Sig.Results, void.Results) {
				return fail("handler export %s has signature %s, want %s", f.Name, f.Sig, void)
			}
			continue
		}
		switch f.Name {
		case abi.ExportMarkerV2, abi.ExportServe, abi.ExportInitialize, abi.ExportInit:
			if !slices.Equal(f.Sig.Params, void.Params) || !slices.Equal(f.Sig.Results, void.Results) {
				return fail("export %s has signature %s, want %s", f.Name, f.Sig, void)
			}
			found[f.Name] = true
		case abi.ExportMarker:
			return fail("exports both %s and %s", abi.ExportMarker, abi.ExportMarkerV2)
		case "_start":
			return fail("exports _start: a guest must be a WASI reactor (Go: -buildmode=c-shared), not a command")
		}
	}
	for _, need := range []string{abi.ExportMarkerV2, abi.ExportServe} {
		if !found[need] {
			return fail("missing export %s (ABI v2 needs %s)", need, strings.Join([]string{abi.ExportMarkerV2, abi.ExportServe}, " and "))
		}
	}
	return nil
}
