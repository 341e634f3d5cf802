package host_test

import (
	"bytes"
	"compress/gzip"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wfn-dev/wfn/host"
	"github.com/wfn-dev/wfn/internal/testkit"
)

// vrouteProject copies testdata/vroute to a temporary directory, with
// EXTERNAL in its vercel.json replaced by upstream's host and its go.mod
// pointing at this repository.
func vrouteProject(t *testing.T, upstream string) string {
	t.Helper()
	dir := t.TempDir()
	src := filepath.Join("..", "testdata", "vroute")
	err := filepath.Walk(src, func(p string, info os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		if info.IsDir() {
			return os.MkdirAll(filepath.Join(dir, rel), 0o755)
		}
		mustCopy(t, p, filepath.Join(dir, rel))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	repo, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	edit(t, filepath.Join(dir, "vercel.json"), "EXTERNAL", upstream)
	edit(t, filepath.Join(dir, "go.mod"), "=> ../..", "=> "+repo)
	return dir
}

func edit(t *testing.T, file, old, repl string) {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(file, bytes.ReplaceAll(b, []byte(old), []byte(repl)), 0o644); err != nil {
		t.Fatal(err)
	}
}

// noRedirects is a client that shows redirects and compressed bodies as
// they come.
var noRedirects = &http.Client{
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	Transport:     &http.Transport{DisableCompression: true},
}

// fetch sends one request; header holds name, value pairs, and "Host"
// sets the request's host.
func fetch(t *testing.T, method, url string, header ...string) response {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		if header[i] == "Host" {
			req.Host = header[i+1]
			continue
		}
		req.Header.Add(header[i], header[i+1])
	}
	resp, err := noRedirects.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	return response{resp.StatusCode, resp.Header, string(b)}
}

func TestVercelRouting(t *testing.T) {
	requireGo(t)
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Upstream", "yes")
		if r.URL.Query().Get("own") != "" {
			w.Header().Set("X-Frame-Options", "SAMEORIGIN")
		}
		w.WriteHeader(http.StatusAccepted)
		_, _ = io.WriteString(w, "upstream "+r.URL.RequestURI()+" host="+r.Host)
		http.NewResponseController(w).Flush()
		_, _ = io.WriteString(w, " end")
	}))
	t.Cleanup(upstream.Close)
	up := strings.TrimPrefix(upstream.URL, "http://")
	_, srv, _ := serve(t, host.Config{Dir: vrouteProject(t, up)})
	u := srv.URL

	index, err := os.ReadFile(filepath.Join("..", "testdata", "vroute", "public", "index.html"))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name     string
		path     string
		header   []string
		status   int
		location string
		body     string // a prefix of the body
		headers  map[string]string
	}{
		// redirects
		{name: "redirect", path: "/old", status: 308, location: "/about"},
		{name: "redirect permanent false", path: "/blog/first", status: 307, location: "/posts/first"},
		{name: "redirect statusCode", path: "/legacy/a/b", status: 301, location: "/docs/a/b"},
		{name: "redirect has cookie", path: "/beta", header: []string{"Cookie", "beta=on"}, status: 308, location: "/api/hello?from=on"},
		{name: "redirect has cookie unmet", path: "/beta", header: []string{"Cookie", "beta=no"}, status: 200, body: string(index)},
		{name: "redirect keeps the query", path: "/legacy/x?v=2", status: 301, location: "/docs/x?v=2", body: "Redirecting to /docs/x?v=2 (301)"},
		// cleanUrls and trailingSlash
		{name: "clean url", path: "/about", status: 200, body: "<!doctype html>\n<html><head><title>About"},
		{name: "clean url redirect", path: "/about.html", status: 308, location: "/about"},
		{name: "clean url index redirect", path: "/docs/index.html", status: 308, location: "/docs"},
		{name: "directory index", path: "/docs", status: 200, body: "<!doctype html>\n<html><head><title>Docs"},
		{name: "home", path: "/", status: 200, body: string(index), headers: map[string]string{"Content-Type": "text/html; charset=utf-8"}},
		{name: "trailing slash", path: "/api/hello/", status: 308, location: "/api/hello"},
		// functions and rewrites
		{name: "function", path: "/api/hello", status: 200, body: "hello"},
		// As routing-utils builds it: a parameter the destination's path does
		// not use is added to the query too.
		{name: "rewrite to function", path: "/posts/first", status: 200, body: "echo /api/echo?post=first&slug=first\n"},
		{name: "rewrite params to query", path: "/u/42?a=b", status: 200, body: "echo /api/echo?a=b&id=42\n"},
		{name: "rewrite regex group unmet", path: "/u/abc", status: 200, body: string(index)},
		{name: "rewrite to static file", path: "/logo", status: 200, headers: map[string]string{"Content-Type": "image/png"}},
		{name: "rewrite has header", path: "/mobile", header: []string{"User-Agent", "Test Mobile Safari"}, status: 200, body: "echo /api/echo?device=mobile\n"},
		{name: "rewrite has host", path: "/tenant", header: []string{"Host", "acme.localhost"}, status: 200, body: "echo /api/echo?host=&t=acme&tenant=acme\n"},
		{name: "rewrite has query", path: "/q?lang=fr", status: 200, body: "echo /api/echo?lang=fr\n"},
		{name: "rewrite fallback", path: "/no/such/page", status: 200, body: string(index)},
		{name: "api 404", path: "/api/missing", status: 404, headers: map[string]string{"X-Frame-Options": "DENY", "X-Fn": "missing"}},
		{name: "external rewrite", path: "/ext/a/b?k=v", status: 202, body: "upstream /a/b?k=v host=" + up + " end",
			headers: map[string]string{"X-Upstream": "yes", "X-Frame-Options": "DENY"}},
		{name: "external target's headers win", path: "/ext/x?own=1", status: 202, headers: map[string]string{"X-Frame-Options": "SAMEORIGIN"}},
		// headers
		{name: "headers on static", path: "/assets/site.css", status: 200,
			headers: map[string]string{"Cache-Control": "public, max-age=31536000, immutable", "X-Frame-Options": "DENY", "Content-Type": "text/css; charset=utf-8"}},
		{name: "headers on function", path: "/api/echo", status: 200,
			headers: map[string]string{"X-From": "function", "X-Fn": "echo", "X-Frame-Options": "DENY"}},
		{name: "function's cache-control wins", path: "/api/echo?cc=no-store", status: 200, headers: map[string]string{"Cache-Control": "no-store"}},
		{name: "headers missing cookie", path: "/about", status: 200, headers: map[string]string{"X-Anon": "1"}},
		{name: "headers missing cookie unmet", path: "/about", header: []string{"Cookie", "session=1"}, status: 200, headers: map[string]string{"X-Anon": ""}},
		{name: "headers has operators", path: "/api/echo", header: []string{"Cookie", "beta=yes"}, status: 200,
			headers: map[string]string{"X-Beta": "on", "X-Fn": "beta", "X-From": "function"}},
		{name: "headers has operators unmet", path: "/api/echo", header: []string{"Cookie", "beta=no"}, status: 200,
			headers: map[string]string{"X-Beta": "", "X-Fn": "echo"}},
		// a rewrite's statusCode
		{name: "rewrite statusCode to function", path: "/teapot", status: 418, body: "echo /api/echo?tea=1\n"},
		{name: "rewrite statusCode to static file", path: "/gone", status: 410, body: "<!doctype html>\n<html><head><title>About"},
		{name: "rewrite statusCode ignores validators", path: "/gone", header: []string{"If-Modified-Since", "Sun, 01 Jan 2100 00:00:00 GMT"},
			status: 410, body: "<!doctype html>\n<html><head><title>About"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := fetch(t, http.MethodGet, u+tc.path, tc.header...)
			if r.status != tc.status {
				t.Fatalf("status %d, want %d; body %q", r.status, tc.status, r.body)
			}
			if got := r.header.Get("Location"); got != tc.location {
				t.Errorf("Location %q, want %q", got, tc.location)
			}
			if !strings.HasPrefix(r.body, tc.body) {
				t.Errorf("body %q, want it to start with %q", r.body, tc.body)
			}
			for k, v := range tc.headers {
				if got := r.header.Get(k); got != v {
					t.Errorf("%s: %q, want %q", k, got, v)
				}
			}
		})
	}
}

func TestStaticFiles(t *testing.T) {
	requireGo(t)
	_, srv, _ := serve(t, host.Config{Dir: vrouteProject(t, "127.0.0.1:1")})
	css := srv.URL + "/assets/site.css"
	want, err := os.ReadFile(filepath.Join("..", "testdata", "vroute", "public", "assets", "site.css"))
	if err != nil {
		t.Fatal(err)
	}

	first := fetch(t, http.MethodGet, css)
	etag, lastMod := first.header.Get("ETag"), first.header.Get("Last-Modified")
	if first.status != 200 || first.body != string(want) || etag == "" || lastMod == "" {
		t.Fatalf("GET: %d, ETag %q, Last-Modified %q, body of %d bytes", first.status, etag, lastMod, len(first.body))
	}
	if got := first.header.Get("Accept-Ranges"); got != "bytes" {
		t.Errorf("Accept-Ranges %q, want bytes", got)
	}
	t.Run("If-None-Match", func(t *testing.T) {
		r := fetch(t, http.MethodGet, css, "If-None-Match", etag)
		if r.status != http.StatusNotModified || r.body != "" {
			t.Errorf("status %d body %q, want 304 without a body", r.status, r.body)
		}
	})
	t.Run("If-Modified-Since", func(t *testing.T) {
		r := fetch(t, http.MethodGet, css, "If-Modified-Since", lastMod)
		if r.status != http.StatusNotModified {
			t.Errorf("status %d, want 304", r.status)
		}
	})
	t.Run("Range", func(t *testing.T) {
		r := fetch(t, http.MethodGet, css, "Range", "bytes=5-14", "Accept-Encoding", "gzip")
		if r.status != http.StatusPartialContent || r.body != string(want[5:15]) {
			t.Errorf("status %d body %q, want 206 %q", r.status, r.body, want[5:15])
		}
		if got := r.header.Get("Content-Range"); got != "bytes 5-14/"+itoa(len(want)) {
			t.Errorf("Content-Range %q", got)
		}
	})
	t.Run("HEAD", func(t *testing.T) {
		r := fetch(t, http.MethodHead, css)
		if r.status != 200 || r.body != "" || r.header.Get("Content-Length") != itoa(len(want)) || r.header.Get("ETag") != etag {
			t.Errorf("HEAD: %d, Content-Length %q, ETag %q, body %q", r.status, r.header.Get("Content-Length"), r.header.Get("ETag"), r.body)
		}
	})
	t.Run("gzip", func(t *testing.T) {
		r := fetch(t, http.MethodGet, css, "Accept-Encoding", "gzip")
		if r.header.Get("Content-Encoding") != "gzip" || !strings.Contains(r.header.Get("Vary"), "Accept-Encoding") {
			t.Fatalf("Content-Encoding %q, Vary %q, want gzip and Accept-Encoding", r.header.Get("Content-Encoding"), r.header.Get("Vary"))
		}
		zr, err := gzip.NewReader(strings.NewReader(r.body))
		if err != nil {
			t.Fatal(err)
		}
		plain, err := io.ReadAll(zr)
		if err != nil || string(plain) != string(want) {
			t.Errorf("gunzipped body differs (%v)", err)
		}
		if len(r.body) >= len(want) {
			t.Errorf("compressed %d bytes to %d", len(want), len(r.body))
		}
	})
	t.Run("image", func(t *testing.T) {
		r := fetch(t, http.MethodGet, srv.URL+"/assets/logo.png")
		if r.status != 200 || r.header.Get("Content-Type") != "image/png" || !strings.HasPrefix(r.body, "\x89PNG") {
			t.Errorf("%d %q", r.status, r.header.Get("Content-Type"))
		}
	})
	t.Run("POST", func(t *testing.T) {
		r := fetch(t, http.MethodPost, css)
		if r.status != http.StatusMethodNotAllowed || r.header.Get("Allow") != "GET, HEAD" {
			t.Errorf("status %d Allow %q, want 405 GET, HEAD", r.status, r.header.Get("Allow"))
		}
		// A platform error like a function's 405, with x-wfn-error and
		// the request id, and vercel.json's headers as a 404 has them.
		wantError(t, r, http.StatusMethodNotAllowed, host.CodeMethodNotAllowed)
		if got := r.header.Get("X-Frame-Options"); got != "DENY" {
			t.Errorf("X-Frame-Options %q, want vercel.json's DENY", got)
		}
	})
	t.Run("external target down", func(t *testing.T) {
		// The project's external rewrite points at a closed port here.
		wantError(t, fetch(t, http.MethodGet, srv.URL+"/ext/a"), http.StatusBadGateway, host.CodeExternalTarget)
	})
	t.Run("default Cache-Control", func(t *testing.T) {
		r := fetch(t, http.MethodGet, srv.URL+"/about")
		if got := r.header.Get("Cache-Control"); got != "public, max-age=0, must-revalidate" {
			t.Errorf("Cache-Control %q", got)
		}
	})
}

// TestStaticFilesFromRoot serves a project without public/: the root's
// files outside api/, never its configuration, dotfiles or sources.
func TestStaticFilesFromRoot(t *testing.T) {
	dir := watDir(t, "hello")
	files := map[string]string{
		"index.html":     "<p>root</p>",
		"page.txt":       "a page",
		"cached.txt":     "cached",
		".env":           "SECRET=1",
		"vercel.json":    `{"headers": [{"source": "/cached.txt", "headers": [{"key": "Cache-Control", "value": "public, s-maxage=60"}]}]}`,
		"go.mod":         "module x\n",
		"lib/helper.go":  "package lib\n",
		"api/notes.txt":  "private",
		".git/config":    "[core]",
		"sub/index.html": "<p>sub</p>",
	}
	testkit.WriteFiles(t, dir, files)
	_, srv, _ := serve(t, host.Config{Dir: dir})
	for path, want := range map[string]string{
		"/": "<p>root</p>", "/page.txt": "a page", "/sub/": "<p>sub</p>", "/sub": "<p>sub</p>",
		"/.env": "", "/vercel.json": "", "/go.mod": "", "/lib/helper.go": "", "/api/notes.txt": "",
		"/.git/config": "", "/%2e%65nv": "", "/sub/../.env": "", "/api/hello.wasm": "",
	} {
		r := fetch(t, http.MethodGet, srv.URL+path)
		if want == "" {
			if r.status != http.StatusNotFound && !(path == "/api/hello.wasm" && r.status == 405) {
				t.Errorf("%s: %d %q, want 404", path, r.status, r.body)
			}
			continue
		}
		if r.status != 200 || r.body != want {
			t.Errorf("%s: %d %q, want 200 %q", path, r.status, r.body, want)
		}
	}
	// vercel.json's Cache-Control reaches the CDN cache.
	first := fetch(t, http.MethodGet, srv.URL+"/cached.txt?x=1")
	second := fetch(t, http.MethodGet, srv.URL+"/cached.txt?x=2")
	if first.body != "cached" || second.header.Get("X-Vercel-Cache") != "HIT" {
		t.Errorf("second GET: x-vercel-cache %q, want HIT (first %q)", second.header.Get("X-Vercel-Cache"), first.header.Get("X-Vercel-Cache"))
	}
}

// Headers of vercel.json entries with has or missing belong to the
// response of the request that met them: the CDN cache never stores them
// with an entry, and a cached entry gets them when a later request meets
// them (both orders, for a function and for a static file).
func TestVercelRoutingConditionalHeadersAndCDN(t *testing.T) {
	requireGo(t)
	_, srv, _ := serve(t, host.Config{Dir: vrouteProject(t, "127.0.0.1:1")})
	for _, tc := range []struct {
		name, path string
		first      []string // the first request's cookie, then the second's
	}{
		{"function, condition met first", "/api/echo?cc=s-maxage%3D300&k=1", []string{"beta=1", ""}},
		{"function, condition met second", "/api/echo?cc=s-maxage%3D300&k=2", []string{"", "beta=1"}},
		{"static file, condition met first", "/docs", []string{"beta=1", ""}},
		{"static file, condition met second", "/about", []string{"", "beta=1"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for i, cookie := range tc.first {
				var hdr []string
				if cookie != "" {
					hdr = []string{"Cookie", cookie}
				}
				r := fetch(t, http.MethodGet, srv.URL+tc.path, hdr...)
				if r.status != http.StatusOK {
					t.Fatalf("request %d: status %d", i+1, r.status)
				}
				wantCache := []string{"MISS", "HIT"}[i]
				if got := r.header.Get("X-Vercel-Cache"); got != wantCache {
					t.Errorf("request %d: X-Vercel-Cache %q, want %q", i+1, got, wantCache)
				}
				want := ""
				if cookie != "" {
					want = "on"
				}
				if got := r.header.Get("X-Beta"); got != want {
					t.Errorf("request %d (cookie %q): X-Beta %q, want %q", i+1, cookie, got, want)
				}
			}
		})
	}
}

// A rewritten response is cached under the URL asked for as well as its
// destination: the headers stored with it follow the path asked for, so
// the destination asked for directly is another entry.
func TestVercelRoutingRewriteCDNKey(t *testing.T) {
	requireGo(t)
	_, srv, _ := serve(t, host.Config{Dir: vrouteProject(t, "127.0.0.1:1")})
	const cc = "cc=s-maxage%3D300"
	for i, tc := range []struct {
		path, cache, post, body string
	}{
		{"/posts/x?" + cc, "MISS", "x", "echo /api/echo?cc=s-maxage%3D300&post=x&slug=x\n"},
		{"/api/echo?" + cc + "&post=x&slug=x", "MISS", "", "echo /api/echo?cc=s-maxage%3D300&post=x&slug=x\n"},
		{"/posts/x?" + cc, "HIT", "x", "echo /api/echo?cc=s-maxage%3D300&post=x&slug=x\n"},
		{"/api/echo?" + cc + "&post=x&slug=x", "HIT", "", "echo /api/echo?cc=s-maxage%3D300&post=x&slug=x\n"},
	} {
		r := fetch(t, http.MethodGet, srv.URL+tc.path)
		if got := r.header.Get("X-Vercel-Cache"); got != tc.cache || r.body != tc.body || r.header.Get("X-Post") != tc.post {
			t.Errorf("request %d %s: %s X-Post %q %q, want %s X-Post %q %q", i+1, tc.path, got, r.header.Get("X-Post"), r.body, tc.cache, tc.post, tc.body)
		}
	}
}

// The CDN cache outlives a restart within a deployment; without a
// DeploymentID, the deployment is the project's content, static files and
// vercel.json included, so that a changed file is not answered from the
// former one's entry.
func TestStaticFileChangeIsANewDeployment(t *testing.T) {
	dir, cacheDir := t.TempDir(), t.TempDir()
	write := func(name, content string) {
		t.Helper()
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("vercel.json", `{"headers": [{"source": "/(.*)", "headers": [{"key": "Cache-Control", "value": "public, s-maxage=3600"}]}]}`)
	write("public/page.txt", "first")
	get := func(wantCache, wantBody string) {
		t.Helper()
		h, err := host.New(t.Context(), host.Config{Dir: dir, CacheDir: cacheDir, Logger: slog.New(slog.DiscardHandler)})
		if err != nil {
			t.Fatal(err)
		}
		srv := httptest.NewServer(h)
		r := fetch(t, http.MethodGet, srv.URL+"/page.txt", "Host", "site.test") // the host is in the key; the port changes
		srv.Close()
		if err := h.Close(t.Context()); err != nil {
			t.Fatal(err)
		}
		if got := r.header.Get("X-Vercel-Cache"); got != wantCache || r.body != wantBody {
			t.Fatalf("%s %q, want %s %q", got, r.body, wantCache, wantBody)
		}
	}
	get("MISS", "first")
	get("HIT", "first") // a restart keeps the deployment and its cache
	write("public/page.txt", "second, longer")
	get("MISS", "second, longer")
	write("vercel.json", `{"headers": [{"source": "/(.*)", "headers": [{"key": "Cache-Control", "value": "public, s-maxage=60"}]}]}`)
	get("MISS", "second, longer")
}

// TestStaticNotFoundPage: a 404.html among the static files is the page of
// a path nothing serves, with status 404, as Vercel serves it without
// configuration (https://vercel.com/docs/routing/custom-404-pages): the
// error route its zero-config detection adds, {"status": 404, "src":
// "^/(?!.*api).*$", "dest": "/404.html"} (@vercel/fs-detectors,
// detect-builders.ts), which vercel dev serves too. A path with "api" in
// it keeps the platform's NOT_FOUND.
func TestStaticNotFoundPage(t *testing.T) {
	dir := watDir(t, "hello")
	const page = "<!doctype html><title>Lost</title><h1>Nothing here</h1>\n"
	testkit.WriteFiles(t, dir, map[string]string{
		"public/index.html": "<p>home</p>",
		"public/404.html":   page,
		"vercel.json":       `{"cleanUrls": true, "headers": [{"source": "/(.*)", "headers": [{"key": "X-Frame-Options", "value": "DENY"}]}]}`,
	})
	_, srv, _ := serve(t, host.Config{Dir: dir})
	for _, path := range []string{"/nosuch", "/deep/no/such/", "/nosuch.css?v=1"} {
		r := fetch(t, http.MethodGet, srv.URL+path)
		if r.status != http.StatusNotFound || r.body != page || !strings.HasPrefix(r.header.Get("Content-Type"), "text/html") {
			t.Errorf("GET %s: %d %q %q, want 404 with 404.html", path, r.status, r.header.Get("Content-Type"), r.body)
		}
		if got := r.header.Get("X-Frame-Options"); got != "DENY" {
			t.Errorf("GET %s: X-Frame-Options %q, want vercel.json's DENY", path, got)
		}
		if r.header.Get("ETag") != "" || r.header.Get("Last-Modified") != "" {
			t.Errorf("GET %s: ETag %q, Last-Modified %q: a 404 page has no validators", path, r.header.Get("ETag"), r.header.Get("Last-Modified"))
		}
	}
	if r := fetch(t, http.MethodHead, srv.URL+"/nosuch"); r.status != http.StatusNotFound || r.body != "" {
		t.Errorf("HEAD /nosuch: %d %q, want 404 without a body", r.status, r.body)
	}
	if r := fetch(t, http.MethodGet, srv.URL+"/nosuch", "If-None-Match", "*", "Range", "bytes=0-3"); r.status != http.StatusNotFound || r.body != page {
		t.Errorf("GET /nosuch with If-None-Match and Range: %d %q, want the whole 404 page", r.status, r.body)
	}
	for _, path := range []string{"/api/nosuch", "/rapid/x"} {
		wantError(t, fetch(t, http.MethodGet, srv.URL+path), http.StatusNotFound, host.CodeNotFound)
	}
	if r := fetch(t, http.MethodGet, srv.URL+"/"); r.status != 200 || r.body != "<p>home</p>" {
		t.Errorf("GET /: %d %q", r.status, r.body)
	}
	if r := fetch(t, http.MethodGet, srv.URL+"/api/hello"); r.status != 200 {
		t.Errorf("GET /api/hello: %d %q", r.status, r.body)
	}
}

// A vercel.json redirect says how long it may be kept: Vercel's default
// Cache-Control, as vercel dev sends it with every response
// (setResponseHeaders). Without one a browser keeps a 308 or 301 with no
// end (Chromium does), so after a redirect's destination changed in
// vercel.json, wfn dev's browser still went to the former one.
func TestRedirectCacheControl(t *testing.T) {
	dir := watDir(t, "hello")
	testkit.WriteFiles(t, dir, map[string]string{
		"public/index.html": "<p>home</p>",
		"vercel.json": `{"redirects": [
			{"source": "/permanent", "destination": "/"},
			{"source": "/temporary", "destination": "/", "permanent": false},
			{"source": "/moved", "destination": "/", "statusCode": 301}]}`,
	})
	_, srv, _ := serve(t, host.Config{Dir: dir})
	for path, status := range map[string]int{"/permanent": 308, "/temporary": 307, "/moved": 301} {
		r := fetch(t, http.MethodGet, srv.URL+path)
		if r.status != status || r.header.Get("Location") != "/" {
			t.Errorf("GET %s: %d to %q, want %d to /", path, r.status, r.header.Get("Location"), status)
		}
		if got := r.header.Get("Cache-Control"); got != "public, max-age=0, must-revalidate" {
			t.Errorf("GET %s: Cache-Control %q, want public, max-age=0, must-revalidate", path, got)
		}
	}
}
