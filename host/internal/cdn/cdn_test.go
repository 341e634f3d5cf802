package cdn_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"

	"github.com/wfn-dev/wfn/cache"
	"github.com/wfn-dev/wfn/host/internal/cdn"
)

// deadline bounds every wait for something to happen.
const deadline = 20 * time.Second

func openStore(t testing.TB) cache.Store {
	t.Helper()
	s, err := cache.OpenDisk(filepath.Join(t.TempDir(), "cache.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close(context.Background()) })
	return s
}

// origin is a function the tests put behind the cache: handle answers
// call n (from 1) of the origin.
type origin struct {
	calls  atomic.Int64
	handle func(w http.ResponseWriter, r *http.Request, n int64) []string
}

func (o *origin) serve(w http.ResponseWriter, r *http.Request) []string {
	return o.handle(w, r, o.calls.Add(1))
}

// env is a cache in front of an origin, behind a real loopback server.
type env struct {
	t      *testing.T
	store  cache.Store
	cache  *cdn.Cache
	origin *origin
	srv    *httptest.Server
	client *http.Client
}

func newEnv(t *testing.T, handle func(w http.ResponseWriter, r *http.Request, n int64) []string) *env {
	t.Helper()
	return newEnvOpts(t, cdn.Options{}, handle)
}

func newEnvOpts(t *testing.T, opts cdn.Options, handle func(w http.ResponseWriter, r *http.Request, n int64) []string) *env {
	t.Helper()
	e := &env{t: t, store: openStore(t), origin: &origin{handle: handle}}
	opts.Logger = slog.New(slog.DiscardHandler)
	e.cache = cdn.New(e.store, opts)
	e.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		e.cache.Serve(w, r, cdn.Key(r), cdn.OriginFunc(e.origin.serve))
	}))
	// DisableCompression: the tests see the bytes the cache sends.
	e.client = &http.Client{
		Transport:     &http.Transport{DisableCompression: true},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	t.Cleanup(func() {
		e.srv.Close()
		if err := e.cache.Close(context.Background()); err != nil {
			t.Error(err)
		}
	})
	return e
}

type response struct {
	status int
	header http.Header
	body   string
}

func (r response) cache() string { return r.header.Get("X-Vercel-Cache") }

// do sends a request to path with header lines "Name: value".
func (e *env) do(method, path string, header ...string) response {
	e.t.Helper()
	req, err := http.NewRequestWithContext(e.t.Context(), method, e.srv.URL+path, nil)
	if err != nil {
		e.t.Fatal(err)
	}
	for _, h := range header {
		k, v, _ := strings.Cut(h, ":")
		req.Header.Add(k, strings.TrimSpace(v))
	}
	resp, err := e.client.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	return response{resp.StatusCode, resp.Header, string(body)}
}

func (e *env) get(path string, header ...string) response {
	e.t.Helper()
	return e.do(http.MethodGet, path, header...)
}

// expect checks the state and body of a response.
func expect(t *testing.T, r response, state, body string) {
	t.Helper()
	if r.cache() != state || r.body != body {
		t.Fatalf("got %s %q (status %d), want %s %q", r.cache(), r.body, r.status, state, body)
	}
}

// until polls f until it returns true, failing the test after deadline.
func until(t *testing.T, what string, f func() bool) {
	t.Helper()
	if !poll(f) {
		t.Fatalf("timed out waiting for %s", what)
	}
}

// poll polls f until it returns true, or false after deadline.
func poll(f func() bool) bool {
	end := time.Now().Add(deadline)
	for !f() {
		if time.Now().After(end) {
			return false
		}
		time.Sleep(5 * time.Millisecond)
	}
	return true
}

// versioned answers call n with body "v<n>", the given headers, and tags
// from the Tag request header.
func versioned(header ...string) func(w http.ResponseWriter, r *http.Request, n int64) []string {
	return func(w http.ResponseWriter, r *http.Request, n int64) []string {
		for _, h := range header {
			k, v, _ := strings.Cut(h, ":")
			w.Header().Add(k, strings.TrimSpace(v))
		}
		fmt.Fprintf(w, "v%d", n)
		return nil
	}
}

func (e *env) calls() int64 { return e.origin.calls.Load() }

func (e *env) wantCalls(n int64) {
	e.t.Helper()
	if got := e.calls(); got != n {
		e.t.Fatalf("origin called %d times, want %d", got, n)
	}
}

func TestMissThenHit(t *testing.T) {
	e := newEnv(t, versioned("Cache-Control: s-maxage=60", "Content-Type: text/plain"))
	r := e.get("/a")
	expect(t, r, cdn.Miss, "v1")
	if r.header.Get("Age") != "" {
		t.Errorf("Age %q on a MISS", r.header.Get("Age"))
	}
	r = e.get("/a")
	expect(t, r, cdn.Hit, "v1")
	if _, err := strconv.Atoi(r.header.Get("Age")); err != nil {
		t.Errorf("Age %q on a HIT: %v", r.header.Get("Age"), err)
	}
	if got := r.header.Get("Content-Type"); got != "text/plain" {
		t.Errorf("Content-Type %q", got)
	}
	// HEAD uses the GET entry.
	r = e.do(http.MethodHead, "/a")
	expect(t, r, cdn.Hit, "")
	if got := r.header.Get("Content-Length"); got != "2" {
		t.Errorf("HEAD Content-Length %q, want 2", got)
	}
	// The query is part of the key.
	expect(t, e.get("/a?x=1"), cdn.Miss, "v2")
	e.wantCalls(2)
}

func TestHeadMissIsNotStored(t *testing.T) {
	e := newEnv(t, versioned("Cache-Control: s-maxage=60"))
	expect(t, e.do(http.MethodHead, "/a"), cdn.Miss, "")
	expect(t, e.get("/a"), cdn.Miss, "v2")
	expect(t, e.do(http.MethodHead, "/a"), cdn.Hit, "")
	e.wantCalls(2)
}

func TestStaleByTime(t *testing.T) {
	e := newEnv(t, func(w http.ResponseWriter, r *http.Request, n int64) []string {
		if n == 1 {
			w.Header().Set("Cache-Control", "s-maxage=1, stale-while-revalidate=60")
		} else {
			w.Header().Set("Cache-Control", "s-maxage=60")
		}
		fmt.Fprintf(w, "v%d", n)
		return nil
	})
	expect(t, e.get("/a"), cdn.Miss, "v1")
	var r response
	until(t, "STALE", func() bool {
		r = e.get("/a")
		return r.cache() == cdn.Stale
	})
	expect(t, r, cdn.Stale, "v1")
	if age, _ := strconv.Atoi(r.header.Get("Age")); age < 1 {
		t.Errorf("Age %q on a stale entry of s-maxage=1", r.header.Get("Age"))
	}
	until(t, "the background revalidation", func() bool {
		r = e.get("/a")
		return r.cache() == cdn.Hit && r.body == "v2"
	})
	e.wantCalls(2)
}

func TestInvalidateTags(t *testing.T) {
	e := newEnv(t, versioned("Cache-Control: s-maxage=60", "Vercel-Cache-Tag: a, b"))
	expect(t, e.get("/a"), cdn.Miss, "v1")
	expect(t, e.get("/a"), cdn.Hit, "v1")
	if err := e.cache.InvalidateTags(t.Context(), "b"); err != nil {
		t.Fatal(err)
	}
	expect(t, e.get("/a"), cdn.Stale, "v1")
	var r response
	until(t, "the background revalidation", func() bool {
		r = e.get("/a")
		if r.cache() == cdn.Stale && r.body != "v1" {
			t.Fatalf("stale %q", r.body)
		}
		return r.cache() == cdn.Hit
	})
	expect(t, r, cdn.Hit, "v2")
	e.wantCalls(2)
}

func TestRequestNoCache(t *testing.T) {
	e := newEnv(t, versioned("Cache-Control: s-maxage=60"))
	expect(t, e.get("/a"), cdn.Miss, "v1")
	expect(t, e.get("/a", "Cache-Control: no-cache"), cdn.Revalidated, "v2")
	expect(t, e.get("/a"), cdn.Hit, "v2")
	expect(t, e.get("/a", "Pragma: no-cache"), cdn.Revalidated, "v3")
	expect(t, e.get("/a"), cdn.Hit, "v3")
	e.wantCalls(3)
}

func TestDeleteTags(t *testing.T) {
	e := newEnv(t, versioned("Cache-Control: s-maxage=60", "Vercel-Cache-Tag: a"))
	expect(t, e.get("/a"), cdn.Miss, "v1")
	if err := e.cache.DeleteTags(t.Context(), 0, "a"); err != nil {
		t.Fatal(err)
	}
	expect(t, e.get("/a"), cdn.Revalidated, "v2")
	expect(t, e.get("/a"), cdn.Hit, "v2")
	e.wantCalls(2)
}

func TestDeleteTagsWithDeadline(t *testing.T) {
	var fail atomic.Bool
	e := newEnv(t, func(w http.ResponseWriter, r *http.Request, n int64) []string {
		if fail.Load() {
			http.Error(w, "down", http.StatusInternalServerError)
			return nil
		}
		w.Header().Set("Cache-Control", "s-maxage=60")
		w.Header().Set("Vercel-Cache-Tag", "a")
		fmt.Fprintf(w, "v%d", n)
		return nil
	})
	expect(t, e.get("/a"), cdn.Miss, "v1")
	// Revalidations fail while the deadline runs: the stale copy stays.
	fail.Store(true)
	if err := e.cache.DeleteTags(t.Context(), 2*time.Second, "a"); err != nil {
		t.Fatal(err)
	}
	expect(t, e.get("/a"), cdn.Stale, "v1")
	var r response
	until(t, "the deadline", func() bool {
		r = e.get("/a")
		if r.cache() == cdn.Stale && r.body != "v1" {
			t.Fatalf("stale %q", r.body)
		}
		return r.cache() != cdn.Stale
	})
	if r.cache() != cdn.Revalidated || r.status != http.StatusInternalServerError {
		t.Fatalf("after the deadline: %s %d %q, want REVALIDATED from the failing origin", r.cache(), r.status, r.body)
	}
	fail.Store(false)
	r = e.get("/a")
	if r.cache() != cdn.Revalidated || r.status != http.StatusOK {
		t.Fatalf("got %s %d %q, want REVALIDATED 200", r.cache(), r.status, r.body)
	}
	expect(t, e.get("/a"), cdn.Hit, r.body)
}

func TestBypass(t *testing.T) {
	tests := []struct {
		name   string
		method string
		path   string
		header []string
	}{
		{name: "authorization", path: "/a", header: []string{"Authorization: Bearer x"}},
		{name: "range", path: "/a", header: []string{"Range: bytes=0-1"}},
		{name: "cookie", path: "/a", header: []string{"Cookie: x=1; _vercel_no_cache=1"}},
		{name: "query", path: "/a?_vercel_no_cache=1"},
		{name: "post", method: http.MethodPost, path: "/a"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, versioned("Cache-Control: s-maxage=60", "Vercel-Cache-Tag: a", "CDN-Cache-Control: max-age=60"))
			method := cmp(tt.method, http.MethodGet)
			for i := range 2 {
				r := e.do(method, tt.path, tt.header...)
				expect(t, r, cdn.Bypass, fmt.Sprintf("v%d", i+1))
				for _, h := range []string{"Vercel-Cache-Tag", "CDN-Cache-Control"} {
					if v := r.header.Get(h); v != "" {
						t.Errorf("%s: %q sent to the client", h, v)
					}
				}
				if got := r.header.Get("Cache-Control"); got != cdn.DefaultCacheControl {
					t.Errorf("Cache-Control %q", got)
				}
			}
			// Nothing was stored.
			expect(t, e.get("/a"), cdn.Miss, "v3")
		})
	}
}

func cmp(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// headerEnv answers path p with the headers of cases[p].
func headerEnv(t *testing.T, cases map[string][]string, status map[string]int) *env {
	return newEnv(t, func(w http.ResponseWriter, r *http.Request, n int64) []string {
		for _, h := range cases[r.URL.Path] {
			k, v, _ := strings.Cut(h, ":")
			w.Header().Add(k, strings.TrimSpace(v))
		}
		if s := status[r.URL.Path]; s != 0 {
			w.WriteHeader(s)
		}
		fmt.Fprintf(w, "v%d", n)
		return nil
	})
}

func TestCacheability(t *testing.T) {
	tests := []struct {
		name   string
		header []string
		status int
		cached bool
	}{
		{name: "vercel over cdn over cc", cached: true, header: []string{
			"Vercel-CDN-Cache-Control: max-age=60", "CDN-Cache-Control: no-store", "Cache-Control: no-store"}},
		{name: "vercel no-store wins", header: []string{
			"Vercel-CDN-Cache-Control: no-store", "CDN-Cache-Control: max-age=60", "Cache-Control: s-maxage=60"}},
		{name: "cdn over cc", cached: true, header: []string{"CDN-Cache-Control: max-age=60", "Cache-Control: no-store"}},
		{name: "cdn no-cache wins", header: []string{"CDN-Cache-Control: no-cache", "Cache-Control: s-maxage=60"}},
		{name: "cdn s-maxage", cached: true, header: []string{"CDN-Cache-Control: s-maxage=60, max-age=0"}},
		{name: "cc s-maxage", cached: true, header: []string{"Cache-Control: public, s-maxage=60"}},
		{name: "cc max-age is for browsers", header: []string{"Cache-Control: public, max-age=60"}},
		{name: "cc private", header: []string{"Cache-Control: private, s-maxage=60"}},
		{name: "cc no-cache", header: []string{"Cache-Control: no-cache, s-maxage=60"}},
		{name: "s-maxage 0", header: []string{"Cache-Control: s-maxage=0, stale-while-revalidate=60"}},
		{name: "no header"},
		{name: "set-cookie", header: []string{"Cache-Control: s-maxage=60", "Set-Cookie: a=b"}},
		{name: "vary cookie", header: []string{"Cache-Control: s-maxage=60", "Vary: Accept, Cookie"}},
		{name: "vary star", header: []string{"Cache-Control: s-maxage=60", "Vary: *"}},
		{name: "vary other", cached: true, header: []string{"Cache-Control: s-maxage=60", "Vary: Accept-Language"}},
		{name: "status 404", status: 404, cached: true, header: []string{"Cache-Control: s-maxage=60"}},
		{name: "status 301", status: 301, cached: true, header: []string{"Cache-Control: s-maxage=60", "Location: /x"}},
		{name: "status 308", status: 308, cached: true, header: []string{"Cache-Control: s-maxage=60", "Location: /x"}},
		{name: "status 500", status: 500, header: []string{"Cache-Control: s-maxage=60"}},
		{name: "status 302", status: 302, header: []string{"Cache-Control: s-maxage=60", "Location: /x"}},
		{name: "status 204", status: 204, header: []string{"Cache-Control: s-maxage=60"}},
	}
	cases, status := map[string][]string{}, map[string]int{}
	for i, tt := range tests {
		p := "/" + strconv.Itoa(i)
		cases[p], status[p] = tt.header, tt.status
	}
	e := headerEnv(t, cases, status)
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := "/" + strconv.Itoa(i)
			first := e.get(p)
			if first.cache() != cdn.Miss {
				t.Fatalf("first: %s", first.cache())
			}
			if want := cmpInt(tt.status, 200); first.status != want {
				t.Fatalf("status %d, want %d", first.status, want)
			}
			second := e.get(p)
			want := cdn.Miss
			if tt.cached {
				want = cdn.Hit
			}
			if second.cache() != want || second.status != first.status || second.body != first.body && tt.cached {
				t.Fatalf("second: %s %d %q, want %s %d %q", second.cache(), second.status, second.body, want, first.status, first.body)
			}
			for _, r := range []response{first, second} {
				for _, h := range []string{"Vercel-CDN-Cache-Control", "CDN-Cache-Control", "Vercel-Cache-Tag"} {
					if v := r.header.Get(h); v != "" {
						t.Errorf("%s: %q sent to the client", h, v)
					}
				}
			}
		})
	}
}

func cmpInt(a, b int) int {
	if a != 0 {
		return a
	}
	return b
}

func TestClientCacheControl(t *testing.T) {
	tests := []struct {
		name   string
		header []string
		want   string
		cached bool
	}{
		{name: "s-maxage only", header: []string{"Cache-Control: s-maxage=60"}, want: cdn.DefaultCacheControl, cached: true},
		{name: "public with swr", header: []string{"Cache-Control: public, s-maxage=60, stale-while-revalidate=30"}, want: cdn.DefaultCacheControl, cached: true},
		{name: "browser max-age kept", header: []string{"Cache-Control: public, max-age=60, s-maxage=600"}, want: "public, max-age=60", cached: true},
		{name: "cdn header only", header: []string{"CDN-Cache-Control: max-age=60"}, want: cdn.DefaultCacheControl, cached: true},
		{name: "cdn header and browser cc", header: []string{"Vercel-CDN-Cache-Control: max-age=60", "Cache-Control: max-age=10"}, want: "max-age=10", cached: true},
		{name: "not cached no-store", header: []string{"Cache-Control: no-store"}, want: "no-store"},
		{name: "not cached none", want: cdn.DefaultCacheControl},
	}
	cases := map[string][]string{}
	for i, tt := range tests {
		cases["/"+strconv.Itoa(i)] = tt.header
	}
	e := headerEnv(t, cases, nil)
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := "/" + strconv.Itoa(i)
			for _, want := range []string{cdn.Miss, map[bool]string{true: cdn.Hit, false: cdn.Miss}[tt.cached]} {
				r := e.get(p)
				if r.cache() != want {
					t.Fatalf("%s, want %s", r.cache(), want)
				}
				if got := r.header.Values("Cache-Control"); len(got) != 1 || got[0] != tt.want {
					t.Errorf("%s: Cache-Control %q, want %q", want, got, tt.want)
				}
			}
		})
	}
}

func TestTags(t *testing.T) {
	many := make([]string, 127)
	for i := range many {
		many[i] = "t" + strconv.Itoa(i)
	}
	e := newEnv(t, func(w http.ResponseWriter, r *http.Request, n int64) []string {
		w.Header().Set("Cache-Control", "s-maxage=60")
		defer fmt.Fprintf(w, "v%d", n)
		switch r.URL.Path {
		case "/both":
			w.Header().Set("Vercel-Cache-Tag", "h1,h2")
			return []string{"o1"}
		case "/127":
			w.Header().Set("Vercel-Cache-Tag", strings.Join(many, ","))
		case "/128":
			w.Header().Set("Vercel-Cache-Tag", strings.Join(append(many, "one-more"), ","))
		case "/long":
			w.Header().Set("Vercel-Cache-Tag", strings.Repeat("x", cache.MaxTagSize+1))
		case "/comma":
			return []string{"a,b"}
		case "/origin-many":
			return append(many, "one-more")
		}
		return nil
	})
	expect(t, e.get("/both"), cdn.Miss, "v1")
	for _, tag := range []string{"o1", "h2"} {
		if err := e.cache.InvalidateTags(t.Context(), tag); err != nil {
			t.Fatal(err)
		}
		if r := e.get("/both"); r.cache() != cdn.Stale {
			t.Fatalf("after invalidating %s: %s", tag, r.cache())
		}
		until(t, "the background revalidation", func() bool { return e.get("/both").cache() == cdn.Hit })
	}

	expect(t, e.get("/127"), cdn.Miss, "v4")
	expect(t, e.get("/127"), cdn.Hit, "v4")
	// Over the limits: served, not stored.
	for _, p := range []string{"/128", "/long", "/comma", "/origin-many"} {
		t.Run(p, func(t *testing.T) {
			for range 2 {
				r := e.get(p)
				if r.cache() != cdn.Miss || r.status != http.StatusOK {
					t.Fatalf("%s %d", r.cache(), r.status)
				}
				if v := r.header.Get("Vercel-Cache-Tag"); v != "" {
					t.Errorf("Vercel-Cache-Tag %q sent to the client", v)
				}
			}
		})
	}
}

func TestSrcImages(t *testing.T) {
	e := newEnv(t, versioned("Cache-Control: s-maxage=60"))
	expect(t, e.get("/img/a.png?w=64"), cdn.Miss, "v1")
	expect(t, e.get("/img/b.png"), cdn.Miss, "v2")
	expect(t, e.get("/img/c.png"), cdn.Miss, "v3")

	if err := e.cache.InvalidateSrcImages(t.Context(), "/img/a.png"); err != nil {
		t.Fatal(err)
	}
	expect(t, e.get("/img/a.png?w=64"), cdn.Stale, "v1")
	if err := e.cache.DeleteSrcImages(t.Context(), 0, "https://example.com/img/b.png"); err != nil {
		t.Fatal(err)
	}
	if r := e.get("/img/b.png"); r.cache() != cdn.Revalidated {
		t.Fatalf("deleted source: %s", r.cache())
	}
	expect(t, e.get("/img/c.png"), cdn.Hit, "v3")
}

func TestSrcTag(t *testing.T) {
	long := "/" + strings.Repeat("p", 300)
	tests := []struct{ name, src, want string }{
		{"path", "/img/a.png", "wfn:src:/img/a.png"},
		{"no slash", "img/a.png", "wfn:src:/img/a.png"},
		{"url", "https://example.com/img/a.png?w=1", "wfn:src:/img/a.png"},
		{"long", long, cdn.SrcTag(long)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := cdn.SrcTag(tt.src)
			if got != tt.want || len(got) > cache.MaxTagSize || strings.Contains(got, ",") {
				t.Fatalf("SrcTag(%q) = %q, want %q", tt.src, got, tt.want)
			}
		})
	}
}

func TestStampede(t *testing.T) {
	const n = 100
	var c *cdn.Cache
	key := ""
	e := newEnv(t, func(w http.ResponseWriter, r *http.Request, _ int64) []string {
		// Hold the origin until every other request waits for it.
		if !poll(func() bool { return cdn.Waiters(c, key) == n-1 }) {
			t.Error("timed out waiting for the followers")
		}
		w.Header().Set("Cache-Control", "s-maxage=60")
		w.Write([]byte("once"))
		return nil
	})
	c = e.cache
	key = "http://" + strings.TrimPrefix(e.srv.URL, "http://") + "/cold?"

	var wg sync.WaitGroup
	results := make([]response, n)
	for i := range n {
		wg.Go(func() {
			req, _ := http.NewRequest(http.MethodGet, e.srv.URL+"/cold", nil)
			resp, err := e.client.Do(req)
			if err != nil {
				t.Error(err)
				return
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			results[i] = response{resp.StatusCode, resp.Header, string(b)}
		})
	}
	wg.Wait()
	e.wantCalls(1)
	for i, r := range results {
		if r.body != "once" || r.cache() != cdn.Miss {
			t.Fatalf("response %d: %s %q", i, r.cache(), r.body)
		}
	}
	expect(t, e.get("/cold"), cdn.Hit, "once")
}

// A leader whose response cannot be stored releases its followers at its
// head, and streams.
func TestStreamingLeaderReleasesFollowers(t *testing.T) {
	const followers = 10
	entered, gate, release := make(chan struct{}), make(chan struct{}), make(chan struct{})
	e := newEnv(t, func(w http.ResponseWriter, r *http.Request, n int64) []string {
		if n > 1 {
			w.Write([]byte("quick"))
			return nil
		}
		close(entered)
		<-gate
		w.Header().Set("Content-Type", "text/event-stream")
		w.Write([]byte("chunk1"))
		http.NewResponseController(w).Flush()
		<-release
		w.Write([]byte("end"))
		return nil
	})
	key := "http://" + strings.TrimPrefix(e.srv.URL, "http://") + "/stream?"
	defer func() {
		select {
		case <-release:
		default:
			close(release)
		}
	}()

	leader := make(chan *http.Response, 1)
	go func() {
		resp, err := e.client.Get(e.srv.URL + "/stream")
		if err != nil {
			t.Error(err)
			close(leader)
			return
		}
		leader <- resp
	}()
	<-entered
	done := make(chan response, followers)
	for range followers {
		go func() {
			resp, err := e.client.Get(e.srv.URL + "/stream")
			if err != nil {
				t.Error(err)
				done <- response{}
				return
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			done <- response{resp.StatusCode, resp.Header, string(b)}
		}()
	}
	until(t, "the followers", func() bool { return cdn.Waiters(e.cache, key) == followers })
	close(gate)

	var resp *http.Response
	select {
	case resp = <-leader:
	case <-time.After(deadline):
		t.Fatal("no head from the leader")
	}
	if resp == nil {
		t.FailNow()
	}
	defer resp.Body.Close()
	chunk := make([]byte, len("chunk1"))
	if _, err := io.ReadFull(resp.Body, chunk); err != nil || string(chunk) != "chunk1" {
		t.Fatalf("leader read %q, %v", chunk, err)
	}
	if resp.Header.Get("X-Vercel-Cache") != cdn.Miss {
		t.Errorf("leader: %s", resp.Header.Get("X-Vercel-Cache"))
	}
	// The leader's stream is still open.
	for range followers {
		select {
		case r := <-done:
			expect(t, r, cdn.Miss, "quick")
		case <-time.After(deadline):
			t.Fatal("a follower is still blocked")
		}
	}
	// Hit-for-miss: later requests do not queue.
	expect(t, e.get("/stream"), cdn.Miss, "quick")
	close(release)
	rest, err := io.ReadAll(resp.Body)
	if err != nil || string(rest) != "end" {
		t.Fatalf("leader rest %q, %v", rest, err)
	}
	e.wantCalls(followers + 2)
}

// The origin of a collapsed miss survives its first client leaving while
// others wait.
func TestLeaderLeaves(t *testing.T) {
	entered, release := make(chan struct{}), make(chan struct{})
	var originErr atomic.Value
	e := newEnv(t, func(w http.ResponseWriter, r *http.Request, n int64) []string {
		close(entered)
		<-release
		originErr.Store(fmt.Sprint(r.Context().Err()))
		w.Header().Set("Cache-Control", "s-maxage=60")
		w.Write([]byte("done"))
		return nil
	})
	key := "http://" + strings.TrimPrefix(e.srv.URL, "http://") + "/slow?"
	ctx, cancel := context.WithCancel(t.Context())
	leaderDone := make(chan error, 1)
	go func() {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, e.srv.URL+"/slow", nil)
		resp, err := e.client.Do(req)
		if err == nil {
			resp.Body.Close()
		}
		leaderDone <- err
	}()
	<-entered
	follower := make(chan response, 1)
	go func() {
		resp, err := e.client.Get(e.srv.URL + "/slow")
		if err != nil {
			t.Error(err)
			follower <- response{}
			return
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		follower <- response{resp.StatusCode, resp.Header, string(b)}
	}()
	until(t, "the follower", func() bool { return cdn.Waiters(e.cache, key) == 1 })
	cancel()
	if err := <-leaderDone; !errors.Is(err, context.Canceled) {
		t.Fatalf("leader: %v", err)
	}
	close(release)
	expect(t, <-follower, cdn.Miss, "done")
	if got := originErr.Load(); got != "<nil>" {
		t.Fatalf("origin context: %v", got)
	}
	// The follower may be served before the leader stored the entry.
	until(t, "the entry", func() bool { return e.get("/slow").cache() == cdn.Hit })
	e.wantCalls(1)
}

func TestCompression(t *testing.T) {
	text := strings.Repeat("the quick brown fox jumps over the lazy dog\n", 100)
	e := newEnv(t, func(w http.ResponseWriter, r *http.Request, n int64) []string {
		w.Header().Set("Cache-Control", "s-maxage=60")
		switch r.URL.Path {
		case "/small":
			w.Header().Set("Content-Type", "text/plain")
			w.Write([]byte("small"))
		case "/png":
			w.Header().Set("Content-Type", "image/png")
			w.Write([]byte(text))
		case "/encoded":
			w.Header().Set("Content-Type", "text/plain")
			w.Header().Set("Content-Encoding", "br")
			w.Write([]byte(text))
		default:
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
			w.Write([]byte(text))
		}
		return nil
	})
	tests := []struct {
		name, accept, want string
	}{
		{"identity", "", ""},
		{"gzip", "gzip", "gzip"},
		{"zstd", "zstd", "zstd"},
		{"both prefers zstd", "gzip, deflate, br, zstd", "zstd"},
		{"zstd refused", "zstd;q=0, gzip;q=0.5", "gzip"},
		{"all refused", "gzip;q=0, zstd;q=0", ""},
		{"star", "*", "zstd"},
		{"star without zstd", "*, zstd;q=0", "gzip"},
	}
	bodies := map[string]string{}
	for round, want := range []string{cdn.Miss, cdn.Hit, cdn.Hit} {
		for _, tt := range tests {
			t.Run(fmt.Sprintf("%s/%d", tt.name, round), func(t *testing.T) {
				var hdr []string
				if tt.accept != "" {
					hdr = append(hdr, "Accept-Encoding: "+tt.accept)
				}
				r := e.get("/text", hdr...)
				if round > 0 && r.cache() != want {
					t.Fatalf("%s, want %s", r.cache(), want)
				}
				if got := r.header.Get("Content-Encoding"); got != tt.want {
					t.Fatalf("Content-Encoding %q, want %q", got, tt.want)
				}
				if got := r.header.Get("Vary"); got != "Accept-Encoding" {
					t.Errorf("Vary %q", got)
				}
				if got := r.header.Get("Content-Length"); got != strconv.Itoa(len(r.body)) {
					t.Errorf("Content-Length %s for %d bytes", got, len(r.body))
				}
				if got := decompress(t, tt.want, r.body); got != text {
					t.Fatalf("decoded body differs (%d bytes)", len(got))
				}
				if round > 0 && bodies[tt.want] != r.body {
					t.Fatalf("%s body differs across responses", tt.want)
				}
				bodies[tt.want] = r.body
			})
		}
	}
	if n := cdn.Compressions(e.cache); n != 1 {
		t.Fatalf("compressed %d times, want once", n)
	}
	// Too small, not textual, already encoded: sent as written.
	for _, p := range []string{"/small", "/png", "/encoded"} {
		for _, want := range []string{cdn.Miss, cdn.Hit} {
			r := e.get(p, "Accept-Encoding: gzip, zstd, br")
			if r.cache() != want {
				t.Fatalf("%s: %s, want %s", p, r.cache(), want)
			}
			if ce := r.header.Get("Content-Encoding"); ce != "" && p != "/encoded" || p == "/encoded" && ce != "br" {
				t.Fatalf("%s: Content-Encoding %q", p, ce)
			}
		}
	}
	if n := cdn.Compressions(e.cache); n != 1 {
		t.Fatalf("compressed %d times, want once", n)
	}
}

func decompress(t *testing.T, enc, body string) string {
	t.Helper()
	var r io.Reader = strings.NewReader(body)
	switch enc {
	case "gzip":
		zr, err := gzip.NewReader(r)
		if err != nil {
			t.Fatal(err)
		}
		r = zr
	case "zstd":
		zr, err := zstd.NewReader(r)
		if err != nil {
			t.Fatal(err)
		}
		defer zr.Close()
		r = zr
	}
	b, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// A body over one store value is kept compressed only, and identity
// clients get it decompressed.
func TestLargeEntry(t *testing.T) {
	var big bytes.Buffer
	for i := 0; big.Len() < cache.MaxValueSize+1<<20; i++ {
		fmt.Fprintf(&big, "line %d of a large JSON-ish document\n", i)
	}
	e := newEnv(t, func(w http.ResponseWriter, r *http.Request, n int64) []string {
		w.Header().Set("Cache-Control", "s-maxage=60")
		w.Header().Set("Content-Type", "application/json")
		w.Write(big.Bytes())
		return nil
	})
	want := cdn.Miss
	for _, enc := range []string{"", "", "gzip", "zstd"} {
		var hdr []string
		if enc != "" {
			hdr = []string{"Accept-Encoding: " + enc}
		}
		r := e.get("/big", hdr...)
		if r.cache() != want {
			t.Fatalf("%q: %s, want %s", enc, r.cache(), want)
		}
		if got := r.header.Get("Content-Encoding"); got != enc {
			t.Fatalf("%q: Content-Encoding %q", enc, got)
		}
		if decompress(t, enc, r.body) != big.String() {
			t.Fatalf("%q: body differs", enc)
		}
		want = cdn.Hit
	}
	e.wantCalls(1)
}

func TestStoreDown(t *testing.T) {
	e := newEnv(t, versioned("Cache-Control: s-maxage=60", "Vercel-Cache-Tag: a"))
	expect(t, e.get("/a"), cdn.Miss, "v1")
	if err := e.store.Close(t.Context()); err != nil {
		t.Fatal(err)
	}
	expect(t, e.get("/a"), cdn.Miss, "v2")
	expect(t, e.get("/b"), cdn.Miss, "v3")
	expect(t, e.get("/a", "Cache-Control: no-cache"), cdn.Revalidated, "v4")
	if err := e.cache.InvalidateTags(t.Context(), "a"); !errors.Is(err, cache.ErrUnavailable) {
		t.Fatalf("InvalidateTags on a closed store: %v", err)
	}
}

func TestClose(t *testing.T) {
	entered, release := make(chan struct{}), make(chan struct{})
	e := newEnv(t, func(w http.ResponseWriter, r *http.Request, n int64) []string {
		if n == 1 {
			w.Header().Set("Cache-Control", "s-maxage=1, stale-while-revalidate=60")
		} else {
			close(entered)
			select {
			case <-release:
			case <-r.Context().Done():
			}
		}
		fmt.Fprintf(w, "v%d", n)
		return nil
	})
	expect(t, e.get("/a"), cdn.Miss, "v1")
	until(t, "STALE", func() bool { return e.get("/a").cache() == cdn.Stale })
	<-entered
	// Close waits for the background revalidation; a deadline cancels it.
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if err := e.cache.Close(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("Close: %v", err)
	}
	close(release)
	if err := e.cache.Close(t.Context()); err != nil {
		t.Fatal(err)
	}
}

func TestMaxBody(t *testing.T) {
	chunk := strings.Repeat("x", 600)
	e := newEnvOpts(t, cdn.Options{MaxBody: 1000}, func(w http.ResponseWriter, r *http.Request, n int64) []string {
		w.Header().Set("Cache-Control", "s-maxage=60")
		if r.URL.Path == "/length" {
			w.Header().Set("Content-Length", "1800")
		}
		for range 3 {
			w.Write([]byte(chunk))
		}
		return nil
	})
	for _, p := range []string{"/stream", "/length"} {
		for range 2 {
			r := e.get(p)
			if r.cache() != cdn.Miss || r.body != strings.Repeat(chunk, 3) {
				t.Fatalf("%s: %s, %d bytes", p, r.cache(), len(r.body))
			}
		}
	}
	e.wantCalls(4)
}
