// Function proxy forwards the request to BACKEND_URL (an environment
// variable: set it in the served directory's .env, with --env, or in the
// function's env config), with the rest of the path after /api/proxy and
// the query, and streams the backend's status, headers and body back,
// flushing as it goes, like the proxy in Vercel's Functions API reference.
//
// It passes r.Context() with the outbound request: when the invocation is
// aborted, the backend request is closed too. A guest has no sockets, so
// the http.Client uses wfnhttp.Transport, which sends through the host.
// The host denies loopback and private destinations by default;
// guests/vercel.json allows this function 127.0.0.1 and localhost, for a
// backend on the same machine.
package main

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"

	"github.com/wfn-dev/wfn/abi"
	"github.com/wfn-dev/wfn/guests/sdk/go/wfn/wfnhttp"
)

func init() { wfnhttp.Handle(http.HandlerFunc(proxy)) }

var client = &http.Client{
	Transport: wfnhttp.Transport,
	// The host follows redirects itself; pass on any it returns.
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
}

// hopByHop are the headers that belong to one connection, not passed on.
var hopByHop = []string{
	"Connection", "Keep-Alive", "Proxy-Authenticate", "Proxy-Authorization",
	"Proxy-Connection", "Te", "Trailer", "Transfer-Encoding", "Upgrade",
}

func proxy(w http.ResponseWriter, r *http.Request) {
	backend := os.Getenv("BACKEND_URL")
	if backend == "" {
		http.Error(w, "proxy: BACKEND_URL is not set: set it in .env, with wfn serve --env BACKEND_URL=..., or in the function's env config", http.StatusInternalServerError)
		return
	}
	target, err := url.Parse(backend)
	if err != nil || !target.IsAbs() {
		http.Error(w, fmt.Sprintf("proxy: BACKEND_URL %q is not an absolute URL", backend), http.StatusInternalServerError)
		return
	}
	if rest := strings.TrimPrefix(r.URL.Path, "/api/proxy"); rest != r.URL.Path && rest != "" {
		target.Path = strings.TrimSuffix(target.Path, "/") + rest
	}
	if r.URL.RawQuery != "" {
		if target.RawQuery != "" {
			target.RawQuery += "&"
		}
		target.RawQuery += r.URL.RawQuery
	}

	out, err := http.NewRequestWithContext(r.Context(), r.Method, target.String(), r.Body)
	if err != nil {
		http.Error(w, "proxy: "+err.Error(), http.StatusBadRequest)
		return
	}
	out.Header = r.Header.Clone()
	for _, h := range hopByHop {
		out.Header.Del(h)
	}
	resp, err := client.Do(out)
	switch {
	case r.Context().Err() != nil:
		return // the client is gone
	case errors.Is(err, abi.EDENIED):
		http.Error(w, "proxy: the backend is not an allowed destination (allowedOutboundHosts)", http.StatusBadGateway)
		return
	case err != nil:
		http.Error(w, "proxy: the backend failed: "+err.Error(), http.StatusBadGateway)
		return
	}
	defer resp.Body.Close()

	for name, values := range resp.Header {
		w.Header()[name] = values
	}
	for _, h := range hopByHop {
		w.Header().Del(h)
	}
	w.Header().Del("Content-Length") // the response streams
	w.WriteHeader(resp.StatusCode)
	flusher := w.(http.Flusher)
	flusher.Flush()
	buf := make([]byte, 32<<10)
	for {
		n, err := resp.Body.Read(buf)
		if n > 0 {
			if _, werr := w.Write(buf[:n]); werr != nil {
				return // the client is gone
			}
			flusher.Flush()
		}
		if err == io.EOF {
			return
		}
		if err != nil {
			// The head is sent: all that is left is to cut the response.
			panic(http.ErrAbortHandler)
		}
	}
}

func main() {}
