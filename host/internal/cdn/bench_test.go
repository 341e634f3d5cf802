package cdn_test

import (
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/wfn-dev/wfn/host/internal/cdn"
)

// discard is a ResponseWriter that keeps the head and drops the body, so
// that the benchmarks measure the cache, not a recorder.
type discard struct {
	h      http.Header
	status int
	n      int
}

func (d *discard) Header() http.Header { return d.h }
func (d *discard) WriteHeader(code int) {
	if d.status == 0 {
		d.status = code
	}
}
func (d *discard) Write(p []byte) (int, error) { d.n += len(p); return len(p), nil }

func (d *discard) reset() {
	clear(d.h)
	d.status, d.n = 0, 0
}

var page = []byte(`{"items":[1,2,3],"title":"a small JSON answer from the function"}`)

// trivial is the origin of the benchmarks: a small JSON answer.
func trivial(cacheControl string) cdn.Origin {
	return cdn.OriginFunc(func(w http.ResponseWriter, r *http.Request) []string {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", cacheControl)
		w.Write(page)
		return nil
	})
}

// benchSetup returns a cache holding the entry of trivial at key, and the
// request for it.
func benchSetup(tb testing.TB) (*cdn.Cache, *http.Request, string) {
	c := cdn.New(openStore(tb), cdn.Options{Logger: slog.New(slog.DiscardHandler)})
	r := httptest.NewRequest(http.MethodGet, "http://example.com/api/items?page=1", nil)
	r.Header.Set("Accept-Encoding", "gzip, zstd")
	key := cdn.Key(r)
	c.Serve(&discard{h: http.Header{}}, r, key, trivial("s-maxage=3600"))
	return c, r, key
}

// TestBenchSetup checks that the benchmarks measure what they say.
func TestBenchSetup(t *testing.T) {
	c, r, key := benchSetup(t)
	d := &discard{h: http.Header{}}
	c.Serve(d, r, key, trivial("s-maxage=3600"))
	if got := d.h.Get("X-Vercel-Cache"); got != cdn.Hit || d.status != 200 || d.n != len(page) {
		t.Fatalf("hit: %s %d %d bytes", got, d.status, d.n)
	}
	d.reset()
	c.Serve(d, r, key+"miss", trivial("no-store"))
	if got := d.h.Get("X-Vercel-Cache"); got != cdn.Miss || d.n != len(page) {
		t.Fatalf("miss: %s %d bytes", got, d.n)
	}
}

// BenchmarkHit serves a stored entry.
func BenchmarkHit(b *testing.B) {
	c, r, key := benchSetup(b)
	origin := trivial("s-maxage=3600")
	d := &discard{h: http.Header{}}
	b.ReportAllocs()
	for b.Loop() {
		d.reset()
		c.Serve(d, r, key, origin)
	}
}

// BenchmarkMissOrigin runs the origin through the cache for every request:
// a response that cannot be stored (no-store), so each request is a miss.
func BenchmarkMissOrigin(b *testing.B) {
	c, r, key := benchSetup(b)
	origin := trivial("no-store")
	key += "miss"
	d := &discard{h: http.Header{}}
	b.ReportAllocs()
	for b.Loop() {
		d.reset()
		c.Serve(d, r, key, origin)
	}
}

// BenchmarkOriginDirect is the baseline: the origin without the cache.
func BenchmarkOriginDirect(b *testing.B) {
	_, r, _ := benchSetup(b)
	origin := trivial("no-store")
	d := &discard{h: http.Header{}}
	b.ReportAllocs()
	for b.Loop() {
		d.reset()
		origin.ServeOrigin(d, r)
	}
}

// BenchmarkHitVary serves a stored variant of a response that varies on
// Accept-Language: the URL's index, then the variant.
func BenchmarkHitVary(b *testing.B) {
	c := cdn.New(openStore(b), cdn.Options{Logger: slog.New(slog.DiscardHandler)})
	r := httptest.NewRequest(http.MethodGet, "http://example.com/api/items?page=1", nil)
	r.Header.Set("Accept-Encoding", "gzip, zstd")
	r.Header.Set("Accept-Language", "fr-FR, en;q=0.5")
	key := cdn.Key(r)
	origin := cdn.OriginFunc(func(w http.ResponseWriter, r *http.Request) []string {
		w.Header().Set("Vary", "Accept-Language")
		return trivial("s-maxage=3600").ServeOrigin(w, r)
	})
	d := &discard{h: http.Header{}}
	c.Serve(d, r, key, origin)
	d.reset()
	c.Serve(d, r, key, origin)
	if got := d.h.Get("X-Vercel-Cache"); got != cdn.Hit {
		b.Fatalf("setup: %s, want HIT", got)
	}
	b.ReportAllocs()
	for b.Loop() {
		d.reset()
		c.Serve(d, r, key, origin)
	}
}
