// Package route maps a served directory's api/ tree to functions, in the
// style of Vercel's zero-config routing, and matches request paths to them.
//
// Each directory under api/ that holds a Go main package, or else C files,
// is a function at that path; each .wasm file, and each JavaScript or
// TypeScript file (.js, .mjs, .ts, .mts, but not a .d.ts declaration file),
// is a function at its path without the extension (index.wasm, index.ts at
// its directory's path). Script files in the directory of a Go or C
// function belong to it and are not functions. A [name] segment matches
// exactly one path segment and becomes the param "name".
package route

import (
	"errors"
	"fmt"
	"go/parser"
	"go/token"
	"io/fs"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"

	"github.com/wfn-dev/wfn/host/internal/engine"
)

// Kind is what a function is built from.
type Kind int

const (
	// GoPackage is a directory holding a Go main package.
	GoPackage Kind = iota
	// Wasm is a compiled .wasm file.
	Wasm
	// CSources is a directory of C files, built with clang.
	CSources
	// Script is a JavaScript or TypeScript file, bundled with esbuild and
	// run by the JavaScript runtime.
	Script
)

// scriptExts are the extensions of Script functions.
var scriptExts = []string{".js", ".mjs", ".ts", ".mts"}

// scriptRoute returns the route of a script file's path (relative to the
// served directory), or false when the file is no function.
func scriptRoute(rel string) (string, bool) {
	base := path.Base(rel)
	for _, decl := range []string{".d.ts", ".d.mts"} {
		if strings.HasSuffix(base, decl) {
			return "", false
		}
	}
	for _, ext := range scriptExts {
		if strings.HasSuffix(base, ext) && len(base) > len(ext) {
			r := strings.TrimSuffix(rel, ext)
			if path.Base(r) == "index" {
				r = path.Dir(r)
			}
			return "/" + r, true
		}
	}
	return "", false
}

// Source is one function found under api/.
type Source struct {
	// Path is the source relative to the served directory, with slashes:
	// "api/greet/[name]" (a Go package) or "api/hello.wasm".
	Path string
	Kind Kind
	// Route is the URL path pattern, such as "/api/greet/[name]".
	Route string
	// GoFiles are the package's .go files (GoPackage only), in order;
	// CFiles the .c files of a CSources directory.
	GoFiles, CFiles []string
	// Err is set when the source cannot be served, such as a route that
	// two sources claim.
	Err error

	segs []segment
}

type segment struct {
	lit   string // a literal segment, or
	param string // a [param] segment's name
}

// ErrConflict matches the errors for two sources with the same route.
var ErrConflict = errors.New("wfn: conflicting routes")

// Scan finds the functions under dir/api. A missing api/ directory holds
// no functions. Sources whose route is invalid or claimed twice are
// returned with Err set.
func Scan(dir string) ([]*Source, error) {
	root := filepath.Join(dir, "api")
	if st, err := os.Stat(root); err != nil || !st.IsDir() {
		if err == nil || errors.Is(err, fs.ErrNotExist) {
			return nil, nil
		}
		return nil, fmt.Errorf("wfn: cannot read %s: %w", root, err)
	}
	var out []*Source
	owned := map[string]bool{} // directories of Go and C functions
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		name := d.Name()
		if p != root && (strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_") || name == "node_modules" || name == "testdata") {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		switch {
		case d.IsDir():
			files, err := goMainFiles(p)
			if err != nil {
				return err
			}
			if len(files) > 0 {
				out = append(out, &Source{Path: rel, Kind: GoPackage, Route: "/" + rel, GoFiles: files})
				owned[p] = true
			} else if cfiles := filesWithSuffix(p, ".c"); len(cfiles) > 0 {
				out = append(out, &Source{Path: rel, Kind: CSources, Route: "/" + rel, CFiles: cfiles})
				owned[p] = true
			}
		case strings.HasSuffix(name, ".wasm") && d.Type().IsRegular():
			r := strings.TrimSuffix(rel, ".wasm")
			if path.Base(r) == "index" {
				r = path.Dir(r)
			}
			out = append(out, &Source{Path: rel, Kind: Wasm, Route: "/" + r})
		case d.Type().IsRegular() && !owned[filepath.Dir(p)]:
			if r, ok := scriptRoute(rel); ok {
				out = append(out, &Source{Path: rel, Kind: Script, Route: r})
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("wfn: cannot scan %s: %w", root, err)
	}
	claimed := map[string]*Source{}
	for _, s := range out {
		s.segs, s.Err = parse(s.Path, s.Route)
		if s.Err != nil {
			continue
		}
		key := shape(s.segs)
		if other, ok := claimed[key]; ok {
			err := fmt.Errorf("%w: %s and %s both map to %s", ErrConflict, other.Path, s.Path, s.Route)
			other.Err, s.Err = err, err
			continue
		}
		claimed[key] = s
	}
	return out, nil
}

// filesWithSuffix lists the regular files of dir ending in suffix.
func filesWithSuffix(dir, suffix string) []string {
	entries, _ := os.ReadDir(dir)
	var files []string
	for _, e := range entries {
		if n := e.Name(); e.Type().IsRegular() && strings.HasSuffix(n, suffix) && !strings.HasPrefix(n, ".") {
			files = append(files, n)
		}
	}
	return files
}

// goMainFiles returns the non-test .go files of dir if they form a main
// package, else nothing.
func goMainFiles(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var files []string
	for _, e := range entries {
		n := e.Name()
		if e.Type().IsRegular() && strings.HasSuffix(n, ".go") && !strings.HasSuffix(n, "_test.go") && !strings.HasPrefix(n, ".") && !strings.HasPrefix(n, "_") {
			files = append(files, n)
		}
	}
	if len(files) == 0 {
		return nil, nil
	}
	// The package clause decides; a file that does not parse is left to the
	// compiler, which names the function in its error.
	f, err := parser.ParseFile(token.NewFileSet(), filepath.Join(dir, files[0]), nil, parser.PackageClauseOnly)
	if err == nil && f.Name.Name != "main" {
		return nil, nil
	}
	return files, nil
}

func parse(src, route string) ([]segment, error) {
	var segs []segment
	seen := map[string]bool{}
	for _, part := range strings.Split(strings.TrimPrefix(route, "/"), "/") {
		if strings.HasPrefix(part, "[") && strings.HasSuffix(part, "]") {
			name := part[1 : len(part)-1]
			if name == "" || strings.ContainsAny(name, "[]") {
				return nil, fmt.Errorf("wfn: %s: invalid segment %q", src, part)
			}
			if seen[name] {
				return nil, fmt.Errorf("wfn: %s: the param [%s] is used twice in one path", src, name)
			}
			seen[name] = true
			segs = append(segs, segment{param: name})
			continue
		}
		if strings.ContainsAny(part, "[]") {
			return nil, fmt.Errorf("wfn: %s: invalid segment %q", src, part)
		}
		segs = append(segs, segment{lit: part})
	}
	return segs, nil
}

// shape is a route with its param names erased: two routes of one shape
// match the same paths.
func shape(segs []segment) string {
	var b strings.Builder
	for _, s := range segs {
		b.WriteByte('/')
		if s.param != "" {
			b.WriteString("[]")
		} else {
			b.WriteString(s.lit)
		}
	}
	return b.String()
}

// Table matches request paths to sources.
type Table struct {
	static map[string]int // fully literal routes
	params []int          // routes with params, most specific first
	srcs   []*Source
}

// NewTable builds a table over the sources. Match returns indexes into
// srcs.
func NewTable(srcs []*Source) *Table {
	t := &Table{static: map[string]int{}, srcs: srcs}
	for i, s := range srcs {
		// An invalid route matches nothing. Both sides of a conflict keep
		// their route, so that a request there reports the load error
		// rather than a 404.
		if s.segs == nil {
			continue
		}
		if strings.Contains(s.Route, "[") {
			t.params = append(t.params, i)
		} else if _, dup := t.static[s.Route]; !dup {
			t.static[s.Route] = i
		}
	}
	// Literal segments win over params, position by position.
	sort.SliceStable(t.params, func(a, b int) bool {
		sa, sb := srcs[t.params[a]].segs, srcs[t.params[b]].segs
		for i := 0; i < len(sa) && i < len(sb); i++ {
			if (sa[i].param == "") != (sb[i].param == "") {
				return sa[i].param == ""
			}
		}
		return len(sa) < len(sb)
	})
	return t
}

// Match returns the index of the source that serves the escaped request
// path, and its params. One trailing slash is ignored.
func (t *Table) Match(escapedPath string) (int, []engine.Param, bool) {
	p := escapedPath
	if len(p) > 1 && strings.HasSuffix(p, "/") {
		p = p[:len(p)-1]
	}
	if i, ok := t.static[p]; ok {
		return i, nil, true
	}
	if strings.Contains(p, "%") {
		// Literal routes are compared unescaped.
		if u, err := url.PathUnescape(p); err == nil && !strings.Contains(u, "//") {
			if i, ok := t.static[u]; ok {
				return i, nil, true
			}
		}
	}
	if len(t.params) == 0 || !strings.HasPrefix(p, "/") {
		return 0, nil, false
	}
	parts := strings.Split(p[1:], "/")
next:
	for _, i := range t.params {
		segs := t.srcs[i].segs
		if len(segs) != len(parts) {
			continue
		}
		var params []engine.Param
		for j, s := range segs {
			v, err := url.PathUnescape(parts[j])
			if err != nil || v == "" {
				continue next
			}
			if s.param == "" {
				if v != s.lit {
					continue next
				}
				continue
			}
			params = append(params, engine.Param{Name: s.param, Value: v})
		}
		return i, params, true
	}
	return 0, nil, false
}
