package host

import (
	"path/filepath"
	"slices"
	"testing"

	"github.com/wfn-dev/wfn/host/internal/route"
)

// TestAffected checks which functions a change reloads: a script only
// when a file its last bundle was made of changes, every script when
// precision is unsafe (a file no bundle was made of, which may be new; a
// bundle's file that is gone; package.json and the tsconfig files; a
// script with no recorded bundle), Go and C functions as before.
func TestAffected(t *testing.T) {
	a := &route.Source{Path: "api/a.ts", Kind: route.Script}
	b := &route.Source{Path: "api/b.ts", Kind: route.Script}
	c := &route.Source{Path: "api/c.js", Kind: route.Script} // its last build failed: no inputs
	g := &route.Source{Path: "api/g", Kind: route.GoPackage, GoFiles: []string{"main.go"}}
	h := &route.Source{Path: "api/h", Kind: route.CSources, CFiles: []string{"main.c"}}
	srcs := []*route.Source{a, b, c, g, h}
	inputs := map[string][]string{
		"api/a.ts": {"api/_data.json", "api/a.ts", "lib/shared.ts", "lib/sub/deep.ts", "node_modules/x/index.js"},
		"api/b.ts": {"api/b.ts", "lib/b.txt"},
	}
	for _, tc := range []struct {
		name    string
		changed []string
		gone    []string
		want    []*route.Source
	}{
		{"a function's own file", []string{"api/a.ts"}, nil, []*route.Source{a, c}},
		{"the other's", []string{"api/b.ts"}, nil, []*route.Source{b, c}},
		{"a module only a imports", []string{"lib/shared.ts"}, nil, []*route.Source{a, c}},
		{"a JSON module", []string{"api/_data.json"}, nil, []*route.Source{a, c}},
		{"a text module, an extension no kind claims", []string{"lib/b.txt"}, nil, []*route.Source{b, c}},
		{"a package file", []string{"node_modules/x/index.js"}, nil, []*route.Source{a, c}},
		{"a script file no bundle was made of: maybe new", []string{"lib/new.ts"}, nil, []*route.Source{a, b, c}},
		{"a bundle's file that is gone", []string{"lib/shared.ts"}, []string{"lib/shared.ts"}, []*route.Source{a, b, c}},
		{"a directory holding a bundle's files, gone", []string{"lib/sub"}, []string{"lib/sub"}, []*route.Source{a, b, c}},
		{"a directory holding a bundle's files", []string{"lib/sub"}, nil, []*route.Source{a, c}},
		{"a directory whose name is a prefix of one", []string{"lib/su"}, nil, nil},
		{"package.json", []string{"package.json"}, nil, []*route.Source{a, b, c}},
		{"a package's package.json, even if imported", []string{"node_modules/x/package.json"}, nil, []*route.Source{a, b, c}},
		{"tsconfig.json", []string{"tsconfig.json"}, nil, []*route.Source{a, b, c}},
		{"a tsconfig it extends", []string{"tsconfig.base.json"}, nil, []*route.Source{a, b, c}},
		{"jsconfig.json", []string{"web/jsconfig.json"}, nil, []*route.Source{a, b, c}},
		{"the failed script's own file", []string{"api/c.js"}, nil, []*route.Source{a, b, c}},
		{"a Go function's file", []string{"api/g/main.go"}, nil, []*route.Source{g}},
		{"a shared Go file", []string{"lib/util.go"}, nil, []*route.Source{g}},
		{"a header", []string{"include/x.h"}, nil, []*route.Source{h}},
		{"a file nothing reads", []string{"README.md"}, nil, nil},
		{"vercel.json: left to the settings", []string{"vercel.json"}, nil, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			gone := map[string]bool{}
			for _, p := range tc.gone {
				gone[p] = true
			}
			got := affected(srcs, tc.changed, false, inputs, gone)
			var paths, want []string
			for _, s := range srcs {
				if got[s] {
					paths = append(paths, s.Path)
				}
				if slices.Contains(tc.want, s) {
					want = append(want, s.Path)
				}
			}
			if !slices.Equal(paths, want) {
				t.Errorf("affected(%q) = %q, want %q", tc.changed, paths, want)
			}
		})
	}
	if got := affected(srcs, nil, true, inputs, nil); len(got) != len(srcs) {
		t.Errorf("affected(all) marks %d of %d", len(got), len(srcs))
	}
}

// TestRelPaths checks the paths Reload is given, relative or absolute,
// and that the directory itself or a path outside it means everything.
func TestRelPaths(t *testing.T) {
	dir := t.TempDir()
	h := &Host{cfg: Config{Dir: dir}}
	for _, tc := range []struct {
		name    string
		changed []string
		want    []string
		all     bool
	}{
		{"none", nil, nil, true},
		{"relative and absolute", []string{"api/a.ts", filepath.Join(dir, "lib", "b.ts")}, []string{"api/a.ts", "lib/b.ts"}, false},
		{"the directory itself, among others", []string{"api/a.ts", dir}, nil, true},
		{"outside", []string{"api/a.ts", filepath.Join(dir, "..", "x.ts")}, nil, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rels, all := h.relPaths(tc.changed)
			if !slices.Equal(rels, tc.want) || all != tc.all {
				t.Errorf("relPaths(%q) = %q, %v; want %q, %v", tc.changed, rels, all, tc.want, tc.all)
			}
		})
	}
}
