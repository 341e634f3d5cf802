package abi_test

import (
	"bufio"
	"fmt"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/wfn-dev/wfn/abi"
)

// specImports reads the import tables of a spec file: the rows of the
// sections whose heading says (module `module`), as name and signature, in
// order.
func specImports(t *testing.T, file, module string) [][2]string {
	t.Helper()
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	row := regexp.MustCompile("^\\| `([a-z_0-9]+)` \\| `([^`]*)` \\|")
	var rows [][2]string
	inWfn := false
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "## ") {
			inWfn = strings.Contains(line, "(module `"+module+"`)")
			continue
		}
		if m := row.FindStringSubmatch(line); inWfn && m != nil {
			rows = append(rows, [2]string{m[1], m[2]})
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return rows
}

// parseSignature reads a signature as SPEC.md writes it: "(name, name
// type, ...) -> result", a parameter's type i32 unless given, the result a
// name (an i32) or a bare type.
func parseSignature(name, sig string) (abi.Func, bool) {
	ps, result, ok := strings.Cut(sig, ") -> ")
	ps, ok2 := strings.CutPrefix(ps, "(")
	if !ok || !ok2 {
		return abi.Func{}, false
	}
	types := map[string]abi.Type{"i32": abi.I32, "i64": abi.I64}
	f := abi.Func{Name: name, Params: []abi.Value{}}
	for p := range strings.SplitSeq(ps, ", ") {
		if p == "" {
			continue
		}
		n, ty, typed := strings.Cut(p, " ")
		v := abi.Value{Name: n, Type: abi.I32}
		if typed {
			if v.Type, ok = types[ty]; !ok {
				return abi.Func{}, false
			}
		}
		f.Params = append(f.Params, v)
	}
	if ty, ok := types[result]; ok {
		f.Result = abi.Value{Type: ty}
	} else {
		f.Result = abi.Value{Name: result, Type: abi.I32}
	}
	return f, true
}

// SPEC.md's import tables and abi.Funcs declare the same imports, in the
// same order, with the same parameter names and types and results: one
// cannot change without the other.
func TestSpecMatchesFuncs(t *testing.T) {
	compareSpec(t, "SPEC.md", abi.Module, abi.Funcs)
}

// SPEC-v2.md's import tables and abi.FuncsV2 declare the same imports of
// module wfn_v2, in the same order.
func TestSpecV2MatchesFuncsV2(t *testing.T) {
	compareSpec(t, "SPEC-v2.md", abi.ModuleV2, abi.FuncsV2)
	for _, f := range abi.FuncsV2 {
		// registering_export is the one import of the instance, called
		// before any invocation (SPEC-v2.md section 2).
		if f.Name != abi.ImportRegisteringExport && (len(f.Params) == 0 || f.Params[0] != (abi.Value{Name: "inv", Type: abi.I32})) {
			t.Errorf("%s: the first parameter of a v2 import is the invocation id, inv i32; got %v", f.Name, f.Params)
		}
		if got, ok := abi.LookupV2(f.Name); !ok || got.Name != f.Name {
			t.Errorf("LookupV2(%s) = %v, %v", f.Name, got, ok)
		}
	}
	if _, ok := abi.LookupV2(abi.ImportWaitUntil); ok {
		t.Errorf("v2 declares wait_until, which invocation_end replaces")
	}
}

func compareSpec(t *testing.T, file, module string, funcs []abi.Func) {
	t.Helper()
	spec := specImports(t, file, module)
	if len(spec) < 30 {
		t.Fatalf("read %d import rows from %s: the table format changed?", len(spec), file)
	}
	for i := range max(len(spec), len(funcs)) {
		switch {
		case i >= len(spec):
			t.Errorf("the table has %s %s, which %s does not declare", funcs[i].Name, funcs[i].Signature(), file)
			continue
		case i >= len(funcs):
			t.Errorf("%s declares %s %s, which the table does not have", file, spec[i][0], spec[i][1])
			continue
		}
		want, ok := parseSignature(spec[i][0], spec[i][1])
		if !ok {
			t.Errorf("%s: cannot read the signature of %s: %q", file, spec[i][0], spec[i][1])
			continue
		}
		got := funcs[i]
		if got.Name != want.Name || !slices.Equal(got.Params, want.Params) || got.Result != want.Result {
			t.Errorf("import %d: %s has %s %s, the table has %s %s", i, file, want.Name, spec[i][1], got.Name, got.Signature())
		}
	}
}

func TestImportsDeriveFromFuncs(t *testing.T) {
	if len(abi.Imports) != len(abi.Funcs) {
		t.Fatalf("%d imports, %d funcs", len(abi.Imports), len(abi.Funcs))
	}
	for i, f := range abi.Funcs {
		if abi.Imports[i] != f.Name {
			t.Errorf("Imports[%d] = %s, Funcs[%d] = %s", i, abi.Imports[i], i, f.Name)
		}
		got, ok := abi.Lookup(f.Name)
		if !ok || got.Name != f.Name || !slices.Equal(got.Params, f.Params) {
			t.Errorf("Lookup(%s) = %v, %v", f.Name, got, ok)
		}
		for _, p := range f.Params {
			if p.Name == "" || (p.Type != abi.I32 && p.Type != abi.I64) {
				t.Errorf("%s: parameter %+v", f.Name, p)
			}
		}
	}
	if _, ok := abi.Lookup("sock_open"); ok {
		t.Errorf("Lookup found an import that does not exist")
	}
	if got := abi.Type(0x7d).String(); got != "Type(0x7d)" {
		t.Errorf("String of f32's byte = %q", got)
	}
}

func ExampleFunc_Signature() {
	f, _ := abi.Lookup(abi.ImportHTTPWait)
	fmt.Println(f.Signature(), f.ParamTypes(), f.Result.Type)
	// Output: (h, timeout_ms i64) -> i32 [i32 i64] i32
}
