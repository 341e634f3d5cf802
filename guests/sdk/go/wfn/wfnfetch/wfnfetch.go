// Package wfnfetch sends outbound HTTP requests from a wfn function with
// the standard http.Client: [Transport] is an http.RoundTripper over the
// host's outbound imports (http_send and the others), as fetch is in a
// JavaScript function.
//
//	client := &http.Client{Transport: wfnfetch.Transport}
//	req, _ := http.NewRequestWithContext(r.Context(), "GET", "https://api.example.com/x", nil)
//	resp, err := client.Do(req)
//
// A guest has no sockets, so http.DefaultClient and http.Get do not work
// in one: they fail to dial. This package does not replace
// http.DefaultTransport, because a package that changes a global when
// imported surprises, and because in tests (under wfntest) the test
// process's own http.Get would then go through the simulated host. A
// function whose libraries use http.DefaultClient can set it from init:
//
//	func init() { http.DefaultTransport = wfnfetch.Transport }
//
// Otherwise, in a function (WebAssembly only), importing this package
// makes http.DefaultTransport's dials fail with [ErrNoSockets], which
// names this Transport and wfnnet's dialer, instead of Go's wasip1
// message "connect: connection refused". A plain net.Dial, or a driver's
// default dialer, still reports the latter: no package can change it.
//
// wfnhttp.Transport is the same value, for handlers that already use
// wfnhttp. This package does not import catchall, so a module with
// per-method exports can use it and keep the host's 405 for the other
// methods.
//
// # What the host does
//
// The host sends the request, follows up to 10 redirects itself, and
// streams the response body. By default it allows public destinations and
// denies loopback, private, link-local and cloud-metadata addresses, at
// the send for an address in the URL and when a name resolves to one (the
// check against SSRF); a function's allowedOutboundHosts config replaces
// that rule with its own list. An invocation may have 16 outbound
// requests in flight. The host closes them all when the invocation ends,
// and within 100 ms when it is aborted or times out.
//
// # Errors
//
// Errors wrap the host's abi.Errno, so errors.Is works through the
// *url.Error that http.Client returns:
//
//   - abi.EDENIED: the destination is not allowed.
//   - abi.EIO: the backend is down, reset the connection, timed out or
//     answered badly.
//   - abi.EINVAL: a bad method, URL or header.
//   - abi.ETOOLARGE: too many requests in flight (close response
//     bodies), or their request bodies past 64 MiB together
//     (wfn.MaxOutboundBodies).
//   - abi.ECANCELED: the invocation was aborted (when the request's
//     context is the invocation's, the error is its context.Canceled).
//
// # Contexts
//
// RoundTrip honours the request's context: pass r.Context() (the
// invocation's, done when the client goes away from a function with
// supportsCancellation) or one derived from it. When the context is done,
// RoundTrip (or a later body Read) closes the request and returns the
// context's error. A wasm guest runs nothing else while it waits in the
// host, so the context is checked before the request is sent, once the
// response head arrives, and before each body read; a context that ends
// during a wait takes effect when the wait ends. The host itself ends
// every wait when the invocation is aborted or reaches its maxDuration.
//
// # Limits
//
// The request body is read whole before the request is sent (the ABI
// takes it in one piece), so it counts against the guest's memory; the
// response body streams. The Host header is sent when req.Host differs
// from the URL's host; Content-Length, Transfer-Encoding and Trailer are
// the host's to set. Response trailers are not available.
package wfnfetch

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/wfn-dev/wfn/abi"
	"github.com/wfn-dev/wfn/guests/sdk/go/wfn"
)

// Transport sends requests through the host; see the package doc.
var Transport http.RoundTripper = transport{}

// Client is an http.Client that uses Transport.
var Client = &http.Client{Transport: Transport}

type transport struct{}

// Headers the host sets itself.
var hostHeaders = map[string]bool{
	"Host":              true,
	"Content-Length":    true,
	"Transfer-Encoding": true,
	"Trailer":           true,
}

func (transport) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx := req.Context()
	body, err := readBody(req)
	if err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if req.URL == nil {
		return nil, errors.New("wfnfetch: cannot send request: nil URL")
	}
	method := req.Method
	if method == "" {
		method = http.MethodGet
	}
	header := make([]string, 0, 2*len(req.Header)+2)
	if req.Host != "" && req.Host != req.URL.Host {
		header = append(header, "Host", req.Host)
	}
	for name, values := range req.Header {
		if hostHeaders[http.CanonicalHeaderKey(name)] {
			continue
		}
		for _, v := range values {
			header = append(header, name, v)
		}
	}
	f, err := wfn.Fetch(method, req.URL.String(), header, body)
	if err != nil {
		return nil, wrap(ctx, "send request", err)
	}
	status, err := f.Status()
	if err == nil {
		err = ctx.Err()
	}
	if err != nil {
		f.Close()
		return nil, wrap(ctx, "read response", err)
	}
	resp := &http.Response{
		Status:        strings.TrimSpace(strconv.Itoa(status) + " " + http.StatusText(status)),
		StatusCode:    status,
		Proto:         "HTTP/1.1",
		ProtoMajor:    1,
		ProtoMinor:    1,
		Header:        make(http.Header),
		Body:          &responseBody{f: f, ctx: ctx},
		ContentLength: -1,
		Request:       req,
	}
	for _, name := range f.HeaderNames() {
		resp.Header[http.CanonicalHeaderKey(name)] = f.HeaderValues(name)
	}
	if cl := resp.Header.Get("Content-Length"); cl != "" {
		if n, err := strconv.ParseInt(cl, 10, 64); err == nil && n >= 0 {
			resp.ContentLength = n
		}
	}
	if status == http.StatusNoContent {
		resp.ContentLength = 0
	}
	return resp, nil
}

// readBody reads and closes the request body, as a RoundTripper must.
func readBody(req *http.Request) ([]byte, error) {
	if req.Body == nil || req.Body == http.NoBody {
		if req.Body != nil {
			req.Body.Close()
		}
		return nil, nil
	}
	b, err := io.ReadAll(req.Body)
	req.Body.Close()
	if err != nil {
		return nil, fmt.Errorf("wfnfetch: cannot read request body: %w", err)
	}
	return b, nil
}

// wrap turns a host error into the RoundTrip's: the context's error when
// the context is done (the invocation's is, once aborted), else the
// abi.Errno with what failed.
func wrap(ctx context.Context, op string, err error) error {
	if cerr := ctx.Err(); cerr != nil {
		return cerr
	}
	var why string
	switch {
	case errors.Is(err, abi.EDENIED):
		why = "destination not allowed (see allowedOutboundHosts): "
	case errors.Is(err, abi.ETOOLARGE):
		why = "too many outbound requests in flight, or their bodies past 64 MiB: "
	case errors.Is(err, abi.ECANCELED):
		why = "invocation aborted: "
	}
	return fmt.Errorf("wfnfetch: cannot %s: %s%w", op, why, err)
}

// responseBody streams the response body and releases the request at
// Close.
type responseBody struct {
	f   *wfn.FetchResponse
	ctx context.Context
	err error // sticky, after the context ended or a read failed
}

func (b *responseBody) Read(p []byte) (int, error) {
	if b.err != nil {
		return 0, b.err
	}
	if err := b.ctx.Err(); err != nil {
		b.err = err
		b.f.Close()
		return 0, err
	}
	n, err := b.f.Read(p)
	switch {
	case err == nil, err == io.EOF:
		return n, err
	default:
		b.err = wrap(b.ctx, "read response body", err)
		return n, b.err
	}
}

func (b *responseBody) Close() error {
	if b.err == nil {
		b.err = errors.New("wfnfetch: read on closed response body")
	}
	return b.f.Close()
}
