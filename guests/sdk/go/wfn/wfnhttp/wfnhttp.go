// Package wfnhttp runs a plain net/http Handler as a wfn function,
// unchanged.
//
// Register it as the catch-all handler from an init function:
//
//	func init() { wfnhttp.Handle(mux) }
//
//	func main() {}
//
// or run it from a per-method export with [Serve]. [Handler] adapts it to
// a wfn.Handler, for wfntest.Do.
//
// The handler gets an *http.Request as a net/http server would build it:
// Method, URL (path and query only, as parsed from RequestURI), Host,
// RequestURI, Proto HTTP/1.1, Header in canonical form without Host, a
// streaming Body, ContentLength from the Content-Length header (-1 and
// TransferEncoding [chunked] for a body sent chunked; 0 and http.NoBody
// without a body), and TLS non-nil when the client used https. RemoteAddr is the client's IP address as the host
// trusts it (wfn.Request.IPAddress) with port 0, "203.0.113.7:0" or
// "[2001:db8::1]:0", so that net.SplitHostPort works as on a net/http
// server; it is empty when the host does not know the address. (So every
// module that uses this adapter imports ip_address.) [IPAddress] and
// [Geolocation] give the client's address and location.
//
// Route params (a function at api/greet/[name] has the param "name") come
// from the host one name at a time; the ABI has no way to list them. Read
// them with [Param], or name them when adapting the handler so they are
// set with SetPathValue and r.PathValue works:
//
//	wfnhttp.Handle(h, "name")
//
// The request's Context is the invocation's (see wfn.Request.Context): it
// is done when the invocation is aborted (the client went away from a
// function with supportsCancellation, or the host is shutting down), when
// its deadline (the function's maxDuration) passes, or when the invocation
// ends. [WaitUntil] and [After] register work to run after the response.
//
// Outbound requests go through [Transport] (the same as
// wfnfetch.Transport): a guest has no sockets, so http.DefaultClient does
// not work in one. Use &http.Client{Transport: wfnhttp.Transport} and pass
// r.Context() with the request.
//
// The host buffers a response until its first flush, and limits a
// buffered response to 4.5 MB: a handler that streams must call Flush
// (http.Flusher or http.ResponseController).
//
// The http.ResponseWriter has every optional interface of a net/http
// server's writer but http.Hijacker (http.ResponseController's Hijack
// reports http.ErrNotSupported): http.Flusher, http.CloseNotifier,
// io.ReaderFrom, io.StringWriter, and FlushError, SetReadDeadline,
// SetWriteDeadline and EnableFullDuplex for http.ResponseController. As in
// net/http, the headers are sent at WriteHeader or the first Write, later
// changes to the header map are ignored, a second WriteHeader is ignored,
// and the first Write sets Content-Type with http.DetectContentType when
// it is not set. The status 1xx informational responses (other than 101)
// cannot be sent and are ignored. Trailers are not supported. The ABI
// cannot carry a nil header value, so Header()["Content-Type"] = nil does
// not stop the host from sniffing the type.
//
// In a guest the deadlines are checked at each call: a body read after
// the read deadline, and a write or flush after the write deadline, fail
// with an error wrapping os.ErrDeadlineExceeded, but a read or write
// already waiting for the client in the host is not interrupted (the
// function's maxDuration ends it). Once a write or flush fails, every
// later one returns the same error: after the client of a function
// without supportsCancellation left, Flush reports abi.EIO as Write does.
// CloseNotify's channel receives true when the invocation is aborted or a
// write finds the client gone.
//
// A panic in the handler is recovered, as a net/http server recovers it:
// the panic and its stack are written to stderr as one line (line breaks
// escaped as \n), which the host logs at warn level with the request id,
// and the instance serves the next request. The client gets 500 Internal
// Server Error when nothing was written or flushed yet. When the body had
// started, the response must be cut, and the ABI cuts a response only
// when its instance ends: the adapter ends it with proc_exit(2), and the
// host answers 500 FUNCTION_INVOCATION_FAILED (the response was still
// buffered) or cuts the connection (it was streaming). A response whose
// write deadline failed a write is ended in the same way when the handler
// returns. A panic with http.ErrAbortHandler is a quiet abort, as in
// net/http: one line on stdout (info level), no stack; and when the client
// is already gone, neither answer nor cut is needed.
package wfnhttp

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"runtime/debug"
	"strconv"
	"strings"

	"github.com/wfn-dev/wfn/guests/sdk/go/wfn"
	"github.com/wfn-dev/wfn/guests/sdk/go/wfn/catchall"
	"github.com/wfn-dev/wfn/guests/sdk/go/wfn/wfnfetch"
)

// Transport is wfnfetch.Transport, an http.RoundTripper that sends
// requests through the host. See the wfnfetch package for the host's rules
// (allowed destinations, redirects, limits) and its errors.
var Transport = wfnfetch.Transport

// Handle registers h as the catch-all handler (through catchall), setting
// the route params named in params as path values.
func Handle(h http.Handler, params ...string) { catchall.Handle(Handler(h, params...)) }

// Serve runs h for the current invocation; call it from a per-method
// export. params are as for Handle.
func Serve(h http.Handler, params ...string) { wfn.Serve(Handler(h, params...)) }

// Handler adapts h to a wfn.Handler. Each route param named in params that
// the request has is set with SetPathValue.
func Handler(h http.Handler, params ...string) wfn.Handler {
	return &adapter{h: h, params: params}
}

type nativeKey struct{}

// Native returns the native wfn request behind r, or nil when r did not
// come from this package. It is valid only while the handler runs.
func Native(r *http.Request) *wfn.Request {
	nr, _ := r.Context().Value(nativeKey{}).(*wfn.Request)
	return nr
}

// Param returns the route param name of the request r, asking the host,
// whether or not it was named when adapting the handler. For a request
// not made by this package it falls back to r.PathValue.
func Param(r *http.Request, name string) (string, bool) {
	if nr := Native(r); nr != nil {
		return nr.Param(name)
	}
	v := r.PathValue(name)
	return v, v != ""
}

// IPAddress returns the client's IP address as the host trusts it, such
// as "203.0.113.7" (Vercel's ipAddress). For a request not made by this
// package it falls back to the host part of r.RemoteAddr. The boolean is
// false when the address is unknown.
func IPAddress(r *http.Request) (string, bool) {
	if nr := Native(r); nr != nil {
		return nr.IPAddress()
	}
	if host, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		return host, host != ""
	}
	return r.RemoteAddr, r.RemoteAddr != ""
}

// Geolocation returns the client's location as the host knows it (Vercel's
// geolocation); see wfn.Geo. For a request not made by this package it
// has only Region, wfn.DefaultRegion.
func Geolocation(r *http.Request) wfn.Geo {
	if nr := Native(r); nr != nil {
		return nr.Geolocation()
	}
	return wfn.Geo{Region: wfn.DefaultRegion}
}

// WaitUntil registers f to run after the response is complete, as
// wfn.WaitUntil does; f gets the invocation's context. r is the request
// being served (tasks belong to the current invocation).
func WaitUntil(r *http.Request, f func(ctx context.Context)) error { return wfn.WaitUntil(f) }

// After registers f to run after the response is complete, as wfn.After
// does. r is the request being served.
func After(r *http.Request, f func()) error { return wfn.After(f) }

type adapter struct {
	h      http.Handler
	params []string
}

func (a *adapter) ServeWFN(w *wfn.ResponseWriter, r *wfn.Request) {
	rw := &responseWriter{w: w, header: http.Header{}}
	req, err := newRequest(r, rw)
	if err != nil {
		w.SetStatus(http.StatusBadRequest)
		w.SetHeader("Content-Type", "text/plain; charset=utf-8")
		w.WriteString("400 Bad Request\n")
		return
	}
	for _, name := range a.params {
		if v, ok := r.Param(name); ok {
			req.SetPathValue(name, v)
		}
	}
	rw.ctx = req.Context()
	defer func() {
		if v := recover(); v != nil {
			rw.recovered(req, v, debug.Stack())
		}
	}()
	a.h.ServeHTTP(rw, req)
	rw.finish()
}

// newRequest builds the *http.Request a net/http server would.
func newRequest(r *wfn.Request, rw *responseWriter) (*http.Request, error) {
	raw := r.URL()
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("wfnhttp: cannot parse request URL: %w", err)
	}
	requestURI := u.RequestURI()
	req := &http.Request{
		Method:     r.Method(),
		URL:        &url.URL{Path: u.Path, RawPath: u.RawPath, RawQuery: u.RawQuery},
		Proto:      "HTTP/1.1",
		ProtoMajor: 1,
		ProtoMinor: 1,
		Header:     http.Header{},
		Body:       &body{r: r.Body(), rw: rw},
		Host:       u.Host,
		RequestURI: requestURI,
	}
	if ip, ok := r.IPAddress(); ok {
		req.RemoteAddr = net.JoinHostPort(ip, "0")
	}
	if u.Scheme == "https" {
		req.TLS = &tls.ConnectionState{ServerName: u.Hostname()}
	}
	for _, name := range r.HeaderNames() {
		if name == "host" {
			continue
		}
		req.Header[http.CanonicalHeaderKey(name)] = r.HeaderValues(name)
	}
	// As a net/http server: the length of a body sent chunked is unknown
	// (the host lists transfer-encoding then), and a request with
	// neither header has no body.
	switch cl, te := req.Header.Get("Content-Length"), req.Header.Get("Transfer-Encoding"); {
	case te != "":
		req.ContentLength = -1
		req.TransferEncoding = []string{"chunked"}
		req.Header.Del("Transfer-Encoding")
		req.Header.Del("Content-Length")
	case cl != "":
		req.ContentLength = -1
		if n, err := strconv.ParseInt(strings.TrimSpace(cl), 10, 64); err == nil && n >= 0 {
			req.ContentLength = n
		}
	default:
		req.ContentLength = 0
	}
	if req.ContentLength == 0 {
		req.Body = http.NoBody
	}
	ctx := context.WithValue(r.Context(), nativeKey{}, r)
	return req.WithContext(ctx), nil
}
