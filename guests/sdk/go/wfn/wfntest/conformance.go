package wfntest

import (
	"context"
	"net/http"
	"net/url"
	"strings"

	"github.com/wfn-dev/wfn/abi/conformance"
)

// Target is a target of the ABI conformance suite (package
// github.com/wfn-dev/wfn/abi/conformance) that runs a Go conformance
// guest's handler with this package, without WebAssembly: the same cases
// that hold the host to the specification hold this double to it. export
// is the body of the guest's wfn_handle export (catchall.Serve for a
// guest that registers its handler with catchall.Handle). Run the suite
// with an empty guest path: conformance.Run(t, wfntest.Target(catchall.Serve), "").
//
// Each request to /api/NAME is one invocation with the route param
// "case" = NAME, set in the query as the host sets it; every invocation
// has the suite's maxDuration and allowedOutboundHosts, and they share one
// Runtime Cache. The cases that test what belongs to the host rather than
// to the imports are skipped (see Skip).
func Target(export func()) conformance.Target { return target{export} }

type target struct{ export func() }

// Serve serves the suite's requests with the guest's handler.
func (t target) Serve(ctx context.Context, setup conformance.Setup) (http.Handler, func(context.Context) error, error) {
	opts := []Option{MaxDuration(setup.MaxDuration), AllowedOutboundHosts(setup.AllowedOutboundHosts...), SharedCache(NewCache())}
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		name, ok := strings.CutPrefix(r.URL.EscapedPath(), "/api/")
		if !ok || strings.Contains(name, "/") {
			http.NotFound(w, r)
			return
		}
		param, err := url.PathUnescape(name)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		// As the host does, the route param is set in the query
		// (vercel.com/docs/functions: dynamic segments reach the
		// function as query parameters).
		q := "case=" + url.QueryEscape(param)
		if r.URL.RawQuery != "" {
			q = r.URL.RawQuery + "&" + q
		}
		r.URL.RawQuery = q
		r.RequestURI = r.URL.RequestURI()
		Serve(w, r, map[string]string{"case": param}, t.export, opts...)
	})
	return h, func(context.Context) error { return nil }, nil
}

// Skip names the cases this package cannot take part in: they test the
// host's answers and its environment, which wfntest documents as not
// simulated, rather than the imports.
func (target) Skip(name string) string {
	switch name {
	case "dispatch":
		return "the 405 for a method without an export, and method exports, are the host's"
	case "close", "wait-until", "log":
		return "the guest's output goes to the test process's stdout, not to a host's log"
	case "env":
		return "the guest's environment is the test process's"
	case "ip-address", "geolocation":
		return "the client address and geolocation come from ClientIP and Geolocation, not from a trusted proxy's headers"
	}
	return ""
}
