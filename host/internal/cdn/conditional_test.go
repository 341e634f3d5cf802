package cdn_test

import (
	"fmt"
	"net/http"
	"sync"
	"testing"

	"github.com/wfn-dev/wfn/host/internal/cdn"
)

const lastModified = "Mon, 02 Nov 2026 10:00:00 GMT"

// validating answers call n with ETag "v<n>", a fixed Last-Modified, and
// 304 when If-None-Match names its ETag. It records the conditional
// headers of each call.
type validating struct {
	mu   sync.Mutex
	seen []string // If-None-Match and If-Modified-Since of each call
}

func (v *validating) handle(cc string) func(w http.ResponseWriter, r *http.Request, n int64) []string {
	return func(w http.ResponseWriter, r *http.Request, n int64) []string {
		v.mu.Lock()
		v.seen = append(v.seen, r.Header.Get("If-None-Match")+"|"+r.Header.Get("If-Modified-Since"))
		v.mu.Unlock()
		etag := fmt.Sprintf(`"v%d"`, n)
		w.Header().Set("Cache-Control", cc)
		w.Header().Set("ETag", etag)
		w.Header().Set("Last-Modified", lastModified)
		if r.Header.Get("If-None-Match") == etag {
			w.WriteHeader(http.StatusNotModified)
			return nil
		}
		fmt.Fprintf(w, "v%d", n)
		return nil
	}
}

func (v *validating) calls() []string {
	v.mu.Lock()
	defer v.mu.Unlock()
	return append([]string(nil), v.seen...)
}

func TestConditionalHit(t *testing.T) {
	v := &validating{}
	e := newEnv(t, v.handle("s-maxage=60"))
	expect(t, e.get("/c"), cdn.Miss, "v1")
	tests := []struct {
		name   string
		header []string
		status int
	}{
		{"unconditional", nil, 200},
		{"matching etag", []string{`If-None-Match: "v1"`}, 304},
		{"weak comparison", []string{`If-None-Match: W/"v1"`}, 304},
		{"in a list", []string{`If-None-Match: "x", "v1"`}, 304},
		{"over lines", []string{`If-None-Match: "x"`, `If-None-Match: "v1"`}, 304},
		{"star", []string{"If-None-Match: *"}, 304},
		{"other etag", []string{`If-None-Match: "x"`}, 200},
		{"etag wins over date", []string{`If-None-Match: "x"`, "If-Modified-Since: " + lastModified}, 200},
		{"not modified since", []string{"If-Modified-Since: " + lastModified}, 304},
		{"modified since", []string{"If-Modified-Since: Sun, 01 Nov 2026 10:00:00 GMT"}, 200},
		{"bad date ignored", []string{"If-Modified-Since: yesterday"}, 200},
		{"if-match", []string{`If-Match: "v1"`}, 200},
		{"if-match fails", []string{`If-Match: "x"`}, 412},
		{"if-match is strong", []string{`If-Match: W/"v1"`}, 412},
		{"unmodified since", []string{"If-Unmodified-Since: " + lastModified}, 200},
		{"modified after", []string{"If-Unmodified-Since: Sun, 01 Nov 2026 10:00:00 GMT"}, 412},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, method := range []string{http.MethodGet, http.MethodHead} {
				r := e.do(method, "/c", tt.header...)
				if r.status != tt.status || r.cache() != cdn.Hit {
					t.Fatalf("%s: %d %s, want %d HIT", method, r.status, r.cache(), tt.status)
				}
				if tt.status == 304 && (r.header.Get("Etag") != `"v1"` || r.body != "") {
					t.Fatalf("304 with ETag %q and body %q", r.header.Get("Etag"), r.body)
				}
				if tt.status == 200 && method == http.MethodGet && r.body != "v1" {
					t.Fatalf("body %q", r.body)
				}
			}
		})
	}
	e.wantCalls(1)
}

// TestConditionalPassed: every request the cache hands to the function
// keeps its conditional headers, the first of a key too; a background
// revalidation sends the entry's validators, none of the client's.
func TestConditionalPassed(t *testing.T) {
	const inm = `If-None-Match: "v1"`
	tests := []struct {
		name   string
		cc     string
		header []string
	}{
		{"uncacheable", "no-store", nil},
		{"bypassed", "s-maxage=60", []string{"Authorization: Bearer x"}},
		{"request no-cache, nothing stored", "no-store", []string{"Cache-Control: no-cache"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := &validating{}
			e := newEnv(t, v.handle(tt.cc))
			for i := range 3 {
				r := e.get("/c", append([]string{inm}, tt.header...)...)
				if i == 0 && r.status != 304 {
					t.Fatalf("first request: %d %s, want the function's 304", r.status, r.cache())
				}
			}
			for i, seen := range v.calls() {
				if seen != `"v1"|` {
					t.Errorf("call %d saw %q", i+1, seen)
				}
			}
			if len(v.calls()) != 3 {
				t.Errorf("%d calls, want 3", len(v.calls()))
			}
		})
	}
	t.Run("304 does not stop caching", func(t *testing.T) {
		v := &validating{}
		e := newEnv(t, v.handle("s-maxage=60"))
		if r := e.get("/c", inm); r.status != 304 || r.cache() != cdn.Miss {
			t.Fatalf("%d %s", r.status, r.cache())
		}
		expect(t, e.get("/c"), cdn.Miss, "v2")
		expect(t, e.get("/c"), cdn.Hit, "v2")
		if seen := v.calls(); seen[0] != `"v1"|` || seen[1] != "|" {
			t.Fatalf("the function saw %q", seen)
		}
	})
	t.Run("background revalidation", func(t *testing.T) {
		v := &validating{}
		e := newEnv(t, v.handle("s-maxage=1, stale-while-revalidate=60"))
		expect(t, e.get("/c"), cdn.Miss, "v1")
		until(t, "the entry to go stale", func() bool {
			r := e.get("/c", `If-None-Match: "mine", "v1"`)
			return r.cache() == cdn.Stale && r.status == 304
		})
		until(t, "the revalidation", func() bool { return len(v.calls()) == 2 })
		if seen := v.calls()[1]; seen != `"v1"|`+lastModified {
			t.Fatalf("the background revalidation sent %q, want the entry's validators", seen)
		}
	})
}
