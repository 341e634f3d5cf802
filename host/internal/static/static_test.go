package static_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wfn-dev/wfn/host/internal/static"
	"github.com/wfn-dev/wfn/internal/testkit"
)

func project(t *testing.T, files ...string) string {
	t.Helper()
	dir := t.TempDir()
	tree := make(map[string]string, len(files))
	for _, f := range files {
		tree[f] = f // each file holds its own name
	}
	testkit.WriteFiles(t, dir, tree)
	return dir
}

func TestLookup(t *testing.T) {
	root := project(t, "index.html", "about.html", "docs/index.html", "style.css", ".env", ".well-known/security.txt",
		"vercel.json", "wfn.json", "go.mod", "go.sum", "main.go", "lib/util.go", "api/x.txt", "node_modules/m/i.js", "c/x.c")
	withPublic := project(t, "public/index.html", "public/.env", "public/vercel.json", "public/api/data.json", "secret.txt")
	for _, tc := range []struct {
		name  string
		dir   string
		clean bool
		path  string
		want  string // "" for not served
	}{
		{"root index", root, false, "/", "index.html"},
		{"file", root, false, "/style.css", "style.css"},
		{"file with a slash", root, false, "/style.css/", ""},
		{"directory index", root, false, "/docs", "docs/index.html"},
		{"directory index with a slash", root, false, "/docs/", "docs/index.html"},
		{"escaped", root, false, "/st%79le.css", "style.css"},
		{"no clean urls", root, false, "/about", ""},
		{"clean urls", root, true, "/about", "about.html"},
		{"clean urls keep .html", root, true, "/about.html", "about.html"},
		{"dotfile", root, false, "/.env", ""},
		{"escaped dotfile", root, false, "/%2eenv", ""},
		{"traversal", root, false, "/docs/../.env", ""},
		{"well-known", root, false, "/.well-known/security.txt", ".well-known/security.txt"},
		{"vercel.json", root, false, "/vercel.json", ""},
		{"wfn.json", root, false, "/wfn.json", ""},
		{"go.mod", root, false, "/go.mod", ""},
		{"go.sum", root, false, "/go.sum", ""},
		{"go source", root, false, "/main.go", ""},
		{"nested go source", root, false, "/lib/util.go", ""},
		{"c source", root, false, "/c/x.c", ""},
		{"api tree", root, false, "/api/x.txt", ""},
		{"node_modules", root, false, "/node_modules/m/i.js", ""},
		{"missing", root, false, "/nope", ""},
		{"NUL", root, false, "/style.css%00", ""},
		{"public index", withPublic, false, "/", "index.html"},
		{"public api data", withPublic, false, "/api/data.json", "api/data.json"},
		{"public vercel.json is content", withPublic, false, "/vercel.json", "vercel.json"},
		{"public dotfile", withPublic, false, "/.env", ""},
		{"outside public", withPublic, false, "/secret.txt", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, err := static.New(tc.dir, tc.clean)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			got, ok := f.Lookup(tc.path)
			if got != tc.want || ok != (tc.want != "") {
				t.Errorf("Lookup(%q) = %q, %v; want %q", tc.path, got, ok, tc.want)
			}
		})
	}
}

// Digest changes with a served file (its content, by size or time, or a
// new one) and not with what is never served.
func TestDigest(t *testing.T) {
	dir := project(t, "index.html", "docs/a.css", ".env", "main.go", "api/x.go", "vercel.json")
	digest := func() string {
		t.Helper()
		f, err := static.New(dir, false)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		var b strings.Builder
		if err := f.Digest(&b); err != nil {
			t.Fatal(err)
		}
		return b.String()
	}
	write := func(name, content string, mod time.Time) {
		t.Helper()
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(p, mod, mod); err != nil {
			t.Fatal(err)
		}
	}
	base := digest()
	if !strings.Contains(base, "docs/a.css") || strings.Contains(base, "main.go") || strings.Contains(base, ".env") {
		t.Fatalf("digest lists %q, want the served files only", base)
	}
	then := time.Date(2020, 1, 2, 3, 4, 5, 0, time.UTC)
	for _, tc := range []struct {
		name, file, content string
		mod                 time.Time
		changes             bool
	}{
		{"private files", ".env", "A=2", then, false},
		{"function source", "api/x.go", "package x // changed", then, false},
		{"configuration", "vercel.json", "{}", then, false},
		{"a served file's time", "index.html", "index.html", then, true},
		{"a served file's size", "docs/a.css", "body{}", then, true},
		{"a new served file", "docs/new.txt", "new", then, true},
	} {
		before := digest()
		write(tc.file, tc.content, tc.mod)
		if changed := digest() != before; changed != tc.changes {
			t.Errorf("%s: digest changed %v, want %v", tc.name, changed, tc.changes)
		}
	}
}
