package host_test

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wfn-dev/wfn/host"
)

// vercelProject serves testdata/vercel-project, laid out as Vercel lays out
// a project, unchanged.
func vercelProject(t *testing.T) (*host.Host, string) {
	t.Helper()
	requireGo(t)
	h, srv, _ := serve(t, host.Config{Dir: filepath.Join("..", "testdata", "vercel-project")})
	return h, srv.URL
}

// Go files in the shape of Vercel's Go runtime (package handler, func
// Handler(http.ResponseWriter, *http.Request)) are functions at their path,
// built with the project's go.mod, which does not require wfn.
func TestVercelGoHandlers(t *testing.T) {
	h, base := vercelProject(t)
	for _, fn := range h.Functions() {
		if fn.Err != nil {
			t.Errorf("%s: %v", fn.Source, fn.Err)
		}
	}
	tests := []struct {
		path string
		want string
	}{
		{"/api", "Hello from Go on wfn!\n"},                                        // api/index.go, shared package
		{"/api/users/42", `{"id":"42","path":"42","kind":"user"}` + "\n"},          // query and path value
		{"/api/users/42?id=7&x=1", `{"id":"42","path":"42","kind":"user"}` + "\n"}, // the segment wins
		{"/api/users", "all users\n"},                                              // a second Handler in the same directory
		{"/api/docs/a/b%2Fc/d", "slug=a/b/c/d query=a,b/c,d\n"},
		{"/api/docs/x", "slug=x query=x\n"},
	}
	for _, tt := range tests {
		r := get(t, base+tt.path)
		if r.status != http.StatusOK || r.body != tt.want {
			t.Errorf("GET %s = %d %q, want 200 %q", tt.path, r.status, r.body, tt.want)
		}
	}
	// HEAD: the headers of GET, no body.
	if r := do(t, "HEAD", base+"/api/users/42", nil); r.status != http.StatusOK || r.body != "" || r.header.Get("Content-Type") != "application/json" {
		t.Errorf("HEAD /api/users/42 = %d %q %v", r.status, r.body, r.header)
	}
	// [...slug] needs one segment at least.
	wantError(t, get(t, base+"/api/docs"), http.StatusNotFound, host.CodeNotFound)
}

// A .go file under api/ that wfn cannot serve is a load error naming it and
// saying why, never a silent skip; the other functions are served.
func TestVercelGoHandlerErrors(t *testing.T) {
	requireGo(t)
	dir := t.TempDir()
	files := map[string]string{
		"go.mod":          "module example.com/bad\n\ngo 1.24\n",
		"api/ok.go":       "package handler\n\nimport \"net/http\"\n\nfunc Handler(w http.ResponseWriter, r *http.Request) { w.Write([]byte(\"ok\")) }\n",
		"api/shape.go":    "package handler\n\nimport \"net/http\"\n\nfunc Handler(w http.ResponseWriter) { _ = http.StatusOK }\n",
		"api/broken.go":   "package handler\n\nimport \"net/http\"\n\nfunc Handler(w http.ResponseWriter, r *http.Request) { undefinedThing() }\n",
		"api/syntax.go":   "package handler\n\nfunc Handler(\n",
		"api/script.py":   "def handler(): pass\n",
		"api/lib/util.go": "package lib\n\n// Util is a helper package's function: no handler, no function.\nfunc Util() {}\n",
	}
	for name, content := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	h, srv, _ := serve(t, host.Config{Dir: dir})
	got := map[string]string{}
	for _, fn := range h.Functions() {
		msg := ""
		if fn.Err != nil {
			msg = fn.Err.Error()
		}
		got[fn.Source] = msg
	}
	want := map[string][]string{
		"api/ok.go":     nil,
		"api/shape.go":  {"api/shape.go", "func Handler must have the shape"},
		"api/broken.go": {"api/broken.go", "undefinedThing"},
		"api/syntax.go": {"api/syntax.go", "cannot parse"},
		"api/script.py": {"api/script.py", "Python"},
	}
	if len(got) != len(want) {
		t.Errorf("functions = %v, want %d of them", got, len(want))
	}
	for src, parts := range want {
		msg, ok := got[src]
		if !ok {
			t.Errorf("%s is not listed", src)
			continue
		}
		if parts == nil && msg != "" {
			t.Errorf("%s: %s", src, msg)
		}
		for _, p := range parts {
			if !strings.Contains(msg, p) {
				t.Errorf("%s: error %q does not say %q", src, msg, p)
			}
		}
		if strings.Contains(msg, "wfnfn_") {
			t.Errorf("%s: error %q names the generated package", src, msg)
		}
	}
	if r := get(t, srv.URL+"/api/ok"); r.body != "ok" {
		t.Errorf("GET /api/ok = %d %q", r.status, r.body)
	}
	wantError(t, get(t, srv.URL+"/api/shape"), http.StatusInternalServerError, host.CodeInvocationFailed)
}
