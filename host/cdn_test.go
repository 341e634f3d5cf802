package host_test

import (
	"bufio"
	"bytes"
	"cmp"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/wfn-dev/wfn/host"
)

// rawGet sends a GET with the given header lines ("Name: value"; "Host"
// sets the request's host) and no Accept-Encoding but theirs, and returns
// the bytes as sent.
func rawGet(t *testing.T, url string, header ...string) response {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range header {
		k, v, _ := strings.Cut(h, ":")
		if strings.EqualFold(k, "Host") {
			req.Host = strings.TrimSpace(v)
			continue
		}
		req.Header.Add(k, strings.TrimSpace(v))
	}
	client := &http.Client{Transport: &http.Transport{DisableCompression: true}}
	defer client.CloseIdleConnections()
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return response{resp.StatusCode, resp.Header, string(b)}
}

// wantCDN checks a response's x-vercel-cache and body.
func wantCDN(t *testing.T, r response, state, body string) {
	t.Helper()
	if got := r.header.Get("X-Vercel-Cache"); got != state || r.body != body {
		t.Fatalf("%s %q (status %d), want %s %q", got, r.body, r.status, state, body)
	}
}

// TestCDNVaryCustomHeader: testdata/guests/api/tenant varies on X-Tenant;
// each tenant gets its own response, from the cache after the first.
func TestCDNVaryCustomHeader(t *testing.T) {
	requireGo(t)
	_, srv, _ := serve(t, host.Config{Dir: "../testdata/guests"})
	u := srv.URL + "/api/tenant"
	wantCDN(t, rawGet(t, u, "X-Tenant: acme"), "MISS", "tenant acme run 1")
	wantCDN(t, rawGet(t, u, "X-Tenant: globex"), "MISS", "tenant globex run 2")
	wantCDN(t, rawGet(t, u, "X-Tenant: acme"), "HIT", "tenant acme run 1")
	wantCDN(t, rawGet(t, u, "X-Tenant: globex"), "HIT", "tenant globex run 2")
	wantCDN(t, rawGet(t, u), "MISS", "tenant (none) run 3")
	wantCDN(t, rawGet(t, u), "HIT", "tenant (none) run 3")
	if r := rawGet(t, u, "X-Tenant: acme"); r.header.Get("Vary") != "X-Tenant" {
		t.Errorf("Vary %q, want X-Tenant", r.header.Get("Vary"))
	}
}

// TestCDNOriginGzip: testdata/guests/api/gzipped encodes its body with
// gzip for clients that accept it; no client receives gzip otherwise.
func TestCDNOriginGzip(t *testing.T) {
	requireGo(t)
	_, srv, _ := serve(t, host.Config{Dir: "../testdata/guests"})
	u := srv.URL + "/api/gzipped"
	check := func(state, coding, run string, header ...string) {
		t.Helper()
		r := rawGet(t, u, header...)
		if got := r.header.Get("X-Vercel-Cache"); got != state || r.header.Get("Content-Encoding") != coding {
			t.Fatalf("%q: %s %q, want %s %q", header, got, r.header.Get("Content-Encoding"), state, coding)
		}
		body := r.body
		if coding == "gzip" {
			zr, err := gzip.NewReader(strings.NewReader(body))
			if err != nil {
				t.Fatal(err)
			}
			b, err := io.ReadAll(zr)
			if err != nil {
				t.Fatal(err)
			}
			body = string(b)
		}
		if !strings.HasSuffix(body, "run "+run) || !strings.HasPrefix(body, "the quick brown fox") {
			t.Fatalf("%q: body ends %q, want run %s", header, body[max(len(body)-10, 0):], run)
		}
	}
	check("MISS", "gzip", "1", "Accept-Encoding: gzip")
	check("MISS", "", "2")
	check("HIT", "gzip", "1", "Accept-Encoding: gzip")
	check("HIT", "", "2")
	check("MISS", "", "3", "Accept-Encoding: br")
	// The cache may compress an unencoded body itself, for clients that
	// accept its coding only.
	r := rawGet(t, u, "Accept-Encoding: zstd")
	if ce := r.header.Get("Content-Encoding"); ce != "" && ce != "zstd" {
		t.Fatalf("Accept-Encoding: zstd got %q", ce)
	}
	if bytes.HasPrefix([]byte(r.body), []byte{0x1f, 0x8b}) {
		t.Fatal("a gzip body for a client that only accepts zstd")
	}
}

// TestCDNConditional: testdata/guests/api/cdnkit?mode=etag. A HIT answers
// If-None-Match itself; a request the cache passes on (bypassed here)
// reaches the function with it, and the function's 304 comes back.
func TestCDNConditional(t *testing.T) {
	requireGo(t)
	_, srv, _ := serveShared(t, "../testdata/guests")
	u := fmt.Sprintf("%s/api/cdnkit?mode=etag&id=%d", srv.URL, freshID())
	wantCDN(t, rawGet(t, u), "MISS", "etag run 1 if-none-match ")
	r := rawGet(t, u, `If-None-Match: "e1"`)
	if r.status != 304 || r.header.Get("X-Vercel-Cache") != "HIT" || r.header.Get("Etag") != `"e1"` {
		t.Fatalf("conditional HIT: %d %s ETag %q", r.status, r.header.Get("X-Vercel-Cache"), r.header.Get("Etag"))
	}
	if r := rawGet(t, u, `If-None-Match: "other"`); r.status != 200 || r.body != "etag run 1 if-none-match " {
		t.Fatalf("other etag: %d %q", r.status, r.body)
	}
	r = rawGet(t, u, `If-None-Match: "e1"`, "Authorization: Bearer x")
	if r.status != 304 || r.header.Get("X-Vercel-Cache") != "BYPASS" {
		t.Fatalf("bypassed conditional: %d %s %q, want the function's 304", r.status, r.header.Get("X-Vercel-Cache"), r.body)
	}
	r = rawGet(t, u, `If-None-Match: "old"`, "Authorization: Bearer x")
	if r.status != 200 || r.body != `etag run 3 if-none-match "old"` {
		t.Fatalf("bypassed: %d %q, want the function to see If-None-Match", r.status, r.body)
	}
}

// revalidate polls u (with the header lines given) until its entry of
// cdnkit?mode=validate expires, and checks that the function's 304
// refreshed it: REVALIDATED, the stored body, the 304's X-Run.
func revalidate(t *testing.T, u string, header ...string) {
	t.Helper()
	var r response
	eventually(t, "the entry to expire", func() bool {
		r = rawGet(t, u, header...)
		return r.header.Get("X-Vercel-Cache") != "HIT"
	})
	if r.status != 200 || r.header.Get("X-Run") != "2" {
		t.Fatalf("after expiry: %d X-Run %q, want 200 and the 304's X-Run 2", r.status, r.header.Get("X-Run"))
	}
	wantCDN(t, r, "REVALIDATED", "validate run 1 if-none-match ")
}

// TestCDNRevalidation: testdata/guests/api/cdnkit?mode=validate. Once its
// entry expires, the function gets a conditional request with the stored
// ETag; its 304 refreshes the entry, whose stored body answers, and makes
// it fresh again.
func TestCDNRevalidation(t *testing.T) {
	requireGo(t)
	_, srv, _ := serveShared(t, "../testdata/guests")
	u := fmt.Sprintf("%s/api/cdnkit?mode=validate&id=%d", srv.URL, freshID())
	wantCDN(t, rawGet(t, u), "MISS", "validate run 1 if-none-match ")
	revalidate(t, u)
	r := rawGet(t, u)
	wantCDN(t, r, "HIT", "validate run 1 if-none-match ")
	if r.header.Get("X-Run") != "2" {
		t.Fatalf("HIT after the 304: X-Run %q, want 2", r.header.Get("X-Run"))
	}
	if r := rawGet(t, u, `If-None-Match: "r1"`); r.status != 304 || r.header.Get("X-Vercel-Cache") != "HIT" {
		t.Fatalf("conditional HIT: %d %s", r.status, r.header.Get("X-Vercel-Cache"))
	}
}

// TestCDNStreamingMiss: testdata/guests/api/cdnkit?mode=stream. The first
// event of a cacheable response reaches the client while the function
// still runs (it waits for a release only the client can send), and the
// whole response is stored.
func TestCDNStreamingMiss(t *testing.T) {
	requireGo(t)
	_, srv, _ := serveShared(t, "../testdata/guests")
	id := freshID()
	u := fmt.Sprintf("%s/api/cdnkit?mode=stream&id=%d", srv.URL, id)
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if got := resp.Header.Get("X-Vercel-Cache"); got != "MISS" {
		t.Fatalf("%s, want MISS", got)
	}
	br := bufio.NewReader(resp.Body)
	if line, err := br.ReadString('\n'); err != nil || line != "data: 1\n" {
		t.Fatalf("first event %q %v", line, err)
	}
	if r := get(t, fmt.Sprintf("%s/api/cdnkit?mode=release&id=%d", srv.URL, id)); r.body != "released" {
		t.Fatalf("release: %d %q", r.status, r.body)
	}
	rest, err := io.ReadAll(br)
	if err != nil || string(rest) != "data: 2\n" {
		t.Fatalf("rest %q %v", rest, err)
	}
	eventually(t, "the stored entry", func() bool {
		r := get(t, u)
		return r.header.Get("X-Vercel-Cache") == "HIT" && r.body == "data: 1\ndata: 2\n"
	})
}

// TestCDNStaleIfError: testdata/guests/api/cdnkit?mode=fail. Once the
// entry is past its second of freshness, the function fails, and the
// client gets the stale entry instead of the 500.
func TestCDNStaleIfError(t *testing.T) {
	requireGo(t)
	_, srv, _ := serveShared(t, "../testdata/guests")
	u := fmt.Sprintf("%s/api/cdnkit?mode=fail&id=%d", srv.URL, freshID())
	wantCDN(t, get(t, u), "MISS", "fail run 1")
	eventually(t, "the stale entry to stand in", func() bool {
		r := get(t, u)
		if r.status != 200 || r.body != "fail run 1" {
			t.Fatalf("%d %q, want the entry", r.status, r.body)
		}
		return r.header.Get("X-Vercel-Cache") == "STALE"
	})
}

// TestCDNBareStaleWhileRevalidate: testdata/guests/api/cdnkit?mode=swr
// sends s-maxage=1 and a stale-while-revalidate without a number, which
// Vercel gives a window (a year, RATIONALE.md): once the second is over,
// the entry is served STALE while it is refreshed, never a MISS.
func TestCDNBareStaleWhileRevalidate(t *testing.T) {
	requireGo(t)
	_, srv, _ := serveShared(t, "../testdata/guests")
	u := fmt.Sprintf("%s/api/cdnkit?mode=swr&id=%d", srv.URL, freshID())
	wantCDN(t, get(t, u), "MISS", "swr run 1")
	eventually(t, "a STALE answer", func() bool {
		r := get(t, u)
		switch state := r.header.Get("X-Vercel-Cache"); state {
		case "HIT", "STALE":
			return state == "STALE"
		default:
			t.Fatalf("%s %q, want HIT or STALE", state, r.body)
			return false
		}
	})
}

// TestCDNRules: testdata/guests/api/cdnkit?mode=maxage sends only
// Cache-Control: max-age=60. Under CDNRules "rfc9111" the second request
// is a HIT (RFC 9111 section 4.2.1); under the default Vercel rules
// max-age is for browsers, and every request reaches the function.
func TestCDNRules(t *testing.T) {
	requireGo(t)
	for _, tc := range []struct {
		rules, second, secondBody string
	}{
		{rules: "", second: "MISS", secondBody: "maxage run 2"},
		{rules: "vercel", second: "MISS", secondBody: "maxage run 2"},
		{rules: "rfc9111", second: "HIT", secondBody: "maxage run 1"},
	} {
		t.Run(cmp.Or(tc.rules, "default"), func(t *testing.T) {
			_, srv, _ := serve(t, host.Config{Dir: "../testdata/guests", CDNRules: tc.rules})
			u := srv.URL + "/api/cdnkit?mode=maxage&id=" + cmp.Or(tc.rules, "default")
			wantCDN(t, rawGet(t, u), "MISS", "maxage run 1")
			r := rawGet(t, u)
			wantCDN(t, r, tc.second, tc.secondBody)
			if cc := r.header.Get("Cache-Control"); cc != "max-age=60" {
				t.Errorf("Cache-Control %q, want the function's max-age=60", cc)
			}
		})
	}
}

// TestCDNRulesInvalid: an unknown CDNRules is a configuration error.
func TestCDNRulesInvalid(t *testing.T) {
	_, err := host.New(t.Context(), host.Config{Dir: "../testdata/guests", CacheDir: t.TempDir(), CDNRules: "RFC9111"})
	if !errors.Is(err, host.ErrConfig) {
		t.Fatalf("New: %v, want ErrConfig", err)
	}
}
