package route_test

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/wfn-dev/wfn/host/internal/hostcall"
	"github.com/wfn-dev/wfn/host/internal/route"
	"github.com/wfn-dev/wfn/internal/testkit"
)

// tree writes files (path -> content) under a new directory.
func tree(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	testkit.WriteFiles(t, dir, files)
	return dir
}

const mainGo = "package main\n\nfunc main() {}\n"

func TestScan(t *testing.T) {
	dir := tree(t, map[string]string{
		"api/hello/main.go":         mainGo,
		"api/hello/main_test.go":    "package main\n",
		"api/greet/[name]/main.go":  mainGo,
		"api/lib/lib.go":            "package lib\n",
		"api/raw.wasm":              "\x00asm",
		"api/index.wasm":            "\x00asm",
		"api/users/[id]/posts.wasm": "\x00asm",
		"api/_private/main.go":      mainGo,
		"api/.hidden.wasm":          "\x00asm",
		"api/notes.txt":             "x",
		"other/main.go":             mainGo,
		"api/ts/hello.ts":           "export function GET() {}",
		"api/js/index.mjs":          "export function GET() {}",
		"api/users/[id].js":         "export function GET() {}",
		"api/types.d.ts":            "export type T = number",
		"api/hello/helper.js":       "export const x = 1", // a Go function's file
		"api/_lib/util.ts":          "export const x = 1",
		"api/node_modules/m/i.js":   "export const x = 1",
	})
	srcs, err := route.Scan(dir)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, s := range srcs {
		if s.Err != nil {
			t.Errorf("%s: unexpected error %v", s.Path, s.Err)
		}
		got[s.Path] = s.Route
	}
	want := map[string]string{
		"api/hello":                 "/api/hello",
		"api/greet/[name]":          "/api/greet/[name]",
		"api/raw.wasm":              "/api/raw",
		"api/index.wasm":            "/api",
		"api/users/[id]/posts.wasm": "/api/users/[id]/posts",
		"api/ts/hello.ts":           "/api/ts/hello",
		"api/js/index.mjs":          "/api/js",
		"api/users/[id].js":         "/api/users/[id]",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("routes = %v, want %v", got, want)
	}
	for _, s := range srcs {
		if s.Path == "api/hello" && !reflect.DeepEqual(s.GoFiles, []string{"main.go"}) {
			t.Errorf("GoFiles = %v, want [main.go]", s.GoFiles)
		}
	}
}

func TestScanNoAPI(t *testing.T) {
	srcs, err := route.Scan(t.TempDir())
	if err != nil || len(srcs) != 0 {
		t.Fatalf("Scan(empty) = %v, %v; want nothing", srcs, err)
	}
}

func TestScanErrors(t *testing.T) {
	tests := []struct {
		name  string
		files map[string]string
		bad   []string // sources that must carry an error
		want  string   // in the error
		is    error
	}{
		{
			name:  "go package and wasm file on one route",
			files: map[string]string{"api/hello/main.go": mainGo, "api/hello.wasm": "\x00asm"},
			bad:   []string{"api/hello", "api/hello.wasm"},
			want:  "api/hello and api/hello.wasm both map to /api/hello",
			is:    route.ErrConflict,
		},
		{
			name:  "go package and typescript file on one route",
			files: map[string]string{"api/hello/main.go": mainGo, "api/hello.ts": "export function GET() {}"},
			bad:   []string{"api/hello", "api/hello.ts"},
			want:  "api/hello and api/hello.ts both map to /api/hello",
			is:    route.ErrConflict,
		},
		{
			name:  "params of other names on one shape",
			files: map[string]string{"api/u/[id].wasm": "\x00asm", "api/u/[name].wasm": "\x00asm"},
			bad:   []string{"api/u/[id].wasm", "api/u/[name].wasm"},
			want:  "both map to",
			is:    route.ErrConflict,
		},
		{
			name:  "param used twice",
			files: map[string]string{"api/[a]/[a].wasm": "\x00asm"},
			bad:   []string{"api/[a]/[a].wasm"},
			want:  "used twice",
		},
		{
			name:  "bracket inside a segment",
			files: map[string]string{"api/x[a].wasm": "\x00asm"},
			bad:   []string{"api/x[a].wasm"},
			want:  "invalid segment",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srcs, err := route.Scan(tree(t, tt.files))
			if err != nil {
				t.Fatal(err)
			}
			for _, want := range tt.bad {
				var found bool
				for _, s := range srcs {
					if s.Path != want {
						continue
					}
					found = true
					if s.Err == nil || !strings.Contains(s.Err.Error(), tt.want) {
						t.Errorf("%s: err = %v, want it to contain %q", s.Path, s.Err, tt.want)
					}
					if tt.is != nil && !errors.Is(s.Err, tt.is) {
						t.Errorf("%s: errors.Is(%v, %v) = false", s.Path, s.Err, tt.is)
					}
				}
				if !found {
					t.Errorf("source %s not found", want)
				}
			}
		})
	}
}

func TestMatch(t *testing.T) {
	dir := tree(t, map[string]string{
		"api/hello/main.go":         mainGo,
		"api/greet/[name]/main.go":  mainGo,
		"api/greet/admin.wasm":      "\x00asm",
		"api/index.wasm":            "\x00asm",
		"api/[a]/[b]/x.wasm":        "\x00asm",
		"api/users/[id]/posts.wasm": "\x00asm",
		"api/sp ace.wasm":           "\x00asm",
	})
	srcs, err := route.Scan(dir)
	if err != nil {
		t.Fatal(err)
	}
	table := route.NewTable(srcs)
	tests := []struct {
		name   string
		path   string
		want   string // source path, "" for no match
		params []hostcall.Param
	}{
		{"literal", "/api/hello", "api/hello", nil},
		{"trailing slash", "/api/hello/", "api/hello", nil},
		{"index", "/api", "api/index.wasm", nil},
		{"param", "/api/greet/ada", "api/greet/[name]", []hostcall.Param{{Name: "name", Value: "ada"}}},
		{"literal beats param", "/api/greet/admin", "api/greet/admin.wasm", nil},
		{"escaped param", "/api/greet/a%20b%2Fc", "api/greet/[name]", []hostcall.Param{{Name: "name", Value: "a b/c"}}},
		{"escaped literal", "/api/sp%20ace", "api/sp ace.wasm", nil},
		{"two params", "/api/p/q/x", "api/[a]/[b]/x.wasm", []hostcall.Param{{Name: "a", Value: "p"}, {Name: "b", Value: "q"}}},
		{"literal segment first", "/api/users/7/posts", "api/users/[id]/posts.wasm", []hostcall.Param{{Name: "id", Value: "7"}}},
		{"param needs a segment", "/api/greet/", "", nil},
		{"param matches one segment", "/api/greet/a/b", "", nil},
		{"unknown", "/api/nope", "", nil},
		{"outside api", "/hello", "", nil},
		{"bad escape", "/api/greet/%zz", "", nil},
		{"empty segment", "/api/greet//", "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			i, params, ok := table.Match(tt.path)
			got := ""
			if ok {
				got = srcs[i].Path
			}
			if got != tt.want {
				t.Fatalf("Match(%q) = %q, want %q", tt.path, got, tt.want)
			}
			if !reflect.DeepEqual(params, tt.params) {
				t.Errorf("Match(%q) params = %v, want %v", tt.path, params, tt.params)
			}
		})
	}
}

// Next.js's order: position by position a literal segment wins over
// [name], which wins over [...name], which wins over [[...name]]; a
// catch-all's param is its segments joined with "/".
func TestPrecedence(t *testing.T) {
	dir := tree(t, map[string]string{
		"api/docs/index.js":            "",
		"api/docs/intro.js":            "",
		"api/docs/[page].js":           "",
		"api/docs/[page]/edit.js":      "",
		"api/docs/[...slug].js":        "",
		"api/blog/[[...slug]].js":      "",
		"api/blog/latest.js":           "",
		"api/shop/[...all].js":         "",
		"api/shop/[[...rest]]/x.js":    "", // a catch-all that is not last: an error
		"api/[section]/[[...rest]].js": "",
		"api/[section]/about.js":       "",
	})
	srcs, err := route.Scan(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range srcs {
		if s.Path == "api/shop/[[...rest]]/x.js" {
			if s.Err == nil || !strings.Contains(s.Err.Error(), "must be the last") {
				t.Errorf("%s: err = %v, want a catch-all that is not last", s.Path, s.Err)
			}
		} else if s.Err != nil {
			t.Errorf("%s: %v", s.Path, s.Err)
		}
	}
	table := route.NewTable(srcs)
	tests := []struct {
		path, src string
		params    []hostcall.Param
	}{
		{"/api/docs", "api/docs/index.js", nil},
		{"/api/docs/intro", "api/docs/intro.js", nil},
		{"/api/docs/other", "api/docs/[page].js", []hostcall.Param{{Name: "page", Value: "other"}}},
		{"/api/docs/other/edit", "api/docs/[page]/edit.js", []hostcall.Param{{Name: "page", Value: "other"}}},
		{"/api/docs/a/b", "api/docs/[...slug].js", []hostcall.Param{{Name: "slug", Value: "a/b"}}},
		{"/api/docs/a/b%2Fc/", "api/docs/[...slug].js", []hostcall.Param{{Name: "slug", Value: "a/b/c"}}},
		{"/api/blog", "api/blog/[[...slug]].js", nil},
		{"/api/blog/latest", "api/blog/latest.js", nil},
		{"/api/blog/2024/post", "api/blog/[[...slug]].js", []hostcall.Param{{Name: "slug", Value: "2024/post"}}},
		{"/api/shop/a", "api/shop/[...all].js", []hostcall.Param{{Name: "all", Value: "a"}}},
		{"/api/shop", "api/[section]/[[...rest]].js", []hostcall.Param{{Name: "section", Value: "shop"}}},
		{"/api/news", "api/[section]/[[...rest]].js", []hostcall.Param{{Name: "section", Value: "news"}}},
		{"/api/news/about", "api/[section]/about.js", []hostcall.Param{{Name: "section", Value: "news"}}},
		{"/api/news/1/2", "api/[section]/[[...rest]].js", []hostcall.Param{{Name: "section", Value: "news"}, {Name: "rest", Value: "1/2"}}},
		{"/api/docs//x", "", nil}, // an empty segment matches no param
		{"/other", "", nil},
	}
	for _, tt := range tests {
		i, params, ok := table.Match(tt.path)
		got := ""
		if ok {
			got = srcs[i].Path
		}
		if got != tt.src || ok && !reflect.DeepEqual(params, tt.params) {
			t.Errorf("Match(%q) = %q %v, want %q %v", tt.path, got, params, tt.src, tt.params)
		}
	}
}

// [name], [...name] and [[...name]] in one place match the same paths in
// part; two catch-alls of one shape conflict.
func TestCatchAllConflict(t *testing.T) {
	dir := tree(t, map[string]string{
		"api/a/[...x].js": "",
		"api/a/[...y].ts": "",
		"api/b/[..].js":   "",
	})
	srcs, err := route.Scan(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range srcs {
		switch s.Path {
		case "api/a/[...x].js", "api/a/[...y].ts":
			if !errors.Is(s.Err, route.ErrConflict) {
				t.Errorf("%s: err = %v, want a conflict", s.Path, s.Err)
			}
		case "api/b/[..].js":
			if s.Err == nil {
				t.Errorf("%s: want an invalid segment", s.Path)
			}
		}
	}
}

// Go files in the shape of Vercel's Go runtime: one function per file that
// exports a handler, the package's other files going into each.
func TestScanGoHandlers(t *testing.T) {
	const handler = "package handler\n\nimport \"net/http\"\n\nfunc Handler(w http.ResponseWriter, r *http.Request) {}\n"
	dir := tree(t, map[string]string{
		"api/index.go":        handler,
		"api/users/[id].go":   handler,
		"api/users/list.go":   "package handler\n\nimport h \"net/http\"\n\nfunc List(w h.ResponseWriter, r *h.Request) {}\n",
		"api/users/util.go":   "package handler\n\nfunc helper() {}\n",
		"api/users/x_test.go": "package handler\n",
		"api/bad/shape.go":    "package handler\n\nimport \"net/http\"\n\nfunc Handler(r *http.Request) {}\n",
		"api/bad/two.go":      "package handler\n\nimport \"net/http\"\n\nfunc A(w http.ResponseWriter, r *http.Request) {}\nfunc B(w http.ResponseWriter, r *http.Request) {}\n",
		"api/bad/notnet.go":   "package handler\n\ntype ResponseWriter int\ntype Request int\n\nfunc Other(w ResponseWriter, r *Request) {}\n",
		"api/py/index.py":     "",
	})
	srcs, err := route.Scan(dir)
	if err != nil {
		t.Fatal(err)
	}
	type fn struct {
		route, handler string
		siblings       []string
		err            string
	}
	got := map[string]fn{}
	for _, s := range srcs {
		f := fn{route: s.Route, handler: s.Handler, siblings: s.GoFiles}
		if s.Err != nil {
			f.err = s.Err.Error()
		}
		got[s.Path] = f
	}
	want := map[string]fn{
		"api/index.go":      {route: "/api", handler: "Handler"},
		"api/users/[id].go": {route: "/api/users/[id]", handler: "Handler", siblings: []string{"util.go"}},
		"api/users/list.go": {route: "/api/users/list", handler: "List", siblings: []string{"util.go"}},
		"api/bad/shape.go":  {route: "/api/bad/shape", siblings: []string{"notnet.go"}, err: "func Handler must have the shape"},
		"api/bad/two.go":    {route: "/api/bad/two", siblings: []string{"notnet.go"}, err: "exports A, B"},
		"api/py/index.py":   {route: "/api/py", err: "a Python function"},
	}
	for path, w := range want {
		g, ok := got[path]
		if !ok {
			t.Errorf("%s is not found", path)
			continue
		}
		if g.route != w.route || g.handler != w.handler || !reflect.DeepEqual(g.siblings, w.siblings) || (w.err == "") != (g.err == "") || !strings.Contains(g.err, w.err) {
			t.Errorf("%s = %+v, want %+v", path, g, w)
		}
	}
	if len(got) != len(want) {
		t.Errorf("found %d sources, want %d: %v", len(got), len(want), got)
	}
}
