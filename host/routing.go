package host

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strconv"
	"strings"

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
		return nil, fmt.Errorf("%w: %w", ErrConfig, err)
	}
	rt := &routing{}
	if rt.router, err = vroute.New(cfg); err != nil {
		return nil, fmt.Errorf("%w: vercel.json: %w", ErrConfig, err)
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

func (rt *routing) close() {
	if rt == nil {
		return
	}
	rt.client.Close()
	rt.files.Close()
}

type externalKey struct{}

type routeHeadersKey struct{}

// route applies vercel.json's routing to r. It answers redirects,
// external rewrites and static files itself (done); otherwise it returns
// the request a function serves: r, or r rewritten to its destination,
// carrying the headers vercel.json adds to the response.
func (h *Host) route(w http.ResponseWriter, r *http.Request, id string) (*http.Request, bool) {
	if h.routing == nil {
		return r, false
	}
	res, r, file := h.resolve(r)
	switch {
	case res.Status != 0:
		for k, vs := range res.Header {
			w.Header()[k] = vs
		}
		w.Header().Set("Location", res.Location)
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(res.Status)
		_, _ = io.WriteString(w, "Redirecting to "+res.Location+" ("+strconv.Itoa(res.Status)+")\n")
		return r, true
	case res.External != "":
		target, err := url.Parse(res.External)
		if err != nil {
			writeError(w, r, http.StatusBadGateway, CodeExternalTarget, id, "The rewrite's destination is not a URL.")
			return r, true
		}
		ctx := context.WithValue(r.Context(), externalKey{}, target)
		ctx = context.WithValue(ctx, routeHeadersKey{}, res.Header)
		h.routing.proxy.ServeHTTP(w, r.WithContext(ctx))
		return r, true
	case !res.Found:
		var extra []string
		for k, vs := range res.Header {
			extra = append(extra, k, vs[0])
		}
		writeError(w, r, http.StatusNotFound, CodeNotFound, id, "The page could not be found.", extra...)
		return r, true
	case file != "":
		h.serveStatic(w, r, file, res.Header)
		return r, true
	}
	if len(res.Header) > 0 {
		r = r.WithContext(context.WithValue(r.Context(), routeHeadersKey{}, res.Header))
	}
	return r, false
}

// resolve routes r through vercel.json's routing without answering it:
// the result, the request the filesystem serves (r, or r rewritten to
// res.Path and res.RawQuery; r itself for a redirect or an external
// rewrite) and, when that is a static file, the file. h.routing is set.
func (h *Host) resolve(r *http.Request) (res vroute.Result, routed *http.Request, file string) {
	rt := h.routing
	exists := func(p string) bool {
		if _, _, ok := h.table.Match(p); ok {
			file = ""
			return true
		}
		var ok bool
		file, ok = rt.files.Lookup(p)
		return ok
	}
	res = rt.router.Route(r, exists)
	if res.Status != 0 || res.External != "" {
		return res, r, ""
	}
	if res.Path != r.URL.EscapedPath() || res.RawQuery != r.URL.RawQuery {
		u := *r.URL
		u.RawQuery = res.RawQuery
		if p, err := url.PathUnescape(res.Path); err == nil {
			u.Path, u.RawPath = p, ""
			if u.EscapedPath() != res.Path {
				u.RawPath = res.Path
			}
		}
		r = r.WithContext(r.Context())
		r.URL = &u
	}
	file = ""
	if res.Found {
		exists(res.Path)
	}
	return res, r, file
}

// serveStatic serves a static file through the CDN cache, which keys it
// without the query, as Vercel's does for static files. vercel.json's
// headers come first, so that they may set Cache-Control.
func (h *Host) serveStatic(w http.ResponseWriter, r *http.Request, file string, hdr http.Header) {
	origin := func(w http.ResponseWriter, r *http.Request) []string {
		for k, vs := range hdr {
			w.Header()[k] = vs
		}
		h.routing.files.Serve(w, r, file)
		return nil
	}
	if c := h.cdnCache(r.Context()); c != nil {
		c.Serve(w, r, h.staticKey(r), origin)
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

type routeHeaderWriter struct {
	http.ResponseWriter
	hdr   http.Header
	wrote bool
}

func (rw *routeHeaderWriter) WriteHeader(code int) {
	if !rw.wrote && code >= 200 {
		rw.wrote = true
		dst := rw.ResponseWriter.Header()
		for k, vs := range rw.hdr {
			if _, set := dst[k]; !set {
				dst[k] = vs
			}
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
