package cdn_test

import (
	"context"
	"crypto/tls"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wfn-dev/wfn/cache"
	"github.com/wfn-dev/wfn/host/internal/cdn"
)

// readCounter is a real store that counts its reads.
type readCounter struct {
	cache.Store
	gets atomic.Int64
}

func (s *readCounter) Get(ctx context.Context, key string) (cache.Entry, error) {
	s.gets.Add(1)
	return s.Store.Get(ctx, key)
}

func TestAppendKeyInIsKeyIn(t *testing.T) {
	for _, target := range []string{"/a", "/a?x=1&y=2", "/caf%C3%A9/b?q=%20", "/"} {
		for _, scope := range []string{"", "code-0123"} {
			r := httptest.NewRequest("GET", "http://example.com"+target, nil)
			for _, tlsOn := range []bool{false, true} {
				r.TLS = nil
				if tlsOn {
					r.TLS = &tls.ConnectionState{}
				}
				want := cdn.KeyIn(scope, r)
				if got := string(cdn.AppendKeyIn([]byte("prefix"), scope, r)); got != "prefix"+want {
					t.Errorf("AppendKeyIn(%q, %s) = %q, want prefix%q", scope, target, got, want)
				}
			}
		}
	}
}

// TestServeKeyAtHitForMiss checks the cache served with keys in bytes:
// an uncacheable response marks its URL, whose next requests go to the
// origin without reading the store, and once the mark runs out, a
// response that has become cacheable is stored and answers as a HIT.
func TestServeKeyAtHitForMiss(t *testing.T) {
	store := &readCounter{Store: openStore(t)}
	c := cdn.New(store, cdn.Options{Logger: slog.New(slog.DiscardHandler), HitForMiss: 100 * time.Millisecond})
	var cacheable atomic.Bool
	var calls atomic.Int64
	origin := cdn.OriginFunc(func(w http.ResponseWriter, r *http.Request) []string {
		calls.Add(1)
		if cacheable.Load() {
			w.Header().Set("Cache-Control", "s-maxage=60")
		}
		_, _ = io.WriteString(w, "hello")
		return nil
	})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var buf [64]byte
		c.ServeKeyAt(w, r, cdn.AppendKeyIn(buf[:0], "scope", r), origin, time.Now())
	}))
	defer srv.Close()
	get := func(path string) string {
		t.Helper()
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || string(body) != "hello" {
			t.Fatalf("GET %s = %d %q", path, resp.StatusCode, body)
		}
		return resp.Header.Get("X-Vercel-Cache")
	}

	if got := get("/a"); got != cdn.Miss {
		t.Fatalf("first GET /a: %s, want %s", got, cdn.Miss)
	}
	reads := store.gets.Load()
	if reads == 0 {
		t.Fatal("the first GET /a did not read the store")
	}
	if got := get("/a"); got != cdn.Miss {
		t.Fatalf("second GET /a: %s, want %s", got, cdn.Miss)
	}
	if n := store.gets.Load(); n != reads {
		t.Errorf("the second GET /a, marked hit-for-miss, read the store %d times", n-reads)
	}
	if n := calls.Load(); n != 2 {
		t.Errorf("origin calls = %d, want 2", n)
	}
	// Another URL is not marked.
	get("/a?other")
	if store.gets.Load() == reads {
		t.Error("GET /a?other did not read the store")
	}

	cacheable.Store(true)
	stop := time.Now().Add(deadline)
	for get("/a") != cdn.Hit {
		if time.Now().After(stop) {
			t.Fatal("GET /a never became a HIT once its response was cacheable")
		}
		time.Sleep(10 * time.Millisecond) // polling for the mark to run out
	}
}
