// Package route maps a served directory's api/ tree to functions, in the
// style of Vercel's zero-config routing, and matches request paths to them.
//
// Each directory under api/ that holds a Go main package, or else C files,
// is a function at that path; each .wasm file, each JavaScript or
// TypeScript file (.js, .mjs, .ts, .mts, but not a .d.ts declaration file),
// and each .go file of another package that exports a function of net/http's
// handler shape (Vercel's Go runtime: func Handler(http.ResponseWriter,
// *http.Request)), is a function at its path without the extension
// (index.wasm, index.ts, index.go at its directory's path). Script files in
// the directory of a Go main package or C function belong to it and are not
// functions. A file of a kind wfn does not run (Python, Ruby, Rust, as
// Vercel's builders would take them) is a source with Err set.
//
// Segments (shared/VERCEL.md section 4.2, and Next.js dynamic routes):
// [name] matches exactly one path segment and becomes the param "name";
// [...name], the last segment only, matches one or more segments, and
// [[...name]] zero or more, the param being the matched segments joined
// with "/". A path is served by the most specific route: position by
// position a literal segment wins over [name], which wins over [...name],
// which wins over [[...name]], as Next.js orders its routes.
package route

import (
	"errors"
	"fmt"
	"go/ast"
	"go/build"
	"go/parser"
	"go/scanner"
	"go/token"
	"io/fs"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/wfn-dev/wfn/host/internal/hostcall"
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
	// GoHandler is one .go file of a non-main package that exports a
	// net/http handler function, in the shape of Vercel's Go runtime.
	GoHandler
	// Unsupported is a file Vercel would build a function from in a
	// language wfn does not run; its Source has Err set.
	Unsupported
)

// unservedExts are extensions Vercel builds functions from (shared/VERCEL.md
// section 4.2) that wfn does not run, with the language's name.
var unservedExts = map[string]string{".py": "Python", ".rb": "Ruby", ".rs": "Rust"}

// scriptExts are the extensions of Script functions: Vercel's
// api/**/*.+(js|mjs|ts|tsx) (shared/VERCEL.md section 4.2), and .mts.
var scriptExts = []string{".js", ".mjs", ".ts", ".mts", ".tsx"}

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
	// GoFiles are the package's .go files (GoPackage), in order, or the
	// sibling files of a GoHandler's file that export no handler;
	// CFiles the .c files of a CSources directory.
	GoFiles, CFiles []string
	// Handler is the name of the function a GoHandler file exports, such
	// as "Handler".
	Handler string
	// Embeds are the //go:embed patterns of a GoHandler's directory
	// (relative to it, all: dropped): the files they match go into its
	// build, so a change to one touches it.
	Embeds []string
	// Err is set when the source cannot be served, such as a route that
	// two sources claim.
	Err error

	segs []segment
}

type segment struct {
	lit   string // a literal segment, or
	param string // a [param] segment's name, with
	kind  segKind
}

// segKind orders segments from the most specific: a path is served by the
// route whose first differing segment has the lowest kind.
type segKind int

const (
	literal       segKind = iota
	dynamic               // [name]
	catchAll              // [...name]
	optionalCatch         // [[...name]]
)

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
	owned := map[string]bool{} // directories of Go main packages and C functions
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
				out = append(out, &Source{Path: rel, Kind: GoPackage, Route: "/" + rel, GoFiles: files, Err: vercelMain(p, rel, files)})
				owned[p] = true
			} else if hs := goHandlers(p, rel); len(hs) > 0 {
				out = append(out, hs...)
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
			} else if lang, ok := unservedExts[path.Ext(name)]; ok {
				r := strings.TrimSuffix(rel, path.Ext(name))
				if path.Base(r) == "index" {
					r = path.Dir(r)
				}
				out = append(out, &Source{Path: rel, Route: "/" + r, Kind: Unsupported,
					Err: fmt.Errorf("wfn: %s: a %s function, and wfn runs Go, C, JavaScript, TypeScript and .wasm functions only", rel, lang)})
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("wfn: cannot scan %s: %w", root, err)
	}
	claimed := map[string]*Source{}
	for _, s := range out {
		segs, err := parse(s.Path, s.Route)
		if s.Err == nil {
			s.Err = err
		}
		if err != nil {
			continue
		}
		s.segs = segs
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

// goFiles lists the non-test .go files of dir, as the go command picks them.
func goFiles(dir string) ([]string, error) {
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
	return files, nil
}

// goMainFiles returns the non-test .go files of dir if they form a main
// package, else nothing.
func goMainFiles(dir string) ([]string, error) {
	files, err := goFiles(dir)
	if err != nil || len(files) == 0 {
		return nil, err
	}
	// The package clause decides; a file that does not parse is left to the
	// compiler, which names the function in its error.
	f, err := parser.ParseFile(token.NewFileSet(), filepath.Join(dir, files[0]), nil, parser.PackageClauseOnly)
	if err == nil && f.Name.Name != "main" {
		return nil, nil
	}
	return files, nil
}

// vercelMain returns an error when the main package of files in dir (rel
// its path relative to the served directory) has no func main and a file
// of it exports a function of a handler's shape: a Go file written for
// Vercel's Go runtime under package main, which would otherwise fail to
// link, saying only that main is undeclared. Vercel's runtime refuses it
// too ("Please change `package main` to `package handler`").
func vercelMain(dir, rel string, files []string) error {
	exporter := ""
	for _, name := range files {
		f, err := parser.ParseFile(token.NewFileSet(), filepath.Join(dir, name), nil, parser.SkipObjectResolution)
		if err != nil {
			return nil // the compiler names it
		}
		nethttp := ""
		for _, imp := range f.Imports {
			if imp.Path.Value == `"net/http"` {
				nethttp = "http"
				if imp.Name != nil {
					nethttp = imp.Name.Name
				}
			}
		}
		for _, d := range f.Decls {
			fd, ok := d.(*ast.FuncDecl)
			if !ok || fd.Recv != nil {
				continue
			}
			if fd.Name.Name == "main" {
				return nil
			}
			if exporter == "" && fd.Name.IsExported() && nethttp != "" && isHandlerShape(fd.Type, nethttp) {
				exporter = rel + "/" + name
			}
		}
	}
	if exporter == "" {
		return nil
	}
	return fmt.Errorf("wfn: %s: package main with a handler and no func main: a Go file in the shape of Vercel's Go runtime takes another package name (package handler), as Vercel asks", exporter)
}

// goHandlers returns the functions of a directory of a non-main Go package
// (rel is its path relative to the served directory): one per file that
// exports a handler, each with the package's other files as GoFiles. It
// returns nothing when no file exports a handler: the package is a helper.
func goHandlers(dir, rel string) []*Source {
	files, err := goFiles(dir)
	if err != nil || len(files) == 0 {
		return nil
	}
	var out []*Source
	var helpers []string
	for _, name := range files {
		fileRel := rel + "/" + name
		r := strings.TrimSuffix(fileRel, ".go")
		if path.Base(r) == "index" {
			r = path.Dir(r)
		}
		src := &Source{Path: fileRel, Kind: GoHandler, Route: "/" + r}
		src.Handler, src.Err = goHandler(filepath.Join(dir, name), fileRel)
		if src.Handler == "" && src.Err == nil {
			helpers = append(helpers, name)
			continue
		}
		out = append(out, src)
	}
	embeds := EmbedPatterns(dir, files, nil)
	for _, s := range out {
		s.GoFiles, s.Embeds = helpers, embeds
	}
	return out
}

// EmbedPatterns returns the //go:embed patterns of the named .go files
// of dir, as the go command reads them for a wasip1 build with the build
// tags tags, without the "all:" prefix; none when the files cannot be
// read, and those found before an error (no buildable file, a syntax
// error), which the go command reports itself.
func EmbedPatterns(dir string, names, tags []string) []string {
	ctxt := build.Default
	ctxt.GOOS, ctxt.GOARCH, ctxt.CgoEnabled, ctxt.BuildTags = "wasip1", "wasm", false, tags
	ctxt.ReadDir = func(string) ([]fs.FileInfo, error) {
		var infos []fs.FileInfo
		for _, n := range names {
			if fi, err := os.Stat(filepath.Join(dir, n)); err == nil {
				infos = append(infos, fi)
			}
		}
		return infos, nil
	}
	p, _ := ctxt.ImportDir(dir, 0)
	if p == nil {
		return nil
	}
	var out []string
	for _, pat := range p.EmbedPatterns {
		out = append(out, strings.TrimPrefix(pat, "all:"))
	}
	return out
}

// EmbedsFile reports whether rel, a path relative to the served directory
// with slashes, is a file that a GoHandler's //go:embed patterns match, or
// one under a directory they match.
func (s *Source) EmbedsFile(rel string) bool {
	in, ok := strings.CutPrefix(rel, path.Dir(s.Path)+"/")
	if !ok {
		return false
	}
	for _, pat := range s.Embeds {
		for p := in; p != "."; p = path.Dir(p) {
			if ok, _ := path.Match(pat, p); ok {
				return true
			}
		}
	}
	return false
}

// goHandler returns the name of the function the file exports in the shape
// func(http.ResponseWriter, *http.Request): "Handler" when the file has it,
// else the only other one; "" when there is none. A func Handler of another
// shape, two other candidates, or a file that does not parse is an error.
func goHandler(file, rel string) (string, error) {
	text, err := os.ReadFile(file)
	if err != nil {
		return "", fmt.Errorf("wfn: %s: %w", rel, err)
	}
	// Named from the served directory, as the compiler's errors are.
	f, err := parser.ParseFile(token.NewFileSet(), rel, text, parser.SkipObjectResolution)
	if list, ok := err.(scanner.ErrorList); ok && len(list) > 1 {
		// Every error, one a line, as the compiler prints them (the
		// list's own message is the first and a count of the others).
		errs := make([]error, len(list))
		for i, e := range list {
			errs[i] = e
		}
		err = errors.Join(errs...)
		return "", fmt.Errorf("wfn: %s: cannot parse:\n%w", rel, err)
	}
	if err != nil {
		return "", fmt.Errorf("wfn: %s: cannot parse: %w", rel, err)
	}
	nethttp := ""
	for _, imp := range f.Imports {
		if imp.Path.Value == `"C"` {
			// The go command would leave the file out (a cgo file, and
			// wasip1 builds have no cgo) and say only that build
			// constraints exclude it.
			return "", fmt.Errorf("wfn: %s: imports \"C\" (cgo), which a WebAssembly build cannot use: wfn builds Go functions with CGO_ENABLED=0 for wasip1", rel)
		}
		if imp.Path.Value == `"net/http"` {
			nethttp = "http"
			if imp.Name != nil {
				nethttp = imp.Name.Name
			}
		}
	}
	var found []string
	for _, d := range f.Decls {
		if gd, ok := d.(*ast.GenDecl); ok {
			// A var Handler (an http.HandlerFunc) would make the file a
			// helper, compiled into its directory's functions, where it
			// clashes with their Handler. A type Handler is a helper's.
			for _, spec := range gd.Specs {
				if vs, ok := spec.(*ast.ValueSpec); ok && slices.ContainsFunc(vs.Names, func(n *ast.Ident) bool { return n.Name == "Handler" }) {
					return "", fmt.Errorf("wfn: %s: Handler is a %s, and Vercel's Go runtime serves a func Handler(http.ResponseWriter, *http.Request)", rel, gd.Tok)
				}
			}
			continue
		}
		fd, ok := d.(*ast.FuncDecl)
		if !ok || fd.Recv != nil || !fd.Name.IsExported() {
			continue
		}
		shaped := nethttp != "" && isHandlerShape(fd.Type, nethttp)
		if fd.Name.Name == "Handler" {
			if !shaped {
				return "", fmt.Errorf("wfn: %s: func Handler must have the shape func(http.ResponseWriter, *http.Request) with no results, as Vercel's Go runtime requires", rel)
			}
			return "Handler", nil
		}
		if shaped {
			found = append(found, fd.Name.Name)
		}
	}
	switch len(found) {
	case 0:
		return "", nil
	case 1:
		return found[0], nil
	}
	return "", fmt.Errorf("wfn: %s: exports %s, all of a handler's shape: name the one to serve Handler", rel, strings.Join(found, ", "))
}

// isHandlerShape reports whether t is func(pkg.ResponseWriter, *pkg.Request)
// with no results, pkg being the file's name for net/http.
func isHandlerShape(t *ast.FuncType, pkg string) bool {
	if t.TypeParams != nil || t.Results != nil && len(t.Results.List) > 0 {
		return false
	}
	var params []ast.Expr
	for _, field := range t.Params.List {
		for range max(1, len(field.Names)) {
			params = append(params, field.Type)
		}
	}
	if len(params) != 2 {
		return false
	}
	sel := func(e ast.Expr, name string) bool {
		s, ok := e.(*ast.SelectorExpr)
		if !ok {
			return false
		}
		x, ok := s.X.(*ast.Ident)
		return ok && x.Name == pkg && s.Sel.Name == name
	}
	star, ok := params[1].(*ast.StarExpr)
	return sel(params[0], "ResponseWriter") && ok && sel(star.X, "Request")
}

func parse(src, route string) ([]segment, error) {
	var segs []segment
	seen := map[string]bool{}
	parts := strings.Split(strings.TrimPrefix(route, "/"), "/")
	for i, part := range parts {
		if strings.HasPrefix(part, "[") && strings.HasSuffix(part, "]") {
			name, kind := part[1:len(part)-1], dynamic
			if strings.HasPrefix(name, "[") && strings.HasSuffix(name, "]") {
				name, kind = name[1:len(name)-1], optionalCatch
				if !strings.HasPrefix(name, "...") {
					return nil, fmt.Errorf("wfn: %s: invalid segment %q: want [[...name]]", src, part)
				}
			}
			if strings.HasPrefix(name, "...") {
				name = name[3:]
				if kind == dynamic {
					kind = catchAll
				}
				if i != len(parts)-1 {
					return nil, fmt.Errorf("wfn: %s: the catch-all segment %q must be the last one", src, part)
				}
			}
			if name == "" || strings.ContainsAny(name, "[].") {
				return nil, fmt.Errorf("wfn: %s: invalid segment %q", src, part)
			}
			if seen[name] {
				return nil, fmt.Errorf("wfn: %s: the param [%s] is used twice in one path", src, name)
			}
			seen[name] = true
			segs = append(segs, segment{param: name, kind: kind})
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
		switch s.kind {
		case literal:
			b.WriteString(s.lit)
		case dynamic:
			b.WriteString("[]")
		case catchAll:
			b.WriteString("[...]")
		case optionalCatch:
			b.WriteString("[[...]]")
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
	// Position by position, literal segments win over [name], which wins
	// over [...name], which wins over [[...name]] (Next.js's order).
	sort.SliceStable(t.params, func(a, b int) bool {
		sa, sb := srcs[t.params[a]].segs, srcs[t.params[b]].segs
		for i := 0; i < len(sa) && i < len(sb); i++ {
			if sa[i].kind != sb[i].kind {
				return sa[i].kind < sb[i].kind
			}
		}
		return len(sa) < len(sb)
	})
	return t
}

// Match returns the index of the source that serves the escaped request
// path, and its params: a catch-all's value is its segments, unescaped,
// joined with "/" (absent when an optional catch-all matches none). One
// trailing slash is ignored.
func (t *Table) Match(escapedPath string) (int, []hostcall.Param, bool) {
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
	if p == "/" {
		parts = nil
	}
next:
	for _, i := range t.params {
		segs := t.srcs[i].segs
		last := segs[len(segs)-1].kind
		switch {
		case last == catchAll && len(parts) < len(segs),
			last == optionalCatch && len(parts) < len(segs)-1,
			last < catchAll && len(parts) != len(segs):
			continue
		}
		var params []hostcall.Param
		for j, s := range segs {
			if s.kind >= catchAll {
				if j == len(parts) {
					break // an optional catch-all matching nothing
				}
				vs := make([]string, 0, len(parts)-j)
				for _, part := range parts[j:] {
					v, err := url.PathUnescape(part)
					if err != nil || v == "" {
						continue next
					}
					vs = append(vs, v)
				}
				params = append(params, hostcall.Param{Name: s.param, Value: strings.Join(vs, "/")})
				break
			}
			v, err := url.PathUnescape(parts[j])
			if err != nil || v == "" {
				continue next
			}
			if s.kind == literal {
				if v != s.lit {
					continue next
				}
				continue
			}
			params = append(params, hostcall.Param{Name: s.param, Value: v})
		}
		return i, params, true
	}
	return 0, nil, false
}

// CatchAll reports whether the source's param name is a catch-all
// ([...name] or [[...name]]), whose value joins segments with "/".
func (s *Source) CatchAll(name string) bool {
	for _, seg := range s.segs {
		if seg.param == name {
			return seg.kind >= catchAll
		}
	}
	return false
}

// CatchAllSegments returns the unescaped segments of the escaped request
// path that the source's catch-all matched, or nil. The source must be the
// one Match returned for the path.
func (s *Source) CatchAllSegments(escapedPath string) []string {
	n := len(s.segs)
	if n == 0 || s.segs[n-1].kind < catchAll {
		return nil
	}
	p := strings.TrimPrefix(escapedPath, "/")
	if len(p) > 0 && strings.HasSuffix(p, "/") {
		p = p[:len(p)-1]
	}
	parts := strings.Split(p, "/")
	if len(parts) < n {
		return nil
	}
	var out []string
	for _, part := range parts[n-1:] {
		v, err := url.PathUnescape(part)
		if err != nil {
			return nil
		}
		out = append(out, v)
	}
	return out
}

// Params lists the names of the source's params, in path order.
func (s *Source) Params() []string {
	var names []string
	for _, seg := range s.segs {
		if seg.param != "" {
			names = append(names, seg.param)
		}
	}
	return names
}
