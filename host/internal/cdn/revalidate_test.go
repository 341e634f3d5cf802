package cdn_test

import (
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/wfn-dev/wfn/host/internal/cdn"
)

// revalidated is an origin whose first response ("v1", X-Run: 1) is fresh
// for one more second (s-maxage=60 with Age: 59) and carries the headers
// first; later calls are answered by later. It records the conditional
// headers of each call as "If-None-Match|If-Modified-Since".
type revalidated struct {
	first []string
	later func(w http.ResponseWriter, r *http.Request, n int64)

	mu   sync.Mutex
	seen []string
}

func (o *revalidated) handle(w http.ResponseWriter, r *http.Request, n int64) []string {
	o.mu.Lock()
	o.seen = append(o.seen, r.Header.Get("If-None-Match")+"|"+r.Header.Get("If-Modified-Since"))
	o.mu.Unlock()
	w.Header().Set("X-Run", fmt.Sprint(n))
	if n > 1 {
		o.later(w, r, n)
		return nil
	}
	w.Header().Set("Age", "59")
	for _, h := range o.first {
		k, v, _ := strings.Cut(h, ":")
		w.Header().Add(k, strings.TrimSpace(v))
	}
	fmt.Fprint(w, "v1")
	return nil
}

func (o *revalidated) calls() []string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return append([]string(nil), o.seen...)
}

// notModified answers 304 with the header lines given when If-None-Match
// is "e1" or If-Modified-Since is lastModified, else 200 "v<n>".
func notModified(header ...string) func(w http.ResponseWriter, r *http.Request, n int64) {
	return func(w http.ResponseWriter, r *http.Request, n int64) {
		for _, h := range header {
			k, v, _ := strings.Cut(h, ":")
			w.Header().Add(k, strings.TrimSpace(v))
		}
		if r.Header.Get("If-None-Match") == `"e1"` || r.Header.Get("If-Modified-Since") == lastModified {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		fmt.Fprintf(w, "v%d", n)
	}
}

// TestRevalidation: an entry past its lifetime that has an ETag or a
// Last-Modified is validated with a conditional request to the origin
// (RFC 9111 section 4.3.1); a 304 refreshes its header and lifetime
// (section 4.3.4) and the stored body answers, a 200 replaces it.
func TestRevalidation(t *testing.T) {
	const (
		cc = "Cache-Control: s-maxage=60"
		et = `ETag: "e1"`
		lm = "Last-Modified: " + lastModified
	)
	tests := []struct {
		name    string
		method  string // of the request that finds the entry expired: GET when ""
		first   []string
		later   func(w http.ResponseWriter, r *http.Request, n int64)
		request []string // header lines of the request that finds the entry expired
		// the origin's view of that request, and its answer
		seen                string
		status              int
		state, body, run    string
		next, nextBody      string // the state and body of the request after
		nextRun             string
		unconditionalSecond bool // the request after reaches the origin without validators
	}{
		{
			name: "304 refreshes", first: []string{cc, et, lm}, later: notModified(cc),
			seen: `"e1"|` + lastModified, status: 200, state: cdn.Revalidated, body: "v1", run: "2",
			next: cdn.Hit, nextBody: "v1", nextRun: "2",
		},
		{
			name: "304 without a cache header restarts the stored lifetime", first: []string{cc, et}, later: notModified(),
			seen: `"e1"|`, status: 200, state: cdn.Revalidated, body: "v1", run: "2",
			next: cdn.Hit, nextBody: "v1", nextRun: "2",
		},
		{
			name: "Last-Modified alone", first: []string{cc, lm}, later: notModified(cc),
			seen: "|" + lastModified, status: 200, state: cdn.Revalidated, body: "v1", run: "2",
			next: cdn.Hit, nextBody: "v1", nextRun: "2",
		},
		{
			name: "the client's own condition answered from the refreshed entry", first: []string{cc, et}, later: notModified(cc),
			request: []string{`If-None-Match: "e1"`},
			seen:    `"e1"|`, status: 304, state: cdn.Revalidated, body: "", run: "2",
			next: cdn.Hit, nextBody: "v1", nextRun: "2",
		},
		{
			name: "the client's condition does not reach the origin", first: []string{cc, et}, later: notModified(cc),
			request: []string{`If-None-Match: "other"`, "If-Modified-Since: " + lastModified},
			seen:    `"e1"|`, status: 200, state: cdn.Revalidated, body: "v1", run: "2",
			next: cdn.Hit, nextBody: "v1", nextRun: "2",
		},
		{
			name: "request no-cache validates a fresh entry", first: []string{cc, et}, later: notModified(cc),
			request: []string{"Cache-Control: no-cache"},
			seen:    `"e1"|`, status: 200, state: cdn.Revalidated, body: "v1", run: "2",
			next: cdn.Hit, nextBody: "v1", nextRun: "2",
		},
		{
			name: "200 replaces", first: []string{cc, et},
			later: func(w http.ResponseWriter, r *http.Request, n int64) {
				w.Header().Set("Cache-Control", "s-maxage=60")
				w.Header().Set("ETag", `"e2"`)
				fmt.Fprintf(w, "v%d", n)
			},
			seen: `"e1"|`, status: 200, state: cdn.Revalidated, body: "v2", run: "2",
			next: cdn.Hit, nextBody: "v2", nextRun: "2",
		},
		{
			name: "304 that forbids storing answers once", first: []string{cc, et}, later: notModified("Cache-Control: no-store"),
			seen: `"e1"|`, status: 200, state: cdn.Revalidated, body: "v1", run: "2",
			next: cdn.Miss, nextBody: "v3", nextRun: "3", unconditionalSecond: true,
		},
		{
			name: "HEAD validates with a GET: 304 refreshes", method: http.MethodHead, first: []string{cc, et}, later: notModified(cc),
			seen: `"e1"|`, status: 200, state: cdn.Revalidated, body: "", run: "2",
			next: cdn.Hit, nextBody: "v1", nextRun: "2",
		},
		{
			name: "HEAD validates with a GET: 200 replaces", method: http.MethodHead, first: []string{cc, et},
			later: func(w http.ResponseWriter, r *http.Request, n int64) {
				w.Header().Set("Cache-Control", "s-maxage=60")
				w.Header().Set("ETag", `"e2"`)
				fmt.Fprintf(w, "%s v%d", r.Method, n)
			},
			seen: `"e1"|`, status: 200, state: cdn.Revalidated, body: "", run: "2",
			next: cdn.Hit, nextBody: "GET v2", nextRun: "2",
		},
		{
			name: "without a validator the entry is gone", first: []string{cc}, later: notModified(cc),
			seen: "|", status: 200, state: cdn.Miss, body: "v2", run: "2",
			next: cdn.Hit, nextBody: "v2", nextRun: "2",
		},
		{
			name: "stale-if-error covers a failed validation", first: []string{cc + ", stale-if-error=60", et},
			later: func(w http.ResponseWriter, r *http.Request, n int64) { http.Error(w, "down", http.StatusBadGateway) },
			seen:  `"e1"|`, status: 200, state: cdn.Stale, body: "v1", run: "1",
			next: cdn.Stale, nextBody: "v1", nextRun: "1",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := &revalidated{first: tt.first, later: tt.later}
			e := newEnv(t, o.handle)
			r := e.get("/r")
			expect(t, r, cdn.Miss, "v1")
			if age := r.header.Get("Age"); age != "59" {
				t.Fatalf("a miss that arrived with Age: 59 has Age %q", age)
			}
			until(t, "the entry to expire", func() bool {
				method := tt.method
				if method == "" {
					method = http.MethodGet
				}
				r = e.do(method, "/r", tt.request...)
				return r.cache() != cdn.Hit
			})
			if r.status != tt.status || r.cache() != tt.state || r.body != tt.body || r.header.Get("X-Run") != tt.run {
				t.Fatalf("after expiry: %d %s %q X-Run %q, want %d %s %q X-Run %s", r.status, r.cache(), r.body, r.header.Get("X-Run"), tt.status, tt.state, tt.body, tt.run)
			}
			if seen := o.calls(); len(seen) != 2 || seen[1] != tt.seen {
				t.Fatalf("the origin saw %q, want a second call with %q", seen, tt.seen)
			}
			r = e.get("/r")
			if r.cache() != tt.next || r.body != tt.nextBody || r.header.Get("X-Run") != tt.nextRun {
				t.Fatalf("then: %s %q X-Run %q, want %s %q X-Run %s", r.cache(), r.body, r.header.Get("X-Run"), tt.next, tt.nextBody, tt.nextRun)
			}
			if seen := o.calls(); tt.unconditionalSecond && (len(seen) != 3 || seen[2] != "|") {
				t.Fatalf("the origin saw %q, want a third call without validators", seen)
			}
		})
	}
}

// TestRevalidationInBackground: within stale-while-revalidate the stale
// entry is served and the background revalidation is conditional; its 304
// refreshes the entry.
func TestRevalidationInBackground(t *testing.T) {
	o := &revalidated{
		first: []string{"Cache-Control: s-maxage=60, stale-while-revalidate=60", `ETag: "e1"`},
		later: notModified("Cache-Control: s-maxage=60, stale-while-revalidate=60"),
	}
	e := newEnv(t, o.handle)
	expect(t, e.get("/b"), cdn.Miss, "v1")
	until(t, "the entry to go stale", func() bool { return e.get("/b").cache() == cdn.Stale })
	until(t, "the refreshed entry", func() bool {
		r := e.get("/b")
		return r.cache() == cdn.Hit && r.header.Get("X-Run") == "2"
	})
	expect(t, e.get("/b"), cdn.Hit, "v1")
	if seen := o.calls(); len(seen) != 2 || seen[1] != `"e1"|` {
		t.Fatalf("the origin saw %q", seen)
	}
}

// TestRevalidationVariants: each variant of a URL is validated with its
// own validators and refreshed under its own key.
func TestRevalidationVariants(t *testing.T) {
	e := newEnv(t, func(w http.ResponseWriter, r *http.Request, n int64) []string {
		tenant := r.Header.Get("X-Tenant")
		etag := `"` + tenant + `"`
		w.Header().Set("Cache-Control", "s-maxage=60")
		w.Header().Set("Vary", "X-Tenant")
		w.Header().Set("ETag", etag)
		w.Header().Set("X-Run", fmt.Sprint(n))
		if r.Header.Get("If-None-Match") == etag {
			w.WriteHeader(http.StatusNotModified)
			return nil
		}
		w.Header().Set("Age", "59")
		fmt.Fprintf(w, "%s v%d", tenant, n)
		return nil
	})
	expect(t, e.get("/v", "X-Tenant: a"), cdn.Miss, "a v1")
	expect(t, e.get("/v", "X-Tenant: b"), cdn.Miss, "b v2")
	for _, tenant := range []string{"a", "b"} {
		var r response
		until(t, "the variant to expire", func() bool {
			r = e.get("/v", "X-Tenant: "+tenant)
			return r.cache() != cdn.Hit
		})
		want := map[string]string{"a": "a v1", "b": "b v2"}[tenant]
		expect(t, r, cdn.Revalidated, want)
		expect(t, e.get("/v", "X-Tenant: "+tenant), cdn.Hit, want)
	}
	e.wantCalls(4)
}
