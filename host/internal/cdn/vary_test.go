package cdn_test

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/klauspost/compress/gzip"

	"github.com/wfn-dev/wfn/host/internal/cdn"
)

// echoing answers call n with "v<n>" and the values of the request headers
// named in the X-Echo response header it is given, after the given
// response headers.
func echoing(echo []string, header ...string) func(w http.ResponseWriter, r *http.Request, n int64) []string {
	return func(w http.ResponseWriter, r *http.Request, n int64) []string {
		for _, h := range header {
			k, v, _ := strings.Cut(h, ":")
			w.Header().Add(k, strings.TrimSpace(v))
		}
		fmt.Fprintf(w, "v%d", n)
		for _, name := range echo {
			fmt.Fprintf(w, " %s=%q", name, r.Header.Values(name))
		}
		return nil
	}
}

type step struct {
	header []string
	state  string
	body   string // the start of the body: "v<n>" of the origin call
}

func TestVary(t *testing.T) {
	tests := []struct {
		name   string
		header []string
		steps  []step
	}{
		{
			name:   "custom header",
			header: []string{"Cache-Control: s-maxage=60", "Vary: X-Tenant"},
			steps: []step{
				{[]string{"X-Tenant: a"}, cdn.Miss, "v1"},
				{[]string{"X-Tenant: b"}, cdn.Miss, "v2"},
				{[]string{"X-Tenant: a"}, cdn.Hit, "v1"},
				{[]string{"X-Tenant: b"}, cdn.Hit, "v2"},
				{nil, cdn.Miss, "v3"},
				{[]string{"X-Tenant:"}, cdn.Miss, "v4"}, // empty is not absent
				{nil, cdn.Hit, "v3"},
				{[]string{"X-Tenant:"}, cdn.Hit, "v4"},
				{[]string{"X-Tenant: A"}, cdn.Miss, "v5"}, // values of unknown fields keep their case
				{[]string{"X-Tenant: a"}, cdn.Hit, "v1"},
			},
		},
		{
			name:   "whitespace and field lines",
			header: []string{"Cache-Control: s-maxage=60", "Vary: x-list"},
			steps: []step{
				{[]string{"X-List: a,b  c"}, cdn.Miss, "v1"},
				{[]string{"X-List: a ,  b c"}, cdn.Hit, "v1"},
				{[]string{"X-List: a", "X-List: b c"}, cdn.Hit, "v1"},
				{[]string{"X-List: a,bc"}, cdn.Miss, "v2"},
				{[]string{`X-List: "a  b"`}, cdn.Miss, "v3"},
				{[]string{`X-List: "a b"`}, cdn.Miss, "v4"}, // quoted strings are kept
				{[]string{`X-List:  "a  b" `}, cdn.Hit, "v3"},
			},
		},
		{
			name:   "case-insensitive field",
			header: []string{"Cache-Control: s-maxage=60", "Vary: Accept-Language"},
			steps: []step{
				{[]string{"Accept-Language: fr-FR, en;q=0.5"}, cdn.Miss, "v1"},
				{[]string{"Accept-Language: FR-fr,EN;Q=0.5"}, cdn.Hit, "v1"},
				{[]string{"Accept-Language: en-US"}, cdn.Miss, "v2"},
				{[]string{"Accept-Language: fr-FR, en;q=0.5"}, cdn.Hit, "v1"},
				{[]string{"Accept-Language: en-us"}, cdn.Hit, "v2"},
			},
		},
		{
			name:   "several fields, several Vary lines",
			header: []string{"Cache-Control: s-maxage=60", "Vary: Accept-Language", "Vary: X-Tenant, accept-language"},
			steps: []step{
				{[]string{"Accept-Language: fr", "X-Tenant: a"}, cdn.Miss, "v1"},
				{[]string{"Accept-Language: fr", "X-Tenant: b"}, cdn.Miss, "v2"},
				{[]string{"Accept-Language: en", "X-Tenant: a"}, cdn.Miss, "v3"},
				{[]string{"Accept-Language: fr", "X-Tenant: a"}, cdn.Hit, "v1"},
				{[]string{"Accept-Language: fr", "X-Tenant: a", "X-Other: 1"}, cdn.Hit, "v1"},
			},
		},
		{
			name:   "accept-encoding listed with an unencoded body",
			header: []string{"Cache-Control: s-maxage=60", "Vary: Accept-Encoding"},
			steps: []step{
				{[]string{"Accept-Encoding: gzip, br"}, cdn.Miss, "v1"},
				{[]string{"Accept-Encoding: br;q=0.9, GZIP"}, cdn.Hit, "v1"}, // the same set of codings
				{[]string{"Accept-Encoding: gzip, br;q=0"}, cdn.Miss, "v2"},
				{nil, cdn.Miss, "v3"},
			},
		},
		{
			name:   "vary star is never reused",
			header: []string{"Cache-Control: s-maxage=60", "Vary: *"},
			steps:  []step{{nil, cdn.Miss, "v1"}, {nil, cdn.Miss, "v2"}},
		},
		{
			name:   "vary cookie is not stored",
			header: []string{"Cache-Control: s-maxage=60", "Vary: Cookie"},
			steps:  []step{{[]string{"Cookie: a=1"}, cdn.Miss, "v1"}, {[]string{"Cookie: a=1"}, cdn.Miss, "v2"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, versioned(tt.header...))
			for i, s := range tt.steps {
				r := e.get("/v", s.header...)
				if r.cache() != s.state || r.body != s.body {
					t.Fatalf("step %d %q: %s %q, want %s %q", i, s.header, r.cache(), r.body, s.state, s.body)
				}
				if vary := strings.Join(r.header.Values("Vary"), ","); vary == "" {
					t.Fatalf("step %d: no Vary in the response", i)
				}
			}
		})
	}
}

// TestVaryAfterPlain: a URL whose response starts to vary stops serving
// the plain entry, and one that stops varying stops serving the variants.
func TestVaryAfterPlain(t *testing.T) {
	e := newEnv(t, func(w http.ResponseWriter, r *http.Request, n int64) []string {
		w.Header().Set("Cache-Control", "s-maxage=60")
		if r.Header.Get("Cache-Control") == "no-cache" {
			w.Header().Set("Vary", "X-Tenant")
		}
		fmt.Fprintf(w, "v%d", n)
		return nil
	})
	expect(t, e.get("/p", "X-Tenant: a"), cdn.Miss, "v1")
	expect(t, e.get("/p", "X-Tenant: b"), cdn.Hit, "v1")
	expect(t, e.get("/p", "X-Tenant: a", "Cache-Control: no-cache"), cdn.Revalidated, "v2")
	expect(t, e.get("/p", "X-Tenant: a"), cdn.Hit, "v2")
	expect(t, e.get("/p", "X-Tenant: b"), cdn.Miss, "v3") // plain again
	expect(t, e.get("/p", "X-Tenant: a"), cdn.Hit, "v3")
}

func TestVaryBound(t *testing.T) {
	e := newEnvOpts(t, cdn.Options{MaxVariants: 2}, versioned("Cache-Control: s-maxage=60", "Vary: X-Tenant"))
	expect(t, e.get("/v", "X-Tenant: a"), cdn.Miss, "v1")
	expect(t, e.get("/v", "X-Tenant: b"), cdn.Miss, "v2")
	expect(t, e.get("/v", "X-Tenant: c"), cdn.Miss, "v3") // evicts a
	expect(t, e.get("/v", "X-Tenant: c"), cdn.Hit, "v3")
	expect(t, e.get("/v", "X-Tenant: b"), cdn.Hit, "v2")
	expect(t, e.get("/v", "X-Tenant: a"), cdn.Miss, "v4") // evicts b
	expect(t, e.get("/v", "X-Tenant: b"), cdn.Miss, "v5")
}

// TestVaryPurge: purges by tag and by path reach every variant.
func TestVaryPurge(t *testing.T) {
	e := newEnv(t, versioned("Cache-Control: s-maxage=60", "Vary: X-Tenant", "Vercel-Cache-Tag: t"))
	fill := func(a, b string) {
		t.Helper()
		expect(t, e.get("/v", "X-Tenant: a"), cdn.Miss, a)
		expect(t, e.get("/v", "X-Tenant: b"), cdn.Miss, b)
	}
	fill("v1", "v2")
	if err := e.cache.InvalidateTags(t.Context(), "t"); err != nil {
		t.Fatal(err)
	}
	for _, tenant := range []string{"a", "b"} {
		if r := e.get("/v", "X-Tenant: "+tenant); r.cache() != cdn.Stale {
			t.Fatalf("tenant %s after invalidation: %s", tenant, r.cache())
		}
	}
	until(t, "the revalidations", func() bool { return e.calls() == 4 })
	until(t, "the revalidated entries", func() bool {
		return e.get("/v", "X-Tenant: a").cache() == cdn.Hit && e.get("/v", "X-Tenant: b").cache() == cdn.Hit
	})
	if err := e.cache.DeleteTags(t.Context(), 0, "t"); err != nil {
		t.Fatal(err)
	}
	expect(t, e.get("/v", "X-Tenant: a"), cdn.Revalidated, "v5")
	expect(t, e.get("/v", "X-Tenant: b"), cdn.Revalidated, "v6")
	if err := e.cache.DeleteSrcImages(t.Context(), 0, "/v"); err != nil {
		t.Fatal(err)
	}
	expect(t, e.get("/v", "X-Tenant: a"), cdn.Revalidated, "v7")
	expect(t, e.get("/v", "X-Tenant: b"), cdn.Revalidated, "v8")
}

// TestVaryCollapsed: requests collapsed on one miss receive the leader's
// response only when their selecting headers match.
func TestVaryCollapsed(t *testing.T) {
	gate := make(chan struct{})
	var once sync.Once
	open := func() { once.Do(func() { close(gate) }) }
	e := newEnv(t, func(w http.ResponseWriter, r *http.Request, n int64) []string {
		if n == 1 {
			<-gate
		}
		return echoing([]string{"X-Tenant"}, "Cache-Control: s-maxage=60", "Vary: X-Tenant")(w, r, n)
	})
	t.Cleanup(open) // before the server's Close, which waits for the leader
	var wg sync.WaitGroup
	results := make([]response, 3)
	wg.Go(func() { results[0] = e.get("/v", "X-Tenant: a") })
	until(t, "the leader", func() bool { return e.calls() == 1 })
	wg.Go(func() { results[1] = e.get("/v", "X-Tenant: a") })
	wg.Go(func() { results[2] = e.get("/v", "X-Tenant: b") })
	key := e.srv.URL + "/v?"
	until(t, "the followers", func() bool { return cdn.Waiters(e.cache, key) == 2 })
	open()
	wg.Wait()
	want := []string{`v1 X-Tenant=["a"]`, `v1 X-Tenant=["a"]`, `v2 X-Tenant=["b"]`}
	for i, r := range results {
		if r.body != want[i] {
			t.Errorf("request %d: %q, want %q", i, r.body, want[i])
		}
	}
}

// TestOriginEncoded: a body the origin encoded reaches only clients that
// accept its coding, from the cache or not.
func TestOriginEncoded(t *testing.T) {
	text := strings.Repeat("the quick brown fox jumps over the lazy dog\n", 100)
	gz := func() []byte {
		var b bytes.Buffer
		w := gzip.NewWriter(&b)
		w.Write([]byte(text))
		w.Close()
		return b.Bytes()
	}()
	tests := []struct {
		name  string
		vary  bool // the origin says Vary: Accept-Encoding and gzips only for clients that accept it
		steps []struct {
			accept, state, coding string
		}
	}{
		{"negotiated by the origin", true, []struct{ accept, state, coding string }{
			{"gzip", cdn.Miss, "gzip"},
			{"", cdn.Miss, ""},
			{"gzip", cdn.Hit, "gzip"},
			{"", cdn.Hit, ""},
			{"br", cdn.Miss, ""},
			{"gzip;q=0, br", cdn.Hit, ""},
			{"x-gzip, zstd", cdn.Miss, "gzip"},
			{"zstd, gzip", cdn.Hit, "gzip"},
		}},
		{"always gzip, no Vary", false, []struct{ accept, state, coding string }{
			{"gzip", cdn.Miss, "gzip"},
			{"", cdn.Miss, "gzip"}, // as the origin wrote it, not stored
			{"", cdn.Miss, "gzip"},
			{"gzip", cdn.Hit, "gzip"},
			{"br", cdn.Miss, "gzip"},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, func(w http.ResponseWriter, r *http.Request, n int64) []string {
				w.Header().Set("Cache-Control", "s-maxage=60")
				w.Header().Set("Content-Type", "text/plain")
				if tt.vary {
					w.Header().Set("Vary", "Accept-Encoding")
					if !strings.Contains(r.Header.Get("Accept-Encoding"), "gzip") || strings.Contains(r.Header.Get("Accept-Encoding"), "gzip;q=0") {
						io.WriteString(w, text)
						return nil
					}
				}
				w.Header().Set("Content-Encoding", "gzip")
				w.Write(gz)
				return nil
			})
			for i, s := range tt.steps {
				var hdr []string
				if s.accept != "" {
					hdr = append(hdr, "Accept-Encoding: "+s.accept)
				}
				r := e.get("/z", hdr...)
				if r.cache() != s.state || r.header.Get("Content-Encoding") != s.coding {
					t.Fatalf("step %d (%q): %s %q, want %s %q", i, s.accept, r.cache(), r.header.Get("Content-Encoding"), s.state, s.coding)
				}
				if got := decompress(t, s.coding, r.body); got != text {
					t.Fatalf("step %d: decoded body differs (%d bytes)", i, len(got))
				}
				if s.state == cdn.Hit && !strings.Contains(strings.Join(r.header.Values("Vary"), ","), "Accept-Encoding") {
					t.Fatalf("step %d: Vary %q on a HIT of an encoded body", i, r.header.Values("Vary"))
				}
			}
		})
	}
}
