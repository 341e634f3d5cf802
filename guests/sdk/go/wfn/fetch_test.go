package wfn_test

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/wfn-dev/wfn/abi"
	"github.com/wfn-dev/wfn/guests/sdk/go/wfn"
	"github.com/wfn-dev/wfn/guests/sdk/go/wfn/wfntest"
)

// backend answers outbound requests in the tests.
var backend = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	switch r.URL.Path {
	case "/redirect":
		http.Redirect(w, r, "/echo", http.StatusFound)
		return
	case "/redirect-local":
		http.Redirect(w, r, "http://127.0.0.1/echo", http.StatusFound)
		return
	case "/missing":
		http.NotFound(w, r)
		return
	}
	body, _ := io.ReadAll(r.Body)
	w.Header().Set("Content-Type", "text/plain")
	w.Header().Add("X-Multi", "a")
	w.Header().Add("X-Multi", "b")
	fmt.Fprintf(w, "%s %s %s auth=%s body=%s", r.Method, r.Host, r.URL, r.Header.Get("Authorization"), body)
})

func TestFetch(t *testing.T) {
	tests := []struct {
		name    string
		method  string
		url     string
		header  []string
		body    string
		opts    []wfntest.Option
		sendErr error
		headErr error
		status  int
		want    string
	}{
		{
			name: "GET", method: "GET", url: "https://api.example.com/echo?q=1",
			header: []string{"Authorization", "Bearer t"},
			status: 200, want: "GET api.example.com /echo?q=1 auth=Bearer t body=",
		},
		{
			name: "POST with a body", method: "POST", url: "http://api.example.com/echo", body: "hello",
			status: 200, want: "POST api.example.com /echo auth= body=hello",
		},
		{name: "status passes through", method: "GET", url: "http://api.example.com/missing", status: 404, want: "404 page not found\n"},
		{name: "redirect followed by the host", method: "GET", url: "http://api.example.com/redirect", status: 200, want: "GET api.example.com /echo auth= body="},
		{name: "redirect to a denied address", method: "GET", url: "http://api.example.com/redirect-local", headErr: abi.EDENIED},
		{name: "loopback address", method: "GET", url: "http://127.0.0.1:8080/", sendErr: abi.EDENIED},
		{name: "private address", method: "GET", url: "http://10.1.2.3/", sendErr: abi.EDENIED},
		{name: "metadata address", method: "GET", url: "http://169.254.169.254/latest/meta-data", sendErr: abi.EDENIED},
		{name: "IPv6 loopback", method: "GET", url: "http://[::1]/", sendErr: abi.EDENIED},
		{name: "localhost is the host itself", method: "GET", url: "http://localhost:3000/echo", sendErr: abi.EDENIED},
		{
			name: "allowed by the list", method: "GET", url: "http://localhost:3000/echo",
			opts:   []wfntest.Option{wfntest.AllowedOutboundHosts("localhost:*")},
			status: 200, want: "GET localhost:3000 /echo auth= body=",
		},
		{
			name: "public host off the list", method: "GET", url: "https://api.example.com/echo",
			opts: []wfntest.Option{wfntest.AllowedOutboundHosts("localhost:*")}, sendErr: abi.EDENIED,
		},
		{name: "relative URL", method: "GET", url: "/echo", sendErr: abi.EINVAL},
		{name: "ftp URL", method: "GET", url: "ftp://example.com/", sendErr: abi.EINVAL},
		{name: "bad method", method: "GE T", url: "http://example.com/", sendErr: abi.EINVAL},
		{name: "bad header value", method: "GET", url: "http://example.com/", header: []string{"X", "a\r\nb"}, sendErr: abi.EINVAL},
		{name: "odd header list", method: "GET", url: "http://example.com/", header: []string{"X"}, sendErr: abi.EINVAL},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var sendErr, headErr error
			var status int
			var got string
			h := wfn.HandlerFunc(func(w *wfn.ResponseWriter, r *wfn.Request) {
				var body []byte
				if tt.body != "" {
					body = []byte(tt.body)
				}
				f, err := wfn.Fetch(tt.method, tt.url, tt.header, body)
				if sendErr = err; err != nil {
					return
				}
				defer f.Close()
				if status, headErr = f.Status(); headErr != nil {
					return
				}
				b, _ := io.ReadAll(f)
				got = string(b)
			})
			opts := append([]wfntest.Option{wfntest.Outbound(backend)}, tt.opts...)
			wfntest.Do(h, httptest.NewRequest("GET", "/api/x", nil), nil, opts...)
			if !errors.Is(sendErr, tt.sendErr) {
				t.Fatalf("Fetch error = %v, want %v", sendErr, tt.sendErr)
			}
			if !errors.Is(headErr, tt.headErr) {
				t.Fatalf("Status error = %v, want %v", headErr, tt.headErr)
			}
			if status != tt.status || got != tt.want {
				t.Errorf("got %d %q, want %d %q", status, got, tt.status, tt.want)
			}
		})
	}
}

func TestFetchResponseHeaders(t *testing.T) {
	h := wfn.HandlerFunc(func(w *wfn.ResponseWriter, r *wfn.Request) {
		f, err := wfn.Fetch("GET", "https://api.example.com/echo", nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		names := f.HeaderNames()
		if !slices.Contains(names, "x-multi") || !slices.Contains(names, "content-type") {
			t.Errorf("HeaderNames() = %q", names)
		}
		if v := f.HeaderValues("X-MULTI"); !slices.Equal(v, []string{"a", "b"}) {
			t.Errorf("HeaderValues(X-MULTI) = %q", v)
		}
		if v, ok := f.Header("content-type"); v != "text/plain" || !ok {
			t.Errorf("Header(content-type) = %q, %v", v, ok)
		}
		if v, ok := f.Header("x-none"); v != "" || ok {
			t.Errorf("Header(x-none) = %q, %v", v, ok)
		}
		if err := f.Close(); err != nil {
			t.Errorf("Close() = %v", err)
		}
		if err := f.Close(); err != nil {
			t.Errorf("second Close() = %v", err)
		}
		if _, err := f.Read(make([]byte, 8)); !errors.Is(err, abi.EBADHANDLE) {
			t.Errorf("Read after Close = %v, want EBADHANDLE", err)
		}
		if _, err := f.Status(); !errors.Is(err, abi.EBADHANDLE) {
			t.Errorf("Status after Close = %v, want EBADHANDLE", err)
		}
	})
	wfntest.Do(h, httptest.NewRequest("GET", "/", nil), nil, wfntest.Outbound(backend))
}

// At most 16 requests are in flight; closing one makes room.
func TestFetchInFlightLimit(t *testing.T) {
	h := wfn.HandlerFunc(func(w *wfn.ResponseWriter, r *wfn.Request) {
		var open []*wfn.FetchResponse
		for range wfn.MaxOutbound {
			f, err := wfn.Fetch("GET", "https://api.example.com/echo", nil, nil)
			if err != nil {
				t.Fatal(err)
			}
			open = append(open, f)
		}
		if _, err := wfn.Fetch("GET", "https://api.example.com/echo", nil, nil); !errors.Is(err, abi.ETOOLARGE) {
			t.Errorf("request %d: %v, want ETOOLARGE", wfn.MaxOutbound+1, err)
		}
		open[0].Close()
		f, err := wfn.Fetch("GET", "https://api.example.com/echo", nil, nil)
		if err != nil {
			t.Errorf("after a Close: %v", err)
		} else {
			f.Close()
		}
	})
	wfntest.Do(h, httptest.NewRequest("GET", "/", nil), nil, wfntest.Outbound(backend))
}

// Handles do not outlive their invocation.
func TestFetchClosedAtEnd(t *testing.T) {
	var kept *wfn.FetchResponse
	wfntest.Do(wfn.HandlerFunc(func(w *wfn.ResponseWriter, r *wfn.Request) {
		kept, _ = wfn.Fetch("GET", "https://api.example.com/echo", nil, nil)
	}), httptest.NewRequest("GET", "/", nil), nil, wfntest.Outbound(backend))
	var err error
	wfntest.Do(wfn.HandlerFunc(func(w *wfn.ResponseWriter, r *wfn.Request) {
		_, err = kept.Status()
	}), httptest.NewRequest("GET", "/", nil), nil, wfntest.Outbound(backend))
	if !errors.Is(err, abi.EBADHANDLE) {
		t.Errorf("Status in the next invocation = %v, want EBADHANDLE", err)
	}
}

// A real server on loopback is denied unless the list allows it.
func TestFetchNetwork(t *testing.T) {
	srv := httptest.NewServer(backend)
	defer srv.Close()
	tests := []struct {
		name    string
		opts    []wfntest.Option
		sendErr error
		want    string
	}{
		{name: "denied by default", sendErr: abi.EDENIED},
		{name: "allowed", opts: []wfntest.Option{wfntest.AllowedOutboundHosts("127.0.0.1:*")}, want: "GET " + strings.TrimPrefix(srv.URL, "http://") + " /echo auth= body="},
		{name: "other port", opts: []wfntest.Option{wfntest.AllowedOutboundHosts("127.0.0.1:1")}, sendErr: abi.EDENIED},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var err error
			var got string
			wfntest.Do(wfn.HandlerFunc(func(w *wfn.ResponseWriter, r *wfn.Request) {
				var f *wfn.FetchResponse
				if f, err = wfn.Fetch("GET", srv.URL+"/echo", nil, nil); err != nil {
					return
				}
				defer f.Close()
				if _, err = f.Status(); err != nil {
					return
				}
				b, _ := io.ReadAll(f)
				got = string(b)
			}), httptest.NewRequest("GET", "/", nil), nil, tt.opts...)
			if !errors.Is(err, tt.sendErr) || got != tt.want {
				t.Errorf("got %q, %v; want %q, %v", got, err, tt.want, tt.sendErr)
			}
		})
	}
}

// A backend that is down gives EIO.
func TestFetchBackendDown(t *testing.T) {
	srv := httptest.NewServer(backend)
	url := srv.URL
	srv.Close()
	var err error
	wfntest.Do(wfn.HandlerFunc(func(w *wfn.ResponseWriter, r *wfn.Request) {
		f, ferr := wfn.Fetch("GET", url, nil, nil)
		if ferr != nil {
			err = ferr
			return
		}
		defer f.Close()
		_, err = f.Status()
	}), httptest.NewRequest("GET", "/", nil), nil, wfntest.AllowedOutboundHosts("127.0.0.1:*"))
	if !errors.Is(err, abi.EIO) {
		t.Errorf("Status() = %v, want EIO", err)
	}
}
