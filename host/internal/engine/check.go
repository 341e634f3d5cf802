package engine

import (
	"fmt"
	"slices"
	"strings"

	"github.com/wfn-dev/wfn/abi"
)

// The load-time rules of the ABI, for every engine alike: each engine
// describes a guest's imports and exports in these terms, and Check gives
// the same verdict, in the same words, whatever the engine.

// Sig is a function signature in WebAssembly value type names ("i32").
type Sig struct {
	Params, Results []string
}

func (s Sig) String() string {
	return "(" + strings.Join(s.Params, ", ") + ") -> (" + strings.Join(s.Results, ", ") + ")"
}

func (s Sig) equal(o Sig) bool {
	return slices.Equal(s.Params, o.Params) && slices.Equal(s.Results, o.Results)
}

// Import is one import of a guest. Sig is set for functions only.
type Import struct {
	Module, Name string
	Func         bool
	Sig          Sig
}

// Export is one function export of a guest.
type Export struct {
	Name string
	Sig  Sig
}

// Guest describes a compiled guest for Check.
type Guest struct {
	Imports []Import
	Funcs   []Export
	Memory  bool // exports "memory"
}

// Check applies the ABI's load-time rules. provided returns the signature
// of a host function, and false when the host has none by that name.
func Check(name string, g Guest, provided func(module, name string) (Sig, bool)) (Exports, error) {
	fail := func(format string, args ...any) (Exports, error) {
		return Exports{}, &LoadError{Name: name, Reason: fmt.Sprintf(format, args...)}
	}
	imports := map[string]bool{}
	for _, imp := range g.Imports {
		if !imp.Func {
			return fail("imports %s.%s, which is not a function; a guest must export its own memory", imp.Module, imp.Name)
		}
		want, ok := provided(imp.Module, imp.Name)
		if !ok {
			if imp.Module == abi.Module {
				return fail("imports %s.%s, which this host does not provide; ABI v%d imports are listed in abi/SPEC.md", imp.Module, imp.Name, abi.Version)
			}
			return fail("imports %s.%s, which this host does not provide", imp.Module, imp.Name)
		}
		if !imp.Sig.equal(want) {
			return fail("imports %s.%s with signature %s, want %s", imp.Module, imp.Name, imp.Sig, want)
		}
		if imp.Module == abi.Module {
			imports[imp.Name] = true
		}
	}
	if !g.Memory {
		return fail("missing export %q (the guest's linear memory)", abi.ExportMemory)
	}
	funcs := map[string]Sig{}
	for _, f := range g.Funcs {
		funcs[f.Name] = f.Sig
	}
	var void Sig
	has := func(export string, want Sig) (bool, error) {
		sig, ok := funcs[export]
		if !ok {
			return false, nil
		}
		if !sig.equal(want) {
			_, err := fail("export %s has signature %s, want %s", export, sig, want)
			return true, err
		}
		return true, nil
	}
	var e Exports
	ok, err := has(abi.ExportMarker, void)
	if err != nil {
		return Exports{}, err
	}
	if !ok {
		return fail("missing export %s: not built for wfn ABI v%d", abi.ExportMarker, abi.Version)
	}
	if _, err := has(abi.ExportInitialize, void); err != nil {
		return Exports{}, err
	}
	for _, x := range []struct {
		name string
		sig  Sig
		dst  *bool
	}{
		{abi.ExportInit, void, &e.Init},
		{abi.ExportHandle, void, &e.Handle},
		{abi.ExportOnSigterm, void, &e.OnSigterm},
		{abi.ExportOnSuspend, void, &e.OnSuspend},
		{abi.ExportRunTask, Sig{Params: []string{"i32"}}, &e.RunTask},
	} {
		if *x.dst, err = has(x.name, x.sig); err != nil {
			return Exports{}, err
		}
	}
	for _, m := range abi.Methods {
		ok, err := has(m, void)
		if err != nil {
			return Exports{}, err
		}
		if ok {
			e.Methods = append(e.Methods, m)
		}
	}
	if imports[abi.ImportWaitUntil] && !e.RunTask {
		return fail("imports %s.%s but does not export %s to run the tasks", abi.Module, abi.ImportWaitUntil, abi.ExportRunTask)
	}
	e.ImportsClose = imports[abi.ImportResponseClose]
	if !e.Handle && len(e.Methods) == 0 {
		return fail("no handler export: export %s or at least one of %s", abi.ExportHandle, strings.Join(abi.Methods, ", "))
	}
	if _, ok := funcs["_start"]; ok {
		return fail("exports _start: a guest must be a WASI reactor (Go: -buildmode=c-shared), not a command")
	}
	return e, nil
}
