package cdn_test

import (
	"fmt"
	"net/http"
	"strconv"
	"testing"

	"github.com/wfn-dev/wfn/host/internal/cdn"
)

// TestStaleIfError: within stale-if-error, a failing origin (an error
// status, a panic before anything was sent) is answered by the stale
// entry; past it, or without the directive, the failure reaches the
// client.
func TestStaleIfError(t *testing.T) {
	tests := []struct {
		name string
		fail func(w http.ResponseWriter)
	}{
		{"500", func(w http.ResponseWriter) { http.Error(w, "boom", 500) }},
		{"504 timeout", func(w http.ResponseWriter) { http.Error(w, "timeout", http.StatusGatewayTimeout) }},
		{"panic", func(w http.ResponseWriter) { panic(http.ErrAbortHandler) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, func(w http.ResponseWriter, r *http.Request, n int64) []string {
				if n > 1 {
					tt.fail(w)
					return nil
				}
				w.Header().Set("Cache-Control", "s-maxage=1, stale-if-error=2")
				fmt.Fprintf(w, "v%d", n)
				return nil
			})
			expect(t, e.get("/e"), cdn.Miss, "v1")
			until(t, "the entry to expire", func() bool {
				r := e.get("/e")
				if r.status != 200 || r.body != "v1" {
					t.Fatalf("within stale-if-error: %d %q", r.status, r.body)
				}
				return r.cache() == cdn.Stale
			})
			if age, _ := strconv.Atoi(e.get("/e").header.Get("Age")); age < 1 {
				t.Errorf("Age %d on a stale entry", age)
			}
			until(t, "stale-if-error to pass", func() bool {
				resp, err := e.client.Get(e.srv.URL + "/e")
				if err != nil {
					return true // the panic cut the response
				}
				resp.Body.Close()
				return resp.StatusCode >= 500
			})
		})
	}
	t.Run("without the directive", func(t *testing.T) {
		e := newEnv(t, func(w http.ResponseWriter, r *http.Request, n int64) []string {
			if n > 1 {
				http.Error(w, "boom", 500)
				return nil
			}
			w.Header().Set("Cache-Control", "s-maxage=1")
			fmt.Fprintf(w, "v%d", n)
			return nil
		})
		expect(t, e.get("/e"), cdn.Miss, "v1")
		until(t, "the error", func() bool { return e.get("/e").status == 500 })
	})
}

// TestUnsafeMethodInvalidates: a successful POST, PUT, DELETE or PATCH
// invalidates what is stored for its URL, every variant included (RFC 9111
// section 4.4); a failed one does not.
func TestUnsafeMethodInvalidates(t *testing.T) {
	for _, method := range []string{http.MethodPost, http.MethodPut, http.MethodDelete, http.MethodPatch} {
		t.Run(method, func(t *testing.T) {
			status := 200
			e := newEnv(t, func(w http.ResponseWriter, r *http.Request, n int64) []string {
				if r.Method != http.MethodGet {
					w.WriteHeader(status)
					return nil
				}
				return echoing(nil, "Cache-Control: s-maxage=60", "Vary: X-Tenant")(w, r, n)
			})
			expect(t, e.get("/u", "X-Tenant: a"), cdn.Miss, "v1")
			expect(t, e.get("/u", "X-Tenant: b"), cdn.Miss, "v2")
			status = 500
			if r := e.do(method, "/u"); r.cache() != cdn.Bypass || r.status != 500 {
				t.Fatalf("%s: %d %s", method, r.status, r.cache())
			}
			expect(t, e.get("/u", "X-Tenant: a"), cdn.Hit, "v1")
			status = 204
			e.do(method, "/u")
			expect(t, e.get("/u", "X-Tenant: a"), cdn.Miss, "v5")
			expect(t, e.get("/u", "X-Tenant: b"), cdn.Miss, "v6")
			expect(t, e.get("/u?other", "X-Tenant: b"), cdn.Miss, "v7")
			status = 303
			e.do(method, "/u?other")
			expect(t, e.get("/u?other", "X-Tenant: b"), cdn.Miss, "v9")
			expect(t, e.get("/u", "X-Tenant: b"), cdn.Hit, "v6")
		})
	}
}

// TestStoredResponseHeaders: the upstream Age counts (RFC 9111 section
// 4.2.3), the Date the origin set is replayed, and hop-by-hop fields are
// not.
func TestStoredResponseHeaders(t *testing.T) {
	const date = "Mon, 02 Nov 2026 10:00:00 GMT"
	e := newEnv(t, func(w http.ResponseWriter, r *http.Request, n int64) []string {
		w.Header().Set("Cache-Control", "s-maxage=60")
		switch r.URL.Path {
		case "/age":
			w.Header().Set("Age", "30")
		case "/old":
			w.Header().Set("Age", "60")
		case "/date":
			w.Header().Set("Date", date)
		case "/hop":
			w.Header().Set("Connection", "X-Hop, close")
			w.Header().Set("X-Hop", "1")
			w.Header().Set("Keep-Alive", "timeout=5")
			w.Header().Set("X-End", "1")
		}
		fmt.Fprintf(w, "v%d", n)
		return nil
	})
	expect(t, e.get("/age"), cdn.Miss, "v1")
	r := e.get("/age")
	if age, err := strconv.Atoi(r.header.Get("Age")); err != nil || age < 30 || age > 40 || r.cache() != cdn.Hit {
		t.Errorf("/age: %s Age %q, want a HIT with the upstream 30 added", r.cache(), r.header.Get("Age"))
	}
	expect(t, e.get("/old"), cdn.Miss, "v2")
	expect(t, e.get("/old"), cdn.Miss, "v3") // stale on arrival: not stored

	expect(t, e.get("/date"), cdn.Miss, "v4")
	if r := e.get("/date"); r.cache() != cdn.Hit || r.header.Get("Date") != date {
		t.Errorf("/date: %s Date %q, want %q", r.cache(), r.header.Get("Date"), date)
	}
	e.get("/hop")
	r = e.get("/hop")
	if r.cache() != cdn.Hit || r.header.Get("Date") == "" {
		t.Errorf("/hop: %s Date %q, want a HIT with a Date", r.cache(), r.header.Get("Date"))
	}
	for _, h := range []string{"X-Hop", "Keep-Alive"} {
		if v := r.header.Get(h); v != "" {
			t.Errorf("hop-by-hop %s: %q replayed", h, v)
		}
	}
	if r.header.Get("X-End") != "1" {
		t.Error("an end-to-end field was dropped")
	}
}

// TestRulesLocationInvalidates: under RulesRFC9111 a successful unsafe
// request also invalidates the URLs of its response's Location and
// Content-Location of the same origin (RFC 9111 section 4.4), relative
// or absolute; another origin's are left alone. Vercel's rules invalidate
// the request's URL only. The stored responses have only max-age, which
// RFC 9111's rules read.
func TestRulesLocationInvalidates(t *testing.T) {
	for _, rules := range []cdn.Rules{cdn.RulesRFC9111, cdn.RulesVercel} {
		t.Run(string(rules), func(t *testing.T) {
			var base string
			e := newEnvOpts(t, cdn.Options{Rules: rules}, func(w http.ResponseWriter, r *http.Request, n int64) []string {
				if r.Method == http.MethodPost {
					w.Header().Set("Location", "/target?q=1")
					w.Header().Set("Content-Location", base+"/content")
					w.WriteHeader(http.StatusCreated)
					return nil
				}
				w.Header().Set("Cache-Control", "max-age=60, s-maxage=60")
				fmt.Fprintf(w, "v%d", n)
				return nil
			})
			base = e.srv.URL
			expect(t, e.get("/target?q=1"), cdn.Miss, "v1")
			expect(t, e.get("/content"), cdn.Miss, "v2")
			expect(t, e.get("/target?q=1"), cdn.Hit, "v1")
			e.do(http.MethodPost, "/form")
			if rules == cdn.RulesVercel {
				expect(t, e.get("/target?q=1"), cdn.Hit, "v1")
				expect(t, e.get("/content"), cdn.Hit, "v2")
				return
			}
			expect(t, e.get("/target?q=1"), cdn.Miss, "v4")
			expect(t, e.get("/content"), cdn.Miss, "v5")
			base = "http://other.example"
			e.do(http.MethodPost, "/form")
			expect(t, e.get("/content"), cdn.Hit, "v5")
			expect(t, e.get("/target?q=1"), cdn.Miss, "v7")
		})
	}
}

// TestEmptyBodyStored: a response without a body is stored and answers
// the next request: an empty 200 under both rule sets, a 204 under RFC
// 9111's (Vercel's rules do not store a 204).
func TestEmptyBodyStored(t *testing.T) {
	for _, rules := range []cdn.Rules{cdn.RulesVercel, cdn.RulesRFC9111} {
		t.Run(string(rules), func(t *testing.T) {
			e := newEnvOpts(t, cdn.Options{Rules: rules}, func(w http.ResponseWriter, r *http.Request, n int64) []string {
				w.Header().Set("Cache-Control", "s-maxage=60")
				w.Header().Set("X-Run", strconv.FormatInt(n, 10))
				if r.URL.Path == "/204" {
					w.WriteHeader(http.StatusNoContent)
				}
				return nil
			})
			paths := []string{"/empty"}
			if rules == cdn.RulesRFC9111 {
				paths = append(paths, "/204")
			}
			for _, path := range paths {
				first := e.get(path)
				expect(t, first, cdn.Miss, "")
				r := e.get(path)
				expect(t, r, cdn.Hit, "")
				if r.status != first.status || r.header.Get("X-Run") != first.header.Get("X-Run") {
					t.Errorf("%s: HIT %d run %s, want %d run %s", path, r.status, r.header.Get("X-Run"), first.status, first.header.Get("X-Run"))
				}
			}
		})
	}
}
