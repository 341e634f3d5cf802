package host_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/wfn-dev/wfn/host"
)

// cacheAnswer is what guests/api/cache answers.
type cacheAnswer struct {
	Value json.RawMessage `json:"value"`
	Hit   bool            `json:"hit"`
}

func getCacheExample(t *testing.T, base string) cacheAnswer {
	t.Helper()
	r := get(t, base+"/api/cache")
	var a cacheAnswer
	if r.status != 200 || json.Unmarshal([]byte(r.body), &a) != nil {
		t.Fatalf("/api/cache = %d %q", r.status, r.body)
	}
	return a
}

// product is what guests/api/product answers, with the CDN's verdict.
type product struct {
	ID, Runs int
	Cache    string
}

func getProduct(t *testing.T, base string, id int, header ...string) product {
	t.Helper()
	r := do(t, http.MethodGet, fmt.Sprintf("%s/api/product?id=%d", base, id), nil, header...)
	var p product
	if r.status != 200 || json.Unmarshal([]byte(r.body), &p) != nil || p.ID != id {
		t.Fatalf("/api/product?id=%d = %d %q", id, r.status, r.body)
	}
	p.Cache = r.header.Get("X-Vercel-Cache")
	if r.header.Get("Vercel-CDN-Cache-Control") != "" || r.header.Get("Vercel-Cache-Tag") != "" {
		t.Errorf("CDN-only headers reached the client: %v", r.header)
	}
	if p.Cache != "BYPASS" && r.header.Get("Cache-Control") != "public, max-age=0, must-revalidate" {
		t.Errorf("client Cache-Control = %q", r.header.Get("Cache-Control"))
	}
	return p
}

// freshID is a product id no other test run has used.
func freshID() int { return int(idSeq.Add(1)) + int(time.Now().UnixNano()%1e9)*100 }

var idSeq atomic.Int64

func TestRuntimeCacheExample(t *testing.T) {
	requireGo(t)
	_, srv, _ := serveShared(t, "../guests")
	// The Runtime Cache is shared by the tests of this binary: start clean.
	if r := get(t, srv.URL+"/api/expire?tag=example-tag"); r.status != 200 {
		t.Fatalf("/api/expire = %d %q", r.status, r.body)
	}
	first := getCacheExample(t, srv.URL)
	if first.Hit {
		t.Fatalf("first request was a hit: %+v", first)
	}
	second := getCacheExample(t, srv.URL)
	if !second.Hit || string(second.Value) != string(first.Value) {
		t.Fatalf("second request = %+v, want a hit of %s", second, first.Value)
	}
	if r := get(t, srv.URL+"/api/expire?tag=example-tag"); r.status != 200 {
		t.Fatalf("/api/expire = %d %q", r.status, r.body)
	}
	third := getCacheExample(t, srv.URL)
	if third.Hit || string(third.Value) == string(first.Value) {
		t.Fatalf("after expireTag: %+v, want a miss with a new value", third)
	}
}

// TestCDNStates walks guests/api/product through every state of the CDN
// cache. Its body counts its runs per id in the Runtime Cache, so the
// count says how many times the function ran.
func TestCDNStates(t *testing.T) {
	requireGo(t)
	_, srv, _ := serveShared(t, "../guests")
	want := func(p product, cache string, runs int) {
		t.Helper()
		if p.Cache != cache || p.Runs != runs {
			t.Fatalf("got %s with runs %d, want %s with runs %d", p.Cache, p.Runs, cache, runs)
		}
	}
	// Ids of this run only: the Runtime Cache (the run counts) is shared
	// by the tests of this binary.
	one, two := freshID(), freshID()
	want(getProduct(t, srv.URL, one), "MISS", 1)
	want(getProduct(t, srv.URL, one), "HIT", 1)
	want(getProduct(t, srv.URL, two), "MISS", 1) // the query is part of the key

	// invalidateByTag from a guest: served stale once, refreshed behind.
	if r := get(t, srv.URL+fmt.Sprintf("/api/revalidate?tag=product-%d", one)); r.status != 200 {
		t.Fatalf("/api/revalidate = %d %q", r.status, r.body)
	}
	want(getProduct(t, srv.URL, one), "STALE", 1)
	eventually(t, "the background refresh", func() bool {
		p := getProduct(t, srv.URL, one)
		return p.Cache == "HIT" && p.Runs == 2
	})
	want(getProduct(t, srv.URL, two), "HIT", 1) // other tags untouched

	// A request that asks for a fresh copy, and one the CDN may not serve
	// from its cache.
	want(getProduct(t, srv.URL, one, "Cache-Control", "no-cache"), "REVALIDATED", 3)
	want(getProduct(t, srv.URL, one, "Authorization", "Bearer x"), "BYPASS", 4)
	want(getProduct(t, srv.URL, one), "HIT", 3)

	// dangerouslyDeleteByTag from an operator: the next request refreshes
	// in the foreground.
	purge(t, srv.URL, `{"tags": ["products"], "delete": true}`, 200)
	want(getProduct(t, srv.URL, two), "REVALIDATED", 2)
	want(getProduct(t, srv.URL, two), "HIT", 2)
}

// TestCDNStampede sends 100 concurrent requests for a cold key: the
// function runs once.
func TestCDNStampede(t *testing.T) {
	requireGo(t)
	_, srv, _ := serveShared(t, "../guests")
	id := freshID()
	var wg sync.WaitGroup
	results := make([]product, 100)
	for i := range results {
		wg.Go(func() { results[i] = getProduct(t, srv.URL, id) })
	}
	wg.Wait()
	for i, p := range results {
		if p.Runs != 1 || (p.Cache != "MISS" && p.Cache != "HIT") {
			t.Fatalf("request %d: %+v, want runs 1 from the one invocation", i, p)
		}
	}
	// The next forced refresh is the function's second run: the stampede
	// made exactly one invocation.
	if p := getProduct(t, srv.URL, id, "Cache-Control", "no-cache"); p.Runs != 2 {
		t.Fatalf("after the stampede the function had run %d times, want 1", p.Runs-1)
	}
}

// TestCachePersistsAcrossRestart closes a host and starts another on the
// same directory: the Runtime Cache and the CDN cache kept their entries.
func TestCachePersistsAcrossRestart(t *testing.T) {
	requireGo(t)
	cacheDir := t.TempDir()
	seedBuilds(t, cacheDir)
	cfg := host.Config{Dir: "../guests", CacheDir: cacheDir, DeploymentID: "dpl_restart"}
	h, srv, _ := serve(t, cfg)
	want := getCacheExample(t, srv.URL)
	if p := getProduct(t, srv.URL, 5); p.Cache != "MISS" || p.Runs != 1 {
		t.Fatalf("first host: %+v", p)
	}
	srv.Close()
	if err := h.Close(context.Background()); err != nil {
		t.Fatal(err)
	}

	_, srv2, _ := serve(t, cfg)
	if got := getCacheExample(t, srv2.URL); !got.Hit || string(got.Value) != string(want.Value) {
		t.Errorf("Runtime Cache after restart: %+v, want a hit of %s", got, want.Value)
	}
	// The CDN key holds the request's host, which changed with the port:
	// ask for the first server's.
	req, _ := http.NewRequest(http.MethodGet, srv2.URL+"/api/product?id=5", nil)
	req.Host = strings.TrimPrefix(srv.URL, "http://")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.Header.Get("X-Vercel-Cache") != "HIT" || !strings.Contains(string(b), `"runs":1`) {
		t.Errorf("CDN cache after restart: %s %q, want a HIT of runs 1", resp.Header.Get("X-Vercel-Cache"), b)
	}
}

// seedBuilds links the shared cache's builds and compiled code (keyed by
// content) into dir, so that a test with a cache directory of its own
// does not build and compile every example again; its Runtime Cache and
// CDN cache start empty.
func seedBuilds(t *testing.T, dir string) {
	t.Helper()
	if err := linkCodeDirs(dir, sharedCache); err != nil {
		t.Fatalf("seeding %s: %v", dir, err)
	}
}

func purge(t *testing.T, base, body string, status int) {
	t.Helper()
	r := do(t, http.MethodPost, base+"/_wfn/cache/purge", strings.NewReader(body))
	if r.status != status {
		t.Fatalf("purge %s = %d %q, want %d", body, r.status, r.body, status)
	}
}

func TestPurgeEndpoint(t *testing.T) {
	_, srv, _ := serve(t, host.Config{Dir: watDir(t, "cdn")})
	body := func() (string, string) {
		r := get(t, srv.URL+"/api/cdn")
		return r.header.Get("X-Vercel-Cache"), r.body
	}
	if c, b := body(); c != "MISS" || b != "1" {
		t.Fatalf("first = %s %q", c, b)
	}
	if c, b := body(); c != "HIT" || b != "1" {
		t.Fatalf("second = %s %q", c, b)
	}
	purge(t, srv.URL, `{"tags": ["t1"]}`, 200)
	if c, b := body(); c != "STALE" || b != "1" {
		t.Fatalf("after invalidation = %s %q, want STALE 1", c, b)
	}
	eventually(t, "the refresh", func() bool { c, b := body(); return c == "HIT" && b == "2" })
	purge(t, srv.URL, `{"srcImages": ["/api/cdn"], "delete": true}`, 200)
	if c, b := body(); c != "REVALIDATED" || b != "3" {
		t.Fatalf("after deletion by source = %s %q, want REVALIDATED 3", c, b)
	}

	purge(t, srv.URL, `{}`, 400)
	purge(t, srv.URL, `{"tags": ["a,b"]}`, 400)
	purge(t, srv.URL, `{"tag": ["x"]}`, 400)
	if r := get(t, srv.URL+"/_wfn/cache/purge"); r.status != 405 {
		t.Errorf("GET purge = %d", r.status)
	}

	// Only the allowed peers may purge: loopback by default.
	_, other, _ := serve(t, host.Config{Dir: watDir(t, "cdn"), PurgeFrom: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}})
	wantError(t, do(t, http.MethodPost, other.URL+"/_wfn/cache/purge", strings.NewReader(`{"tags": ["t1"]}`)), 403, host.CodeForbidden)
}

// cdnState is the /api/cdn guest's answer through the CDN cache:
// x-vercel-cache and the guest's run count, such as "HIT 1".
func cdnState(t *testing.T, base string) string {
	t.Helper()
	r := get(t, base+"/api/cdn")
	return r.header.Get("X-Vercel-Cache") + " " + r.body
}

// cached serves /api/cdn until the CDN cache holds it.
func cached(t *testing.T, base string) {
	t.Helper()
	if got := cdnState(t, base); got != "MISS 1" {
		t.Fatalf("first = %q, want MISS 1", got)
	}
	if got := cdnState(t, base); got != "HIT 1" {
		t.Fatalf("second = %q, want HIT 1", got)
	}
}

// TestPurgeBehindProxy: behind a proxy on the same machine (the setup
// --trust-proxy exists for), the socket peer of every request is the
// proxy, which PurgeFrom allows; a purge it forwards is refused and purges
// nothing, unless the operator allows forwarded purges.
func TestPurgeBehindProxy(t *testing.T) {
	deleteAll := `{"tags": ["t1"], "delete": true}`
	proxy := []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}
	tests := []struct {
		name    string
		cfg     host.Config
		headers []string // what the proxy adds
		status  int
	}{
		{"from a trusted proxy", host.Config{TrustedProxies: proxy}, nil, 403},
		{"from a trusted proxy, with its headers", host.Config{TrustedProxies: proxy}, []string{"X-Forwarded-For", "127.0.0.1"}, 403},
		{"x-forwarded-for from an untrusted peer", host.Config{}, []string{"X-Forwarded-For", "203.0.113.9"}, 403},
		{"x-real-ip", host.Config{}, []string{"X-Real-Ip", "203.0.113.9"}, 403},
		{"forwarded", host.Config{}, []string{"Forwarded", "for=203.0.113.9"}, 403},
		{"via", host.Config{}, []string{"Via", "1.1 proxy"}, 403},
		{"forwarded purges allowed", host.Config{TrustedProxies: proxy, PurgeForwarded: true}, []string{"X-Forwarded-For", "203.0.113.9"}, 200},
		{"direct, no proxy", host.Config{}, nil, 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.cfg.Dir = watDir(t, "cdn")
			_, srv, logs := serve(t, tt.cfg)
			cached(t, srv.URL)
			r := do(t, http.MethodPost, srv.URL+"/_wfn/cache/purge", strings.NewReader(deleteAll), tt.headers...)
			if r.status != tt.status {
				t.Fatalf("purge = %d %q, want %d", r.status, r.body, tt.status)
			}
			if tt.status == 200 {
				if got := cdnState(t, srv.URL); got != "REVALIDATED 2" {
					t.Errorf("after the purge = %q, want REVALIDATED 2", got)
				}
				return
			}
			wantError(t, r, 403, host.CodeForbidden)
			if got := cdnState(t, srv.URL); got != "HIT 1" {
				t.Errorf("after a refused purge = %q, want HIT 1: nothing purged", got)
			}
			if !logHas(logs, "purge refused: forwarded by a proxy") {
				t.Error("no log line for the refused purge")
			}
		})
	}
}

// TestPurgeToken: with a token, a purge needs it, whatever the network
// path, and with it a forwarded purge is allowed.
func TestPurgeToken(t *testing.T) {
	const token = "s3cret-Token_0.9~+/=="
	_, srv, logs := serve(t, host.Config{Dir: watDir(t, "cdn"), PurgeToken: token,
		TrustedProxies: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}})
	cached(t, srv.URL)
	invalidate := `{"tags": ["t1"]}`
	for _, tt := range []struct {
		name, authorization, challenge string
	}{
		{"no token", "", `Bearer realm="wfn"`},
		{"wrong token", "Bearer s3cret-Token_0.9~+/=", `Bearer realm="wfn", error="invalid_token"`},
		{"a prefix of the token", "Bearer s3cret", `Bearer realm="wfn", error="invalid_token"`},
		{"the token with more", "Bearer " + token + "x", `Bearer realm="wfn", error="invalid_token"`},
		{"another scheme", "Basic " + token, `Bearer realm="wfn"`},
		{"no scheme", token, `Bearer realm="wfn"`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := do(t, http.MethodPost, srv.URL+"/_wfn/cache/purge", strings.NewReader(invalidate), "Authorization", tt.authorization)
			wantError(t, r, 401, host.CodeUnauthorized)
			if got := r.header.Get("WWW-Authenticate"); got != tt.challenge {
				t.Errorf("WWW-Authenticate = %q, want %q", got, tt.challenge)
			}
			if got := cdnState(t, srv.URL); got != "HIT 1" {
				t.Errorf("after a refused purge = %q, want HIT 1: nothing purged", got)
			}
		})
	}
	if !logHas(logs, "purge refused: no or wrong token") {
		t.Error("no log line for the refused purges")
	}
	// The right token, forwarded by the trusted proxy, scheme in any case.
	purgeWith := func(authorization string) {
		t.Helper()
		r := do(t, http.MethodPost, srv.URL+"/_wfn/cache/purge", strings.NewReader(invalidate),
			"Authorization", authorization, "X-Forwarded-For", "203.0.113.9")
		if r.status != 200 {
			t.Fatalf("purge with the token = %d %q, want 200", r.status, r.body)
		}
	}
	purgeWith("Bearer " + token)
	if got := cdnState(t, srv.URL); got != "STALE 1" {
		t.Fatalf("after the purge = %q, want STALE 1", got)
	}
	eventually(t, "the refresh", func() bool { return cdnState(t, srv.URL) == "HIT 2" })
	purgeWith("bearer " + token)
	if got := cdnState(t, srv.URL); got != "STALE 2" {
		t.Fatalf("after the second purge = %q, want STALE 2", got)
	}

	// A token cannot be sent as a bearer token: the host does not start.
	for _, bad := range []string{"two words", "=abc", "ünïcode", "tab\there"} {
		_, err := host.New(context.Background(), host.Config{Dir: watDir(t, "cdn"), PurgeToken: bad, Logger: newLogger(&syncBuffer{})})
		if !errors.Is(err, host.ErrConfig) || !strings.Contains(err.Error(), "purge token") {
			t.Errorf("New with purge token %q = %v, want ErrConfig naming the purge token", bad, err)
		}
	}
}

// TestRuntimeCacheLimits drives the Runtime Cache imports through
// testdata/guests/api/kv: a miss against an empty value, the limits, TTL.
func TestRuntimeCacheLimits(t *testing.T) {
	requireGo(t)
	_, srv, _ := serve(t, host.Config{Dir: "../testdata/guests"})
	kv := srv.URL + fmt.Sprintf("/api/kv?key=%d-", freshID()) // keys of this run only
	put := func(query, body string) response {
		return do(t, http.MethodPut, kv+query, strings.NewReader(body))
	}
	if r := get(t, kv+"empty"); r.status != 404 {
		t.Fatalf("miss = %d %q", r.status, r.body)
	}
	if r := put("empty", ""); r.status != 200 {
		t.Fatalf("put empty = %d %q", r.status, r.body)
	}
	if r := get(t, kv+"empty"); r.status != 200 || r.body != "" {
		t.Fatalf("an empty value = %d %q, want a hit of nothing", r.status, r.body)
	}
	big := strings.Repeat("x", 2<<20)
	if r := put("big", big); r.status != 200 {
		t.Errorf("2 MB value = %d %q", r.status, r.body)
	}
	if r := get(t, kv+"big"); r.status != 200 || r.body != big {
		t.Errorf("2 MB value read back: %d, %d bytes", r.status, len(r.body))
	}
	if r := put("big", big+"x"); r.status != 400 || !strings.Contains(r.body, "ETOOLARGE") {
		t.Errorf("2 MB + 1 value = %d %q, want ETOOLARGE", r.status, r.body)
	}
	// The guest makes the tags (gen=N,SIZE): past the limits they do not
	// fit in a URL.
	for _, c := range []struct {
		n, size int
		status  int
		code    string
	}{
		{128, 256, 200, ""},
		{129, 3, 400, "ETOOLARGE"},
		{1, 257, 400, "ETOOLARGE"},
	} {
		if r := put(fmt.Sprintf("tagged&gen=%d,%d", c.n, c.size), "v"); r.status != c.status || !strings.Contains(r.body, c.code) {
			t.Errorf("put with %d tags of %d bytes = %d %q, want %d %s", c.n, c.size, r.status, r.body, c.status, c.code)
		}
	}
	if r := put("short&ttl=1", "v"); r.status != 200 {
		t.Fatalf("put ttl 1 = %d", r.status)
	}
	eventually(t, "the ttl to pass", func() bool { return get(t, kv+"short").status == 404 })
}

// A cache file held by another process (a second wfn serve on the same
// directory) is a cache unavailable for now, retried, and not an invalid
// configuration: the log said "invalid configuration: cache: cannot open
// cache: ... is held by another process", which sent an operator to the
// flags.
func TestCacheFileHeldByAnother(t *testing.T) {
	cacheDir := t.TempDir()
	held, err := bolt.Open(filepath.Join(cacheDir, "runtime-cache.db"), 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer held.Close()
	_, srv, logs := serve(t, host.Config{Dir: watDir(t, "kv"), CacheDir: cacheDir})
	get(t, srv.URL+"/api/kv")
	eventually(t, "the log to say the cache cannot be opened", func() bool {
		return strings.Contains(logs.String(), "cannot open the cache")
	})
	if l := logs.String(); !strings.Contains(l, "held by another process") || strings.Contains(l, "invalid configuration") {
		t.Errorf("the log says the cache is held by another process, and not that the configuration is invalid:\n%s", l)
	}
	held.Close()
	eventually(t, "the cache to open once let go", func() bool {
		get(t, srv.URL+"/api/kv")
		return strings.Contains(logs.String(), "cache opened")
	})
}
