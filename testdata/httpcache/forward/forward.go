// Package forward is the function of api/[kind]/[id] and
// api/[kind]/[id]/[file]: it forwards /api/PATH?QUERY to ORIGIN_URL/PATH?QUERY
// (an environment variable), method, headers and body, and returns the
// origin's status, headers and body: the origin server of the
// http-cache-tests suite (scripts/http-cache-tests.sh) behind wfn's CDN
// cache. Most of the suite's URLs are /test/UUID; those of its Location
// and Content-Location tests are /test/UUID/FILE. vercel.json rewrites
// /test/, /config/ and /state/ to /api/, so that the suite is served at
// the root and the origin's own paths are the client's. The route params
// the host adds to the query (kind, id, file) are not forwarded: the
// origin builds its Location from the URL it is asked for. With CDN_MIRROR=1 it
// also copies the origin's Cache-Control into CDN-Cache-Control (RFC 9213:
// the same directives, aimed at the CDN), so that the cache applies them
// as a shared cache would; without it, only what Vercel's CDN reads
// (s-maxage) makes a response cacheable.
package forward

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"strings"

	"github.com/wfn-dev/wfn/guests/sdk/go/wfn/wfnhttp"
)

var client = &http.Client{
	Transport:     wfnhttp.Transport,
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
}

// hopByHop are the fields of one connection (RFC 9110 section 7.6.1).
var hopByHop = []string{"Connection", "Keep-Alive", "Proxy-Connection", "Te", "Trailer", "Transfer-Encoding", "Upgrade"}

// routeParams are the names of the route's params, which the host adds
// to the query of the request.
var routeParams = []string{"kind", "id", "file"}

// clientQuery is the raw query q without the pairs of the route params,
// the others as they came.
func clientQuery(q string) string {
	var kept []string
	for _, kv := range strings.Split(q, "&") {
		name, _, _ := strings.Cut(kv, "=")
		if kv != "" && !slices.Contains(routeParams, name) {
			kept = append(kept, kv)
		}
	}
	return strings.Join(kept, "&")
}

// Handler forwards r to the origin.
var Handler = http.HandlerFunc(forward)

func forward(w http.ResponseWriter, r *http.Request) {
	origin := os.Getenv("ORIGIN_URL")
	if origin == "" {
		http.Error(w, "forward: ORIGIN_URL is not set", http.StatusInternalServerError)
		return
	}
	target := strings.TrimSuffix(origin, "/") + strings.TrimPrefix(r.URL.Path, "/api")
	if q := clientQuery(r.URL.RawQuery); q != "" {
		target += "?" + q
	}
	out, err := http.NewRequestWithContext(r.Context(), r.Method, target, r.Body)
	if err != nil {
		http.Error(w, "forward: "+err.Error(), http.StatusBadRequest)
		return
	}
	out.Header = r.Header.Clone()
	for _, name := range r.Header.Values("Connection") {
		out.Header.Del(name)
	}
	for _, h := range hopByHop {
		out.Header.Del(h)
	}
	resp, err := client.Do(out)
	if err != nil {
		http.Error(w, fmt.Sprintf("forward: the origin failed: %v", err), http.StatusBadGateway)
		return
	}
	defer resp.Body.Close()
	for name, values := range resp.Header {
		w.Header()[name] = values
	}
	w.Header().Del("Transfer-Encoding")
	if cc := resp.Header.Values("Cache-Control"); os.Getenv("CDN_MIRROR") == "1" && cc != nil && resp.Header.Get("Cdn-Cache-Control") == "" {
		w.Header()["Cdn-Cache-Control"] = cc
	}
	w.WriteHeader(resp.StatusCode)
	if _, err := io.Copy(w, resp.Body); err != nil {
		panic(http.ErrAbortHandler) // the head is sent: cut the response
	}
}
