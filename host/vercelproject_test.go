package host_test

import (
	"bytes"
	"context"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"mime/multipart"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/wfn-dev/wfn/host"
	"github.com/wfn-dev/wfn/internal/testkit"
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
		"api/syntax2.go":  "package handler\n\nfunc A() { x := }\nfunc B() { y := }\n",
		"api/script.py":   "def handler(): pass\n",
		"api/cgo.go":      "package handler\n\n// #include <stdio.h>\nimport \"C\"\nimport \"net/http\"\n\nfunc Handler(w http.ResponseWriter, r *http.Request) {}\n",
		"api/lib/util.go": "package lib\n\n// Util is a helper package's function: no handler, no function.\nfunc Util() {}\n",
		// A Handler that is no func is not a helper's name.
		"api/var.go": "package handler\n\nimport \"net/http\"\n\nvar Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {})\n",
		// Vercel's Go runtime asks for another package name than main.
		"api/main/index.go": "package main\n\nimport \"net/http\"\n\nfunc Handler(w http.ResponseWriter, r *http.Request) {}\n",
	}
	testkit.WriteFiles(t, dir, files)
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
		"api/broken.go": {"api/broken.go:5:56:", "undefinedThing"},
		"api/syntax.go": {"api/syntax.go", "cannot parse"},
		// Every syntax error, not the first and a count.
		"api/syntax2.go": {"api/syntax2.go", "cannot parse", "syntax2.go:3:", "syntax2.go:4:"},
		"api/script.py":  {"api/script.py", "Python"},
		"api/cgo.go":     {"api/cgo.go", `imports "C" (cgo)`},
		"api/var.go":     {"api/var.go", "Handler is a var", "func Handler"},
		"api/main":       {"api/main/index.go", "package main", "package handler"},
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
		// Files are named from the project, as the compiler names them.
		if strings.Contains(msg, dir) {
			t.Errorf("%s: error %q names the file by its absolute path", src, msg)
		}
	}
	if r := get(t, srv.URL+"/api/ok"); r.body != "ok" {
		t.Errorf("GET /api/ok = %d %q", r.status, r.body)
	}
	wantError(t, get(t, srv.URL+"/api/shape"), http.StatusInternalServerError, host.CodeInvocationFailed)
}

// Every instance has a writable /tmp of Config.TmpSizeMB, on both engines:
// Go's multipart parser spills a large file there; a guest that fills it
// gets an error, not a host crash; it is emptied when the instance goes.
func TestVercelTmp(t *testing.T) {
	requireGo(t)
	for _, eng := range host.Engines() {
		t.Run(eng, func(t *testing.T) {
			dir := filepath.Join("..", "testdata", "vercel-project")
			others := instanceTmps(t, nil) // of the hosts that share the cache (serveShared)
			h, srv, logs := serve(t, host.Config{Dir: dir, Engine: eng, TmpSizeMB: 8, MaxInstancesPerFunction: 1})

			// A 256 KiB file: over the handler's 1 KiB maxMemory.
			file := bytes.Repeat([]byte("wfn-tmp!"), 32<<10)
			var body bytes.Buffer
			mw := multipart.NewWriter(&body)
			fw, _ := mw.CreateFormFile("file", "f.bin")
			fw.Write(file)
			mw.Close()
			sum := sha256.Sum256(file)
			want := fmt.Sprintf("f.bin %d %s disk=true\n", len(file), hex.EncodeToString(sum[:]))
			if r := do(t, "POST", srv.URL+"/api/upload", &body, "Content-Type", mw.FormDataContentType()); r.status != 200 || r.body != want {
				t.Errorf("upload = %d %q, want %q", r.status, r.body, want)
			}

			if r := get(t, srv.URL+"/api/tmpfill?mb=4"); r.body != "wrote 4 MiB\n" {
				t.Errorf("4 MiB in /tmp = %d %q", r.status, r.body)
			}
			// The file stays for the instance's next invocation.
			if r := get(t, srv.URL+"/api/tmpfill?list=1"); !strings.HasPrefix(r.body, "fill-") {
				t.Errorf("/tmp after a write = %q, want the file", r.body)
			}
			filled, _ := filepath.Glob(filepath.Join(sharedCache, "tmp", "i-*", "fill-*"))
			if len(filled) != 1 {
				t.Fatalf("files in the instances' /tmp: %v, want one", filled)
			}
			r := get(t, srv.URL+"/api/tmpfill?mb=16")
			if eng == "wasmtime" {
				// Wasmtime cannot refuse the write: the instance is
				// retired after the call, with its /tmp.
				eventually(t, "the over-limit log line", func() bool { return strings.Contains(logs.String(), "over its limit") })
				d := filepath.Dir(filled[0])
				eventually(t, "the retired instance's /tmp to go", func() bool { _, err := os.Stat(d); return errors.Is(err, fs.ErrNotExist) })
			} else if r.status != 200 || !strings.Contains(r.body, "write 4: ") || !strings.Contains(r.body, "I/O error") {
				t.Errorf("16 MiB in an 8 MB /tmp = %d %q, want a write error", r.status, r.body)
			}
			if r := get(t, srv.URL+"/api"); r.status != 200 {
				t.Errorf("the host after a full /tmp: %d %q", r.status, r.body)
			}
			tmps := instanceTmps(t, others)
			if len(tmps) == 0 {
				t.Fatal("no instance /tmp of this host in the cache")
			}
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			if err := h.Close(ctx); err != nil {
				t.Fatal(err)
			}
			for _, d := range tmps {
				if _, err := os.Stat(d); !errors.Is(err, fs.ErrNotExist) {
					t.Errorf("%s is left after Close: %v", d, err)
				}
			}

			// A new instance, from a snapshot or not, starts with an
			// empty /tmp.
			_, srv, _ = serve(t, host.Config{Dir: dir, Engine: eng, Isolation: host.IsolationInvocation})
			for range 2 {
				if r := get(t, srv.URL+"/api/tmpfill?mb=1"); r.body != "wrote 1 MiB\n" {
					t.Errorf("1 MiB in /tmp = %d %q", r.status, r.body)
				}
				if r := get(t, srv.URL+"/api/tmpfill?list=1"); r.status != 200 || r.body != "" {
					t.Errorf("/tmp of a new instance = %d %q, want it empty", r.status, r.body)
				}
			}
		})
	}
}

// instanceTmps lists the instances' /tmp directories in the shared cache
// but those in others: the instances of other hosts that share the cache
// and outlive a test (serveShared's).
func instanceTmps(t *testing.T, others []string) []string {
	t.Helper()
	matches, err := filepath.Glob(filepath.Join(sharedCache, "tmp", "i-*"))
	if err != nil {
		t.Fatal(err)
	}
	return slices.DeleteFunc(matches, func(d string) bool { return slices.Contains(others, d) })
}

// The whole of testdata/vercel-project, served unchanged: vercel.json's
// redirects, rewrites, headers, cleanUrls and trailingSlash in front of
// the Go functions and public/.
func TestVercelProjectAsIs(t *testing.T) {
	_, base := vercelProject(t)
	tests := []struct {
		path     string
		status   int
		location string // for redirects
		body     string // a part of the body, else ""
		header   [2]string
	}{
		{path: "/", status: 200, body: "A Vercel project on wfn", header: [2]string{"Content-Type", "text/html; charset=utf-8"}},
		{path: "/about", status: 200, body: "public/about.html"},
		{path: "/about.html", status: 308, location: "/about"},           // cleanUrls
		{path: "/api/users/42/", status: 308, location: "/api/users/42"}, // trailingSlash: false
		{path: "/old-about", status: 308, location: "/about"},            // permanent by default
		{path: "/people/7", status: 307, location: "/api/users/7"},       // permanent: false
		{path: "/u/7", status: 200, body: `"id":"7"`},                    // rewrite to a function
		{path: "/api/users/42", status: 200, body: `"id":"42"`, header: [2]string{"X-Project", "vercel-project"}},
		{path: "/u/x", status: 404},                         // :id(\d+)
		{path: "/guide/a/b", status: 200, body: "slug=a/b"}, // rewrite to a catch-all
		{path: "/api", status: 200, body: "Hello from Go on wfn!", header: [2]string{"X-Project", "vercel-project"}},
		{path: "/css/site.css", status: 200, body: "sans-serif", header: [2]string{"Cache-Control", "public, max-age=3600"}},
	}
	for _, tt := range tests {
		r := fetch(t, http.MethodGet, base+tt.path)
		if r.status != tt.status {
			t.Errorf("GET %s = %d, want %d (body %q)", tt.path, r.status, tt.status, r.body)
			continue
		}
		if tt.location != "" && r.header.Get("Location") != tt.location {
			t.Errorf("GET %s: Location %q, want %q", tt.path, r.header.Get("Location"), tt.location)
		}
		if !strings.Contains(r.body, tt.body) {
			t.Errorf("GET %s: body %q does not contain %q", tt.path, r.body, tt.body)
		}
		if tt.header[0] != "" && r.header.Get(tt.header[0]) != tt.header[1] {
			t.Errorf("GET %s: %s = %q, want %q", tt.path, tt.header[0], r.header.Get(tt.header[0]), tt.header[1])
		}
	}
	// vercel.json and the functions' sources are never static files.
	for _, p := range []string{"/vercel.json", "/go.mod", "/api/index.go", "/lib/greet/greet.go"} {
		if r := fetch(t, http.MethodGet, base+p); r.status != http.StatusNotFound {
			t.Errorf("GET %s = %d, want 404", p, r.status)
		}
	}
}

// A Go function in Vercel's shape whose go.mod requires a third-party
// module (github.com/google/uuid, fetched by the go command from the
// module proxy, checked against the project's go.sum) builds and serves.
func TestVercelGoHandlerWithDependency(t *testing.T) {
	requireGo(t)
	h, srv, _ := serve(t, host.Config{Dir: filepath.Join("..", "testdata", "vercel-deps")})
	for _, fn := range h.Functions() {
		if fn.Err != nil {
			t.Fatalf("%s: %v", fn.Source, fn.Err)
		}
	}
	// The version 5 UUID of the name in the URL namespace (RFC 9562
	// section 5.5), computed here without the library.
	name := "https://wfn.dev/"
	ns := []byte{0x6b, 0xa7, 0xb8, 0x11, 0x9d, 0xad, 0x11, 0xd1, 0x80, 0xb4, 0x00, 0xc0, 0x4f, 0xd4, 0x30, 0xc8}
	sum := sha1.Sum(append(ns, name...))
	b := sum[:16]
	b[6], b[8] = b[6]&0x0f|0x50, b[8]&0x3f|0x80
	v5 := fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])

	r := get(t, srv.URL+"/api/uuid?u=urn:uuid:6BA7B810-9DAD-11D1-80B4-00C04FD430C8&name="+name)
	if want := "6ba7b810-9dad-11d1-80b4-00c04fd430c8 v1\n" + v5 + " v5\n"; r.status != http.StatusOK || r.body != want {
		t.Errorf("GET /api/uuid = %d %q, want 200 %q", r.status, r.body, want)
	}
	if r := get(t, srv.URL+"/api/uuid?u=not-a-uuid"); r.status != http.StatusBadRequest || !strings.Contains(r.body, "invalid UUID") {
		t.Errorf("GET /api/uuid?u=not-a-uuid = %d %q, want 400 naming the invalid UUID", r.status, r.body)
	}
}

// A Go file in Vercel's shape with no go.mod in its directory or above is
// served, as Vercel's Go runtime builds it ("If go.mod is missing ... the
// default version ... will be used", vercel.com/docs/functions/runtimes/go):
// in a module of its own, with the files of its directory that export no
// handler.
func TestVercelGoHandlerNoGoMod(t *testing.T) {
	requireGo(t)
	dir := t.TempDir()
	for d := dir; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			t.Skipf("%s has a go.mod above it", dir)
		}
		if filepath.Dir(d) == d {
			break
		}
	}
	files := map[string]string{
		"api/index.go":      "package handler\n\nimport \"net/http\"\n\nfunc Handler(w http.ResponseWriter, r *http.Request) { w.Write([]byte(greeting())) }\n",
		"api/util.go":       "package handler\n\nfunc greeting() string { return \"no go.mod\" }\n",
		"api/users/[id].go": "package handler\n\nimport \"net/http\"\n\nfunc Handler(w http.ResponseWriter, r *http.Request) { w.Write([]byte(\"user \" + r.URL.Query().Get(\"id\"))) }\n",
	}
	testkit.WriteFiles(t, dir, files)
	h, srv, _ := serve(t, host.Config{Dir: dir})
	for _, fn := range h.Functions() {
		if fn.Err != nil {
			t.Errorf("%s: %v", fn.Source, fn.Err)
		}
	}
	for path, want := range map[string]string{"/api": "no go.mod", "/api/users/42": "user 42"} {
		if r := get(t, srv.URL+path); r.status != http.StatusOK || r.body != want {
			t.Errorf("GET %s = %d %q, want 200 %q", path, r.status, r.body, want)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
		t.Error("the build wrote a go.mod into the project")
	}
	// A module to require needs a go.mod: the error says so.
	dep := filepath.Join(dir, "api", "dep", "index.go")
	if err := os.MkdirAll(filepath.Dir(dep), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dep, []byte("package handler\n\nimport (\n\t\"net/http\"\n\n\t\"example.com/nowhere\"\n)\n\nfunc Handler(w http.ResponseWriter, r *http.Request) { nowhere.X() }\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := h.Reload(context.Background()); err != nil {
		t.Fatal(err)
	}
	var msg string
	for _, fn := range h.Functions() {
		if fn.Source == "api/dep/index.go" && fn.Err != nil {
			msg = fn.Err.Error()
		}
	}
	if !strings.Contains(msg, "example.com/nowhere") || !strings.Contains(msg, "go mod init") {
		t.Errorf("api/dep/index.go: error %q, want one naming the package and go mod init", msg)
	}
}

// A Go file in Vercel's shape may embed files of its directory
// (//go:embed), in the handler's file or in a file that exports no
// handler, a file or a whole directory, as go build embeds them for
// Vercel: the generated package the go command sees holds them too. A
// change to an embedded file is a new build, and wfn dev's reload of that
// file makes it.
func TestVercelGoHandlerEmbed(t *testing.T) {
	requireGo(t)
	dir := t.TempDir()
	files := map[string]string{
		"go.mod": "module example.com/embed\n\ngo 1.24\n",
		"api/page.go": "package handler\n\nimport (\n\t_ \"embed\"\n\t\"net/http\"\n)\n\n//go:embed hello.txt\nvar hello string\n\n" +
			"func Handler(w http.ResponseWriter, r *http.Request) { w.Write([]byte(hello + page())) }\n",
		"api/assets.go": "package handler\n\nimport \"embed\"\n\n//go:embed static\nvar static embed.FS\n\n" +
			"func page() string { b, _ := static.ReadFile(\"static/[id].html\"); return string(b) }\n",
		"api/hello.txt":          "hello ",
		"api/static/[id].html":   "<p>page</p>",
		"api/users/[id].go":      "package handler\n\nimport \"net/http\"\n\nfunc Handler(w http.ResponseWriter, r *http.Request) { w.Write([]byte(r.URL.Query().Get(\"id\"))) }\n",
		"api/users/embedless.go": "package handler\n\nfunc unused() {}\n",
	}
	testkit.WriteFiles(t, dir, files)
	h, srv, _ := serve(t, host.Config{Dir: dir})
	for _, fn := range h.Functions() {
		if fn.Err != nil {
			t.Errorf("%s: %v", fn.Source, fn.Err)
		}
	}
	if r := get(t, srv.URL+"/api/page"); r.status != http.StatusOK || r.body != "hello <p>page</p>" {
		t.Errorf("GET /api/page = %d %q, want 200 %q", r.status, r.body, "hello <p>page</p>")
	}
	// wfn dev reloads with the paths it saw change: an embedded file, or
	// one in an embedded directory, rebuilds the functions that embed it.
	for _, tt := range []struct{ file, content, want string }{
		{"api/hello.txt", "bye ", "bye <p>page</p>"},
		{"api/static/[id].html", "<p>new</p>", "bye <p>new</p>"},
	} {
		if err := os.WriteFile(filepath.Join(dir, filepath.FromSlash(tt.file)), []byte(tt.content), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := h.Reload(context.Background(), tt.file); err != nil {
			t.Fatal(err)
		}
		if r := get(t, srv.URL+"/api/page"); r.status != http.StatusOK || r.body != tt.want {
			t.Errorf("after editing %s, GET /api/page = %d %q, want 200 %q", tt.file, r.status, r.body, tt.want)
		}
	}
}

// A go.mod that asks for a newer Go than the one installed is a load
// error naming the project's go.mod, not the copy wfn builds with.
func TestVercelGoHandlerNewerGo(t *testing.T) {
	requireGo(t)
	t.Setenv("GOTOOLCHAIN", "local") // no toolchain download
	dir := t.TempDir()
	testkit.WriteFiles(t, dir, map[string]string{
		"go.mod":       "module example.com/newer\n\ngo 1.999\n",
		"api/index.go": "package handler\n\nimport \"net/http\"\n\nfunc Handler(w http.ResponseWriter, r *http.Request) {}\n",
	})
	// The cache outside the project and inside it, where wfn serve keeps
	// it (DIR/.wfn), where the go command names files relative to the
	// project.
	for _, cache := range []string{"", filepath.Join(dir, ".wfn")} {
		h, _, _ := serve(t, host.Config{Dir: dir, CacheDir: cache})
		fns := h.Functions()
		if len(fns) != 1 || fns[0].Err == nil {
			t.Fatalf("functions = %v, want api/index.go failing", fns)
		}
		msg := fns[0].Err.Error()
		if !strings.Contains(msg, "go: go.mod requires go >= 1.999") || strings.Contains(msg, ".wfn") {
			t.Errorf("cache %q: error %q, want one naming the project's go.mod and the version it requires", cache, msg)
		}
	}
}

// A build error of a Go file in Vercel's shape names the package the
// user wrote, not the generated one the go command built: its advice (go
// get PKG, for a requirement missing from go.sum) works in the project.
func TestVercelGoHandlerErrorNamesTheUsersPackage(t *testing.T) {
	requireGo(t)
	t.Setenv("GOPROXY", "off") // the go.sum check needs no module
	dir := t.TempDir()
	testkit.WriteFiles(t, dir, map[string]string{
		"go.mod":            "module example.com/nosum\n\ngo 1.24\n\nrequire github.com/google/uuid v1.6.0\n",
		"api/index.go":      "package handler\n\nimport (\n\t\"net/http\"\n\n\t\"github.com/google/uuid\"\n)\n\nfunc Handler(w http.ResponseWriter, r *http.Request) { w.Write([]byte(uuid.NewString())) }\n",
		"api/users/[id].go": "package handler\n\nimport (\n\t\"net/http\"\n\n\t\"github.com/google/uuid\"\n)\n\nfunc Handler(w http.ResponseWriter, r *http.Request) { w.Write([]byte(uuid.NewString())) }\n",
	})
	h, _, _ := serve(t, host.Config{Dir: dir})
	want := map[string]string{
		"api/index.go":      "go get example.com/nosum/api\n",
		"api/users/[id].go": "go get example.com/nosum/api/users\n",
	}
	for _, fn := range h.Functions() {
		if fn.Err == nil {
			t.Errorf("%s: no error, want a missing go.sum entry", fn.Source)
			continue
		}
		msg := fn.Err.Error() + "\n"
		if !strings.Contains(msg, "missing go.sum entry") || !strings.Contains(msg, want[fn.Source]) || strings.Contains(msg, "wfnfn_") {
			t.Errorf("%s: error %q, want the missing go.sum entry and %q, without the generated package", fn.Source, msg, want[fn.Source])
		}
	}
}

// A Go file in Vercel's shape that panics (in its handler, or in a file of
// its package that exports none) is named in the stack trace by its own
// path, not by the generated file the go command built.
// A Go file in Vercel's shape whose init panics (ABI version 1 and 2)
// answers 500, and the log says why: the panic's message and its trace,
// with the file's package in the function names.
func TestVercelGoInitPanic(t *testing.T) {
	requireGo(t)
	dir := t.TempDir()
	initPanic := "package handler\n\nimport \"net/http\"\n\nfunc init() {\n\tpanic(\"no config, on purpose\")\n}\n\nfunc Handler(w http.ResponseWriter, r *http.Request) {}\n"
	testkit.WriteFiles(t, dir, map[string]string{
		"go.mod":              "module example.com/initpanic\n\ngo 1.24\n",
		"api/v1.go":           initPanic,
		"api/v2/initpanic.go": initPanic,
		"vercel.json":         `{"functions": {"api/v2/*.go": {"fluid": true}}}`,
	})
	_, srv, logs := serve(t, host.Config{Dir: dir})
	for _, tt := range []struct{ path, fn string }{
		{"/api/v1", "example.com/initpanic/api.init.0()"},
		{"/api/v2/initpanic", "example.com/initpanic/api/v2.init.0()"},
	} {
		wantError(t, get(t, srv.URL+tt.path), http.StatusInternalServerError, host.CodeInvocationFailed)
		eventually(t, tt.path+"'s panic and trace in the log", func() bool {
			for _, line := range strings.Split(logs.String(), "\n") {
				if strings.Contains(line, "cannot start instance") && strings.Contains(line, "no config, on purpose") &&
					strings.Contains(line, tt.fn) && strings.Contains(line, "initpanic") {
					return true
				}
			}
			return false
		})
	}
	if strings.Contains(logs.String(), "wfnfn_") {
		t.Errorf("the log names the generated package:\n%s", logs)
	}
}

func TestVercelGoHandlerPanicNamesTheFile(t *testing.T) {
	requireGo(t)
	dir := t.TempDir()
	testkit.WriteFiles(t, dir, map[string]string{
		"go.mod":           "module example.com/panics\n\ngo 1.24\n",
		"api/boom/[id].go": "package handler\n\nimport \"net/http\"\n\nfunc Handler(w http.ResponseWriter, r *http.Request) {\n\tif r.URL.Query().Get(\"id\") == \"helper\" {\n\t\thelp()\n\t}\n\tpanic(\"boom\")\n}\n",
		"api/boom/help.go": "package handler\n\nfunc help() {\n\tpanic(\"helper boom\")\n}\n",
	})
	h, srv, logs := serve(t, host.Config{Dir: dir})
	for _, fn := range h.Functions() {
		if fn.Err != nil {
			t.Fatalf("%s: %v", fn.Source, fn.Err)
		}
	}
	for _, tt := range []struct{ path, want string }{
		{"/api/boom/1", "example.com/panics/api/boom/[id].go:9"},
		{"/api/boom/helper", "example.com/panics/api/boom/help.go:4"},
	} {
		if r := get(t, srv.URL+tt.path); r.status != http.StatusInternalServerError {
			t.Errorf("GET %s = %d, want 500", tt.path, r.status)
		}
		eventually(t, "a stack trace naming "+tt.want, func() bool { return strings.Contains(logs.String(), tt.want) })
	}
	// The functions are named by the file's package, not by the
	// generated one (one per handler file), nor is a file named from it.
	eventually(t, "a stack trace naming the handler's function", func() bool {
		return strings.Contains(logs.String(), "example.com/panics/api/boom.Handler(")
	})
	if strings.Contains(logs.String(), "wfn_entry.go") || strings.Contains(logs.String(), "/fn/help.go") || strings.Contains(logs.String(), "wfnfn_") {
		t.Errorf("the log names a generated file or package:\n%s", logs)
	}
}

// A project in a Go workspace (a go.work at its root or above, as a
// monorepo has) builds its Go files in Vercel's shape with the
// workspace's modules, also when its go.mod does not require wfn.
func TestVercelGoHandlerWorkspace(t *testing.T) {
	requireGo(t)
	t.Setenv("GOWORK", "") // the go.work found from the project
	dir := t.TempDir()
	testkit.WriteFiles(t, dir, map[string]string{
		"go.work":         "go 1.24\n\nuse (\n\t.\n\t./shared\n)\n",
		"go.mod":          "module example.com/app\n\ngo 1.24\n",
		"shared/go.mod":   "module example.com/shared\n\ngo 1.24\n",
		"shared/greet.go": "package shared\n\nfunc Greet() string { return \"from the workspace\" }\n",
		"api/index.go":    "package handler\n\nimport (\n\t\"net/http\"\n\n\t\"example.com/shared\"\n)\n\nfunc Handler(w http.ResponseWriter, r *http.Request) { w.Write([]byte(shared.Greet())) }\n",
	})
	h, srv, _ := serve(t, host.Config{Dir: dir})
	for _, fn := range h.Functions() {
		if fn.Err != nil {
			t.Errorf("%s: %v", fn.Source, fn.Err)
		}
	}
	if r := get(t, srv.URL+"/api"); r.status != http.StatusOK || r.body != "from the workspace" {
		t.Errorf("GET /api = %d %q, want 200 %q", r.status, r.body, "from the workspace")
	}
	if b, err := os.ReadFile(filepath.Join(dir, "go.work")); err != nil || strings.Contains(string(b), "wfn") {
		t.Errorf("the build changed the project's go.work: %q %v", b, err)
	}
}

// A Go file in Vercel's shape saved with a syntax error, or with a Handler
// of another shape, keeps its former version serving, as one that fails
// to compile does (wfn dev); Functions says why.
func TestVercelGoHandlerUnparsableEditKeepsFormer(t *testing.T) {
	requireGo(t)
	dir := t.TempDir()
	file := filepath.Join(dir, "api", "index.go")
	testkit.WriteFiles(t, dir, map[string]string{
		"go.mod":       "module example.com/edit\n\ngo 1.24\n",
		"api/index.go": "package handler\n\nimport \"net/http\"\n\nfunc Handler(w http.ResponseWriter, r *http.Request) { w.Write([]byte(\"v1\")) }\n",
	})
	h, srv, _ := serve(t, host.Config{Dir: dir})
	if r := get(t, srv.URL+"/api"); r.body != "v1" {
		t.Fatalf("GET /api = %d %q, want v1", r.status, r.body)
	}
	for _, tt := range []struct{ name, src, why string }{
		{"syntax error", "package handler\n\nfunc Handler(\n", "cannot parse"},
		{"other shape", "package handler\n\nimport \"net/http\"\n\nfunc Handler(w http.ResponseWriter) { _ = http.StatusOK }\n", "must have the shape"},
	} {
		if err := os.WriteFile(file, []byte(tt.src), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := h.Reload(context.Background(), "api/index.go"); err != nil {
			t.Fatal(err)
		}
		if r := get(t, srv.URL+"/api"); r.status != http.StatusOK || r.body != "v1" {
			t.Errorf("%s: GET /api = %d %q, want the former version's 200 v1", tt.name, r.status, r.body)
		}
		fns := h.Functions()
		if len(fns) != 1 || fns[0].Err != nil || fns[0].ReloadErr == nil || !strings.Contains(fns[0].ReloadErr.Error(), tt.why) {
			t.Errorf("%s: functions = %+v, want the former version with a ReloadErr saying %q", tt.name, fns, tt.why)
		}
	}
}
