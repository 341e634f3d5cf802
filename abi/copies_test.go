package abi_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/wfn-dev/wfn/abi"
)

// The SDKs restate the imports in their own languages. These tests read
// each copy and fail when it declares an import abi.Funcs does not have,
// or with other parameter or result types; an import an SDK does not
// declare is logged, not failed (it may not need it).

// checkCopy compares one SDK's declarations, name to parameter and result
// types, with abi.Funcs.
func checkCopy(t *testing.T, sdk string, decls map[string]abi.Func) {
	t.Helper()
	if len(decls) == 0 {
		t.Fatalf("%s: no import declarations found: the parser does not match the source any more", sdk)
	}
	for name, got := range decls {
		want, ok := abi.Lookup(name)
		if !ok {
			t.Errorf("%s declares import %q, which abi.Funcs does not have", sdk, name)
			continue
		}
		if !slices.Equal(got.ParamTypes(), want.ParamTypes()) || got.Result.Type != want.Result.Type {
			t.Errorf("%s declares %s with parameters %v and result %v, want %s: %v and %v", sdk, name, got.ParamTypes(), got.Result.Type, want.Signature(), want.ParamTypes(), want.Result.Type)
		}
	}
	for _, f := range abi.Funcs {
		if _, ok := decls[f.Name]; !ok {
			t.Logf("%s does not declare %s", sdk, f.Name)
		}
	}
}

// The Go SDK's //go:wasmimport declarations (guests/sdk/go/wfn/internal/
// hostcall/hostcall_wasip1.go): on wasm, unsafe.Pointer, uint32 and int32
// are i32, int64 is i64.
func TestGoSDKImports(t *testing.T) {
	decls := goWasmImports(t, "../guests/sdk/go/wfn/internal/hostcall/hostcall_wasip1.go", abi.Module)
	checkCopy(t, "the Go SDK", decls)
}

// The Go SDK's runtime for ABI v2 (guests/sdk/go/wfn/internal/hostcall/
// fluid_wasip1.go, build tag wfn_fluid) declares
// imports of module wfn_v2 as abi.FuncsV2 does.
func TestGoSDKV2Imports(t *testing.T) {
	decls := goWasmImports(t, "../guests/sdk/go/wfn/internal/hostcall/fluid_wasip1.go", abi.ModuleV2)
	if len(decls) == 0 {
		t.Fatal("no import declarations found")
	}
	for name, got := range decls {
		want, ok := abi.LookupV2(name)
		if !ok {
			t.Errorf("the v2 runtime declares import %q, which abi.FuncsV2 does not have", name)
			continue
		}
		if !slices.Equal(got.ParamTypes(), want.ParamTypes()) || got.Result.Type != want.Result.Type {
			t.Errorf("the v2 runtime declares %s with %v and %v, want %s", name, got.ParamTypes(), got.Result.Type, want.Signature())
		}
	}
}

// goWasmImports reads the //go:wasmimport declarations of a Go file, each
// of module: on wasm, unsafe.Pointer, uint32 and int32 are i32, int64 is
// i64.
func goWasmImports(t *testing.T, path, module string) map[string]abi.Func {
	t.Helper()
	f, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.ParseComments)
	if err != nil {
		t.Fatal(err)
	}
	types := map[string]abi.Type{"unsafe.Pointer": abi.I32, "uint32": abi.I32, "int32": abi.I32, "int64": abi.I64}
	typeOf := func(e ast.Expr) abi.Type {
		var name string
		switch e := e.(type) {
		case *ast.Ident:
			name = e.Name
		case *ast.SelectorExpr:
			name = e.X.(*ast.Ident).Name + "." + e.Sel.Name
		}
		ty, ok := types[name]
		if !ok {
			t.Errorf("%s: a parameter or result of type %s, which is no wasm number type here", path, name)
		}
		return ty
	}
	decls := map[string]abi.Func{}
	for _, d := range f.Decls {
		fn, ok := d.(*ast.FuncDecl)
		if !ok || fn.Doc == nil {
			continue
		}
		for _, c := range fn.Doc.List {
			rest, ok := strings.CutPrefix(c.Text, "//go:wasmimport ")
			if !ok {
				continue
			}
			mod, name, _ := strings.Cut(rest, " ")
			if mod != module {
				t.Errorf("%s: %s imports from module %q", path, fn.Name.Name, mod)
			}
			var decl abi.Func
			for _, p := range fn.Type.Params.List {
				for range max(1, len(p.Names)) {
					decl.Params = append(decl.Params, abi.Value{Type: typeOf(p.Type)})
				}
			}
			if r := fn.Type.Results; r == nil || len(r.List) != 1 {
				t.Errorf("%s: %s has not one result", path, fn.Name.Name)
			} else {
				decl.Result.Type = typeOf(r.List[0].Type)
			}
			decls[name] = decl
		}
	}
	return decls
}

// The C SDK's header (guests/sdk/c/wfn.h): on wasm32, pointers, size_t and
// int32_t are i32, int64_t is i64. Its error codes and limits are abi's.
func TestCHeaderImports(t *testing.T) {
	const path = "../guests/sdk/c/wfn.h"
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	src := string(b)
	decl := regexp.MustCompile(`WFN__IMPORT\("([a-z_0-9]+)"\)\s*([a-z0-9_]+)\s+wfn_[a-z_0-9]+\(([^)]*)\);`)
	typeOf := func(s string) abi.Type {
		s = strings.TrimSpace(s)
		switch {
		case strings.HasPrefix(s, "int64_t"):
			return abi.I64
		case strings.Contains(s, "*"), strings.HasPrefix(s, "size_t"), strings.HasPrefix(s, "int32_t"):
			return abi.I32
		}
		t.Errorf("%s: a parameter or result %q, which is no wasm number type here", path, s)
		return 0
	}
	decls := map[string]abi.Func{}
	for _, m := range decl.FindAllStringSubmatch(src, -1) {
		var f abi.Func
		if strings.TrimSpace(m[3]) != "void" {
			for p := range strings.SplitSeq(m[3], ",") {
				f.Params = append(f.Params, abi.Value{Type: typeOf(p)})
			}
		}
		f.Result.Type = typeOf(m[2])
		decls[m[1]] = f
	}
	if n := strings.Count(src, "WFN__IMPORT(\""); n != len(decls) {
		t.Errorf("%s: %d WFN__IMPORT lines, %d read: a declaration the test cannot parse", path, n, len(decls))
	}
	checkCopy(t, "wfn.h", decls)

	defines := map[string]int{"WFN_ABI_VERSION": abi.Version, "WFN_MAX_TASKS": abi.MaxTasks,
		"WFN_TCP_INSTANCE": abi.TCPInstance, "WFN_MAX_TCP_CONNS": abi.MaxTCPConns}
	for e := abi.ENOTFOUND; e >= abi.ETIMEDOUT; e-- {
		defines["WFN_"+e.String()] = int(e)
	}
	def := regexp.MustCompile(`(?m)^#define (WFN_[A-Z_0-9]+) \(?(-?[0-9]+)\)?`)
	seen := map[string]bool{}
	for _, m := range def.FindAllStringSubmatch(src, -1) {
		want, ok := defines[m[1]]
		if !ok {
			continue
		}
		seen[m[1]] = true
		if got, _ := strconv.Atoi(m[2]); got != want {
			t.Errorf("%s: #define %s %s, want %d", path, m[1], m[2], want)
		}
	}
	for name := range defines {
		if !seen[name] {
			t.Errorf("%s does not define %s", path, name)
		}
	}
}
