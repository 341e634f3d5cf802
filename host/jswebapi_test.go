package host_test

import (
	"encoding/json"
	"maps"
	"net/http"
	"reflect"
	"strings"
	"testing"

	"github.com/wfn-dev/wfn/host"
)

// The Web APIs of Vercel's Edge Runtime that wfn's JavaScript runtime
// adds to the ones of jsweb_test.go (URLPattern, ...): each fixture under
// testdata/js/api/web reports its checks as JSON, some checked here
// against the standard and all against the Edge Runtime (or Node.js,
// where the Edge Runtime lacks the API).

// webChecks serves testdata/js and returns the JSON object that GET path
// answers, with the URL it was asked at.
func webChecks(t *testing.T, path string) (map[string]any, string) {
	t.Helper()
	_, srv, _ := serve(t, host.Config{Dir: "../testdata/js"})
	r := get(t, srv.URL+path)
	var got map[string]any
	if err := json.Unmarshal([]byte(r.body), &got); r.status != 200 || err != nil {
		t.Fatalf("GET %s = %d %q: %v", path, r.status, r.body, err)
	}
	return got, srv.URL + path
}

// sameChecks reports each check where got and want differ.
func sameChecks(t *testing.T, oracle string, got, want map[string]any) {
	t.Helper()
	for _, name := range sortedKeys(got, want) {
		if !reflect.DeepEqual(got[name], want[name]) {
			g, _ := json.Marshal(got[name])
			w, _ := json.Marshal(want[name])
			t.Errorf("%s:\nwfn %12s %s\n%s %s", name, "", g, oracle, w)
		}
	}
}

// edgeChecks runs the fixture file on the Edge Runtime and returns the
// JSON object its GET of path answers. Without node it skips, except
// under CI=true.
func edgeChecks(t *testing.T, file, path string) map[string]any {
	t.Helper()
	nodeOrSkip(t, "to run the Edge Runtime")
	urls := edgeServe(t, []string{file})
	r := get(t, urls[0]+path)
	var want map[string]any
	if err := json.Unmarshal([]byte(r.body), &want); r.status != 200 || err != nil {
		t.Fatalf("Edge Runtime: GET %s = %d %q: %v", path, r.status, r.body, err)
	}
	return want
}

func TestJSWebURLPattern(t *testing.T) {
	got, _ := webChecks(t, "/api/web/urlpattern")
	// What the URL Pattern Standard says, whatever the oracle.
	spot := map[string]any{
		"tag":        "[object URLPattern]",
		"test":       []any{true, false, true, true, true, false, true, true, false},
		"noMatch":    nil,
		"served":     map[string]any{"name": "urlpattern"},
		"escaped":    true,
		"ignoreCase": []any{false, true, true},
		"errors":     []any{"TypeError", "TypeError", "TypeError", "TypeError", "TypeError", "TypeError"},
	}
	for name, w := range spot {
		if !reflect.DeepEqual(got[name], w) {
			t.Errorf("%s = %#v, want %#v", name, got[name], w)
		}
	}
	want := edgeChecks(t, "../testdata/js/api/web/urlpattern.ts", "/api/web/urlpattern")
	// The Edge Runtime's URLPattern (urlpattern-polyfill 10.0.0) has no
	// Symbol.toStringTag; WebIDL's class string is the interface's name.
	if want["tag"] == "[object URLPattern]" {
		t.Logf("tag: the Edge Runtime now agrees with WebIDL")
	}
	want["tag"] = "[object URLPattern]"
	sameChecks(t, "Edge Runtime", got, want)
}

// TestJSWebLazyGlobals: the globals the runtime loads on first use
// (URLPattern, CompressionStream, DecompressionStream, CryptoKey,
// crypto.subtle: BENCHMARKS.md, 2026-12-03) are listed, not enumerable,
// replaceable before and after that use, and work when first used in a
// handler.
func TestJSWebLazyGlobals(t *testing.T) {
	got, _ := webChecks(t, "/api/web/lazy")
	want := map[string]any{
		"listed":           []any{true, true, true, true},
		"notEnumerable":    []any{},
		"in":               []any{true, true, true, true},
		"cryptoKeys":       []any{"getRandomValues", "randomUUID", "subtle"},
		"replaced":         []any{float64(42), map[string]any{"value": float64(42), "writable": true, "enumerable": false, "configurable": true}},
		"decompressed":     "hello",
		"typeofURLPattern": "function",
		"exec":             map[string]any{"id": "7"},
		"tag":              "[object URLPattern]",
		"same":             true,
		"key":              []any{true, "[object CryptoKey]", true},
		"after":            []any{[]any{false, true, "function"}, []any{false, true, "number"}, []any{false, true, "function"}, []any{false, true, "function"}},
		"afterData":        []any{[]any{true, true}, []any{true, true}, []any{true, true}},
		"subtle":           map[string]any{"value": map[string]any{}, "writable": true, "enumerable": true, "configurable": true},
		"replacedAfter":    "mine",
	}
	sameChecks(t, "want", got, want)
}

func TestJSWebCompression(t *testing.T) {
	got, url := webChecks(t, "/api/web/compression")
	if ab, _ := webChecks(t, "/api/web/compression?arraybuffer"); ab["arraybuffer"] != "array buffer" {
		t.Errorf("ArrayBuffer chunks: %v, want \"array buffer\"", ab["arraybuffer"])
	}
	nodeOrSkip(t, "to compare CompressionStream with Node's (the Edge Runtime has none)")
	var want map[string]any
	out := nodeGet(t, "../testdata/js/api/web/compression.ts", url)
	if err := json.Unmarshal(out, &want); err != nil {
		t.Fatalf("node printed %q: %v", out, err)
	}
	// Where Node.js 20 departs from the Compression Streams standard, the
	// standard's answer, which wfn gives. Node errors a stream of corrupt
	// or cut data with a plain Error, where the standard says TypeError;
	for name, w := range want {
		if w == "Error (writable: Error)" {
			want[name] = "TypeError (writable: TypeError)"
		}
	}
	for name, w := range compressionNodeDiffers {
		if reflect.DeepEqual(want[name], w) {
			t.Logf("%s: Node now agrees with the standard (%v)", name, w)
		}
		want[name] = w
	}
	sameChecks(t, "Node", got, want)
}

var compressionNodeDiffers = map[string]any{
	// a chunk that is no BufferSource is a TypeError; Node compresses a
	// string's UTF-8.
	"gzip compress a string":        "TypeError (writable: TypeError)",
	"deflate compress a string":     "TypeError (writable: TypeError)",
	"deflate-raw compress a string": "TypeError (writable: TypeError)",
	// data after the end of the compressed data is a TypeError; Node 20
	// drops it (for gzip it reads it as another member, and fails).
	"deflate trailing data":     "TypeError (writable: TypeError)",
	"deflate-raw trailing data": "TypeError (writable: TypeError)",
	// The format is a WebIDL enum: an object is converted to a string
	// ("gzip") first; Node refuses whatever is not a string.
	"errors": []any{"TypeError", "TypeError", "TypeError", "TypeError", "TypeError", "none"},
}

func TestJSWebRequestFields(t *testing.T) {
	got, _ := webChecks(t, "/api/web/requestfields")
	// What the Fetch Standard says, whatever the oracle.
	defaults := map[string]any{"cache": "default", "credentials": "same-origin", "destination": "", "integrity": "", "keepalive": false,
		"mode": "cors", "referrer": "about:client", "referrerPolicy": "", "duplex": "half"}
	spot := map[string]any{
		"served": defaults,
		"made":   defaults,
		"error":  []any{"error", float64(0), "", false, nil, "", false, float64(0), "[object Response]", true},
	}
	for name, w := range spot {
		if !reflect.DeepEqual(got[name], w) {
			t.Errorf("%s = %#v, want %#v", name, got[name], w)
		}
	}
	if errs, _ := got["errors"].([]any); len(errs) == 0 || errs[0] != "TypeError" {
		t.Errorf(`mode "navigate": %v, want TypeError`, got["errors"])
	}
	want := edgeChecks(t, "../testdata/js/api/web/requestfields.ts", "/api/web/requestfields")
	// new Request(request) without an init keeps the request's referrer
	// and referrer policy (Fetch, "new Request": only a non-empty init
	// drops them); the Edge Runtime's undici drops them.
	copied := maps.Clone(spot["made"].(map[string]any))
	maps.Copy(copied, map[string]any{"cache": "no-store", "credentials": "include", "integrity": "sha256-abc", "keepalive": true,
		"mode": "same-origin", "referrer": "https://example.com/from", "referrerPolicy": "origin"})
	if reflect.DeepEqual(want["copy"], copied) {
		t.Logf("copy: the Edge Runtime now agrees with the Fetch Standard")
	}
	want["copy"] = copied
	sameChecks(t, "Edge Runtime", got, want)
}

// TestJSWebResponseErrorSent: a handler whose response is Response.error()
// fails the invocation (a 500) with an error that says so, not with the
// host's EINVAL for status 0.
func TestJSWebResponseErrorSent(t *testing.T) {
	_, srv, logs := serve(t, host.Config{Dir: "../testdata/js"})
	r := get(t, srv.URL+"/api/web/requestfields?send-error")
	if r.status != http.StatusInternalServerError {
		t.Errorf("GET = %d %q, want 500", r.status, r.body)
	}
	if want := "the handler's response is Response.error(), a network error, which cannot be sent"; !strings.Contains(logs.String(), want) {
		t.Errorf("the log does not say %q:\n%s", want, logs)
	}
}
