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

// specImports reads the import tables of SPEC.md: the rows of the sections
// whose heading says (module `wfn`), as name and signature, in order.
func specImports(t *testing.T) [][2]string {
	t.Helper()
	f, err := os.Open("SPEC.md")
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
			inWfn = strings.Contains(line, "(module `wfn`)")
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
	spec := specImports(t)
	if len(spec) < 30 {
		t.Fatalf("read %d import rows from SPEC.md: the table format changed?", len(spec))
	}
	for i := range max(len(spec), len(abi.Funcs)) {
		switch {
		case i >= len(spec):
			t.Errorf("abi.Funcs has %s %s, which SPEC.md does not declare", abi.Funcs[i].Name, abi.Funcs[i].Signature())
			continue
		case i >= len(abi.Funcs):
			t.Errorf("SPEC.md declares %s %s, which abi.Funcs does not have", spec[i][0], spec[i][1])
			continue
		}
		want, ok := parseSignature(spec[i][0], spec[i][1])
		if !ok {
			t.Errorf("SPEC.md: cannot read the signature of %s: %q", spec[i][0], spec[i][1])
			continue
		}
		got := abi.Funcs[i]
		if got.Name != want.Name || !slices.Equal(got.Params, want.Params) || got.Result != want.Result {
			t.Errorf("import %d: SPEC.md has %s %s, abi.Funcs has %s %s", i, want.Name, spec[i][1], got.Name, got.Signature())
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
