package host

import (
	"context"
	"fmt"
	"github.com/wfn-dev/wfn/host/internal/hostcall"
	"io"
	"net/http"
	"net/http/httputil"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/wfn-dev/wfn/host/internal/cdn"
	"github.com/wfn-dev/wfn/host/internal/outbound"
	"github.com/wfn-dev/wfn/host/internal/static"
	"github.com/wfn-dev/wfn/host/internal/vroute"
)

// CodeExternalTarget is the error code of a rewrite to an external URL
// that could not be reached, as Vercel names it
// (https://vercel.com/docs/errors/ROUTER_EXTERNAL_TARGET_ERROR).
const CodeExternalTarget = "ROUTER_EXTERNAL_TARGET_ERROR"

// routing is vercel.json's routing (package vroute) and the static files
// (package static), applied before the function table as Vercel orders
// them: redirects and headers, then the filesystem (functions, then static
// files), then rewrites.
type routing struct {
	keys   []byte         // vercel.json's routing keys, as JSON
	router *vroute.Router // nil: no routing keys
	files  *static.Files
	client *outbound.Client // for rewrites to external URLs
	proxy  *httputil.ReverseProxy
}

// newRouting builds the router from the project's routing keys
// (project.Routing.JSON) and the static files of dir.
func newRouting(dir string, keys []byte) (*routing, error) {
	cfg, err := vroute.Parse(keys)
	if err != nil {
		return nil, invalidConfig(err)
	}
	rt := &routing{keys: keys}
	if rt.router, err = vroute.New(cfg); err != nil {
		return nil, invalidConfig(err)
	}
	if rt.files, err = static.New(dir, cfg.CleanURLs != nil && *cfg.CleanURLs); err != nil {
		return nil, err
	}
	policy, err := outbound.NewPolicy(externalHosts(cfg.Rewrites))
	if err != nil {
		rt.files.Close()
		return nil, fmt.Errorf("%w: vercel.json: rewrites: %w", ErrConfig, err)
	}
	rt.client = outbound.NewClient(policy)
	rt.proxy = &httputil.ReverseProxy{
		Transport:     rt.client.Transport(),
		FlushInterval: -1, // stream, as functions do
		Rewrite: func(pr *httputil.ProxyRequest) {
			target := pr.In.Context().Value(externalKey{}).(*url.URL)
			pr.Out.URL = target
			pr.Out.Host = target.Host
			pr.SetXForwarded()
		},
		ModifyResponse: func(resp *http.Response) error {
			// vercel.json's headers, where the target sets none of its own.
			hdr, _ := resp.Request.Context().Value(routeHeadersKey{}).(http.Header)
			for k, vs := range hdr {
				if _, set := resp.Header[k]; !set {
					resp.Header[k] = vs
				}
			}
			return nil
		},
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			id := w.Header().Get(HeaderRequestID)
			writeError(w, r, http.StatusBadGateway, CodeExternalTarget, id, "The rewrite's external target could not be reached.")
		},
	}
	return rt, nil
}

// externalHosts is the allow list of the external rewrites: the hosts
// vercel.json names literally are reachable whatever they resolve to,
// since the operator chose them; a host taken from the request (a
// parameter) must be one of them. With no literal host the list is empty,
// which is the default policy: public addresses only.
func externalHosts(rewrites []vroute.Rewrite) []string {
	var hosts []string
	for _, r := range rewrites {
		u, err := url.Parse(r.Destination)
		if err != nil || u.Hostname() == "" || strings.ContainsAny(u.Host, "$") || (u.Scheme != "http" && u.Scheme != "https") {
			continue
		}
		hosts = append(hosts, u.Host)
	}
	return hosts
}

// digest writes what the CDN cache's entries depend on besides the
// functions: the routing keys (their headers are stored with entries) and
// the static files. A directory that cannot be walked writes its error,
// which changes the digest rather than hiding a change.
func (rt *routing) digest(w io.Writer) {
	if rt == nil {
		return
	}
	_, _ = w.Write(rt.keys)
	_, _ = w.Write([]byte{0})
	if err := rt.files.Digest(w); err != nil {
		_, _ = fmt.Fprintf(w, "error: %v", err)
	}
}

func (rt *routing) close() {
	if rt == nil {
		return
	}
	rt.client.Close()
	rt.files.Close()
}

type externalKey struct{}

// routeHeadersKey holds the headers vercel.json adds to a response that
// the CDN cache stores with it (vroute.Result.Header); they are part of
// its key (Host.cdnKey).
type routeHeadersKey struct{}

// route applies vercel.json's routing to r. It answers redirects,
// external rewrites and static files itself (done); otherwise it returns
// the request a function serves: r, or r rewritten to its destination,
// carrying the headers vercel.json adds to the response, and the writer
// to answer it with.
//
// The CDN cache stores a response under the URL it serves and the route
// headers stored with it (routeHeadersKey), so the route headers that
// depend on the URL alone are added inside it (and may set its
// Cache-Control): those of entries without has or missing. The others
// (vroute.Result.CondHeader) and a rewrite's statusCode are added by the
// returned writer, outside the cache, to each response whether stored or
// not.
func (h *Host) route(w http.ResponseWriter, r *http.Request, id string, st *state) (http.ResponseWriter, *http.Request, bool, fnMatch) {
	if st.routing == nil {
		return w, r, false, fnMatch{}
	}
	res, r, file, m := resolveMatch(r, st)
	switch {
	case res.Status != 0:
		for k, vs := range res.AllHeader() {
			w.Header()[k] = vs
		}
		if w.Header().Get("Cache-Control") == "" {
			// Vercel's default, as vercel dev sends it: without it a
			// browser keeps a 308 or 301 for good, so a redirect changed
			// in vercel.json would go on to its former destination.
			w.Header().Set("Cache-Control", static.CacheControl)
		}
		w.Header().Set("Location", res.Location)
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(res.Status)
		_, _ = io.WriteString(w, "Redirecting to "+res.Location+" ("+strconv.Itoa(res.Status)+")\n")
		return w, r, true, fnMatch{}
	case res.External != "":
		target, err := url.Parse(res.External)
		if err != nil {
			writeError(w, r, http.StatusBadGateway, CodeExternalTarget, id, "The rewrite's destination is not a URL.")
			return w, r, true, fnMatch{}
		}
		ctx := context.WithValue(r.Context(), externalKey{}, target)
		ctx = context.WithValue(ctx, routeHeadersKey{}, res.AllHeader())
		if res.RewriteStatus != 0 {
			w = &routeHeaderWriter{ResponseWriter: w, status: res.RewriteStatus}
		}
		if r.ContentLength != 0 {
			// The proxy streams the body upstream: no bound of ServeHTTP's.
			_ = http.NewResponseController(w).SetReadDeadline(time.Time{})
		}
		st.routing.proxy.ServeHTTP(w, r.WithContext(ctx))
		return w, r, true, fnMatch{}
	case !res.Found:
		if notFoundPage(r.URL.Path) {
			for k, vs := range res.AllHeader() {
				w.Header()[k] = vs
			}
			if st.routing.files.ServeNotFound(w, r) {
				return w, r, true, fnMatch{}
			}
		}
		var extra []string
		for k, vs := range res.AllHeader() {
			extra = append(extra, k, vs[0])
		}
		writeError(w, r, http.StatusNotFound, CodeNotFound, id, "The page could not be found.", extra...)
		return w, r, true, fnMatch{}
	}
	stored, perResponse := res.Header, res.CondHeader
	if len(perResponse) > 0 || res.RewriteStatus != 0 {
		w = &routeHeaderWriter{ResponseWriter: w, hdr: perResponse, over: stored, status: res.RewriteStatus}
	}
	if res.RewriteStatus != 0 {
		// The status is the rewrite's whatever the destination says, so
		// the destination answers in full: validators and ranges apply to
		// a 200 only (RFC 9110 sections 13.2.1 and 14.2).
		r = r.Clone(r.Context())
		for _, k := range []string{"If-Match", "If-None-Match", "If-Modified-Since", "If-Unmodified-Since", "If-Range", "Range"} {
			r.Header.Del(k)
		}
	}
	if len(stored) > 0 {
		r = r.WithContext(context.WithValue(r.Context(), routeHeadersKey{}, stored))
	}
	if file != "" {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			// A platform error, as a function's 405 is.
			extra := []string{"Allow", "GET, HEAD"}
			for k, vs := range res.AllHeader() {
				extra = append(extra, k, vs[0])
			}
			writeError(w, r, http.StatusMethodNotAllowed, CodeMethodNotAllowed, id, "Method "+r.Method+" is not allowed.", extra...)
			return w, r, true, fnMatch{}
		}
		h.serveStatic(w, r, st, file, stored)
		return w, r, true, fnMatch{}
	}
	return w, r, false, m
}

// notFoundPage reports whether a path nothing serves gets the project's
// 404.html: the error route of Vercel's zero-config projects, {"status":
// 404, "src": "^/(?!.*api).*$", "dest": "/404.html"} (@vercel/fs-detectors,
// detect-builders.ts), matched without regard to case as Vercel's router
// matches. A path with "api" anywhere keeps the platform's NOT_FOUND.
func notFoundPage(path string) bool {
	return !strings.Contains(strings.ToLower(path), "api")
}

// resolve routes r through st's vercel.json routing without answering it:
// the result, the request the filesystem serves (r, or r rewritten to
// res.Path and res.RawQuery; r itself for a redirect or an external
// rewrite) and, when that is a static file, the file. st.routing is set.
func resolve(r *http.Request, st *state) (res vroute.Result, routed *http.Request, file string) {
	res, routed, file, _ = resolveMatch(r, st)
	return res, routed, file
}

// fnMatch is a function's match of a request path: the function's index
// in state.fns and the path's params; ok is false when no function
// serves the path.
type fnMatch struct {
	path   string // the escaped path matched
	i      int
	params []hostcall.Param
	ok     bool
}

// resolveMatch is resolve that also returns the function match of the
// routed request's path, when the routing asked the function table about
// it (m.path is then that path): the caller need not match it again.
func resolveMatch(r *http.Request, st *state) (res vroute.Result, routed *http.Request, file string, m fnMatch) {
	rt := st.routing
	// The router asks exists about the path the request ends at, and
	// resolve asks it again below: the last answer is kept.
	var asked bool
	var lastFile string
	var lastOK bool
	exists := func(p string) bool {
		if asked && p == m.path {
			file = lastFile
			return lastOK
		}
		asked = true
		m = fnMatch{path: p}
		if m.i, m.params, m.ok = st.table.Match(p); m.ok {
			file, lastFile, lastOK = "", "", true
			return true
		}
		file, lastOK = rt.files.Lookup(p)
		lastFile = file
		return lastOK
	}
	res = rt.router.Route(r, exists)
	if res.Status != 0 || res.External != "" {
		return res, r, "", fnMatch{}
	}
	if res.Path != r.URL.EscapedPath() || res.RawQuery != r.URL.RawQuery {
		u := *r.URL
		u.RawQuery = res.RawQuery
		if p, err := url.PathUnescape(res.Path); err == nil {
			u.Path, u.RawPath = p, ""
			if u.EscapedPath() != res.Path {
				u.RawPath = res.Path
			}
		} else {
			asked = false // r keeps its path: the caller matches it
		}
		r = r.WithContext(r.Context())
		r.URL = &u
	}
	file = ""
	if !res.Found {
		return res, r, "", fnMatch{}
	}
	if !asked {
		exists(res.Path)
		return res, r, file, fnMatch{}
	}
	exists(res.Path) // r's escaped path is res.Path, rewritten or not
	return res, r, file, m
}

// serveStatic serves a static file through the CDN cache, which keys it
// without the query, as Vercel's does for static files. vercel.json's
// headers come first, so that they may set Cache-Control.
func (h *Host) serveStatic(w http.ResponseWriter, r *http.Request, st *state, file string, hdr http.Header) {
	origin := cdn.OriginFunc(func(w http.ResponseWriter, r *http.Request) []string {
		for k, vs := range hdr {
			w.Header()[k] = vs
		}
		st.routing.files.Serve(w, r, file)
		return nil
	})
	if c := h.cdnCache(r.Context()); c != nil {
		c.Serve(w, r, h.staticKey(st, r), origin)
		return
	}
	origin(w, r)
}

// withRouteHeaders gives w the headers vercel.json adds to r's response,
// for each one the function does not set itself (a function's own
// Cache-Control wins over vercel.json's, as on Vercel).
func withRouteHeaders(w http.ResponseWriter, r *http.Request) http.ResponseWriter {
	hdr, _ := r.Context().Value(routeHeadersKey{}).(http.Header)
	if len(hdr) == 0 {
		return w
	}
	return &routeHeaderWriter{ResponseWriter: w, hdr: hdr}
}

// routeHeaderWriter adds hdr to the response, each field where the
// response has none, or has over's value for it: a route header set by an
// earlier entry, which a later one replaces. A status other than 0 is the
// response's final status whatever the handler writes (a rewrite's
// statusCode).
type routeHeaderWriter struct {
	http.ResponseWriter
	hdr    http.Header
	over   http.Header
	status int
	wrote  bool
}

func (rw *routeHeaderWriter) WriteHeader(code int) {
	if !rw.wrote && code >= 200 {
		rw.wrote = true
		dst := rw.ResponseWriter.Header()
		for k, vs := range rw.hdr {
			if cur, set := dst[k]; !set || rw.over[k] != nil && slices.Equal(cur, rw.over[k]) {
				dst[k] = vs
			}
		}
		if rw.status != 0 {
			code = rw.status
		}
	}
	rw.ResponseWriter.WriteHeader(code)
}

func (rw *routeHeaderWriter) Write(p []byte) (int, error) {
	if !rw.wrote {
		rw.WriteHeader(http.StatusOK)
	}
	return rw.ResponseWriter.Write(p)
}

func (rw *routeHeaderWriter) Flush() {
	if !rw.wrote {
		rw.WriteHeader(http.StatusOK)
	}
	_ = http.NewResponseController(rw.ResponseWriter).Flush()
}

// Unwrap gives http.ResponseController the writer underneath.
func (rw *routeHeaderWriter) Unwrap() http.ResponseWriter { return rw.ResponseWriter }
