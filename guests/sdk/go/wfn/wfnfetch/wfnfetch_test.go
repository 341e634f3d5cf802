package wfnfetch_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/wfn-dev/wfn/abi"
	"github.com/wfn-dev/wfn/guests/sdk/go/wfn/wfnfetch"
	"github.com/wfn-dev/wfn/guests/sdk/go/wfn/wfnhttp"
	"github.com/wfn-dev/wfn/guests/sdk/go/wfn/wfntest"
)

var backend = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	switch r.URL.Path {
	case "/redirect":
		http.Redirect(w, r, "/echo", http.StatusSeeOther)
		return
	case "/to-metadata":
		http.Redirect(w, r, "http://169.254.169.254/", http.StatusFound)
		return
	case "/created":
		w.Header().Set("Location", "/x/1")
		w.WriteHeader(http.StatusCreated)
		return
	}
	body, _ := io.ReadAll(r.Body)
	w.Header().Set("content-type", "text/plain")
	w.Header()["x-raw-case"] = []string{"1"}
	fmt.Fprintf(w, "%s %s host=%s ua=%q x=%q cl=%d body=%s", r.Method, r.URL, r.Host, r.UserAgent(), r.Header.Values("X-Test"), r.ContentLength, body)
})

// run runs handler h as a function with the outbound requests served by
// backend, and returns its response body.
func run(t *testing.T, h http.HandlerFunc, opts ...wfntest.Option) string {
	t.Helper()
	opts = append([]wfntest.Option{wfntest.Outbound(backend)}, opts...)
	resp := wfntest.Do(wfnhttp.Handler(h), httptest.NewRequest("GET", "/api/f", nil), nil, opts...)
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

func TestTransport(t *testing.T) {
	tests := []struct {
		name    string
		req     func(ctx context.Context) *http.Request
		wantErr error
		status  int
		header  [2]string
		want    string
	}{
		{
			name: "GET with headers",
			req: func(ctx context.Context) *http.Request {
				r, _ := http.NewRequestWithContext(ctx, "GET", "https://api.example.com/echo?q=1", nil)
				r.Header.Add("X-Test", "a")
				r.Header.Add("X-Test", "b")
				r.Header.Set("User-Agent", "wfn-test")
				return r
			},
			status: 200, header: [2]string{"Content-Type", "text/plain"},
			want: `GET /echo?q=1 host=api.example.com ua="wfn-test" x=["a" "b"] cl=0 body=`,
		},
		{
			name: "POST streams the body whole",
			req: func(ctx context.Context) *http.Request {
				r, _ := http.NewRequestWithContext(ctx, "POST", "https://api.example.com/echo", io.MultiReader(strings.NewReader("hel"), strings.NewReader("lo")))
				return r
			},
			status: 200, header: [2]string{"X-Raw-Case", "1"},
			want: `POST /echo host=api.example.com ua="Go-http-client/1.1" x=[] cl=5 body=hello`,
		},
		{
			name: "Host override",
			req: func(ctx context.Context) *http.Request {
				r, _ := http.NewRequestWithContext(ctx, "GET", "https://api.example.com/echo", nil)
				r.Host = "virtual.example.com"
				return r
			},
			status: 200,
			want:   `GET /echo host=virtual.example.com ua="Go-http-client/1.1" x=[] cl=0 body=`,
		},
		{
			name: "redirect followed by the host",
			req: func(ctx context.Context) *http.Request {
				r, _ := http.NewRequestWithContext(ctx, "POST", "https://api.example.com/redirect", strings.NewReader("x"))
				return r
			},
			status: 200,
			want:   `GET /echo host=api.example.com ua="Go-http-client/1.1" x=[] cl=0 body=`,
		},
		{
			name: "status without a body",
			req: func(ctx context.Context) *http.Request {
				r, _ := http.NewRequestWithContext(ctx, "PUT", "https://api.example.com/created", nil)
				return r
			},
			status: 201, header: [2]string{"Location", "/x/1"},
		},
		{
			name: "denied address",
			req: func(ctx context.Context) *http.Request {
				r, _ := http.NewRequestWithContext(ctx, "GET", "http://192.168.1.1/", nil)
				return r
			},
			wantErr: abi.EDENIED,
		},
		{
			name: "redirect to metadata",
			req: func(ctx context.Context) *http.Request {
				r, _ := http.NewRequestWithContext(ctx, "GET", "https://api.example.com/to-metadata", nil)
				return r
			},
			wantErr: abi.EDENIED,
		},
		{
			name: "context already done",
			req: func(ctx context.Context) *http.Request {
				ctx, cancel := context.WithCancel(ctx)
				cancel()
				r, _ := http.NewRequestWithContext(ctx, "GET", "https://api.example.com/echo", nil)
				return r
			},
			wantErr: context.Canceled,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			run(t, func(w http.ResponseWriter, r *http.Request) {
				client := &http.Client{Transport: wfnfetch.Transport}
				resp, err := client.Do(tt.req(r.Context()))
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("Do() error = %v, want %v", err, tt.wantErr)
				}
				if err != nil {
					return
				}
				defer resp.Body.Close()
				body, err := io.ReadAll(resp.Body)
				if err != nil {
					t.Fatalf("reading the body: %v", err)
				}
				if resp.StatusCode != tt.status || string(body) != tt.want {
					t.Errorf("got %d %q, want %d %q", resp.StatusCode, body, tt.status, tt.want)
				}
				if tt.header[0] != "" && resp.Header.Get(tt.header[0]) != tt.header[1] {
					t.Errorf("header %s = %q, want %q (all: %v)", tt.header[0], resp.Header.Get(tt.header[0]), tt.header[1], resp.Header)
				}
				if resp.Status != fmt.Sprintf("%d %s", tt.status, http.StatusText(tt.status)) {
					t.Errorf("Status = %q", resp.Status)
				}
			})
		})
	}
}

// The body streams: the first chunk arrives before the backend writes the
// second.
func TestTransportStreams(t *testing.T) {
	second := make(chan struct{})
	slow := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "first\n")
		w.(http.Flusher).Flush()
		<-second
		io.WriteString(w, "second\n")
	})
	resp := wfntest.Do(wfnhttp.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		req, _ := http.NewRequestWithContext(r.Context(), "GET", "https://stream.example.com/", nil)
		resp, err := wfnfetch.Client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		buf := make([]byte, 64)
		n, err := resp.Body.Read(buf)
		if string(buf[:n]) != "first\n" || err != nil {
			t.Errorf("first Read = %q, %v", buf[:n], err)
		}
		close(second)
		rest, err := io.ReadAll(resp.Body)
		if string(rest) != "second\n" || err != nil {
			t.Errorf("rest = %q, %v", rest, err)
		}
	})), httptest.NewRequest("GET", "/", nil), nil, wfntest.Outbound(slow))
	resp.Body.Close()
}

// When the request's context ends between reads, the next read returns
// its error and the request is closed.
func TestTransportContextBetweenReads(t *testing.T) {
	endless := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for r.Context().Err() == nil {
			if _, err := io.WriteString(w, "data\n"); err != nil {
				return
			}
		}
	})
	run(t, func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithCancel(r.Context())
		req, _ := http.NewRequestWithContext(ctx, "GET", "https://api.example.com/", nil)
		resp, err := wfnfetch.Client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		buf := make([]byte, 5)
		if _, err := resp.Body.Read(buf); err != nil {
			t.Fatal(err)
		}
		cancel()
		if _, err := resp.Body.Read(buf); !errors.Is(err, context.Canceled) {
			t.Errorf("Read after cancel = %v, want context.Canceled", err)
		}
	}, wfntest.Outbound(endless))
}

// An aborted invocation ends the wait for a backend that never answers:
// the error is the request context's.
func TestTransportAbort(t *testing.T) {
	hang := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() })
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	var err error
	start := time.Now()
	done := make(chan struct{})
	go func() {
		defer close(done)
		wfntest.Do(wfnhttp.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			req, _ := http.NewRequestWithContext(r.Context(), "GET", "https://api.example.com/", nil)
			_, err = wfnfetch.Client.Do(req)
		})), httptest.NewRequest("GET", "/", nil).WithContext(ctx), nil, wfntest.Outbound(hang))
	}()
	time.Sleep(50 * time.Millisecond)
	cancel()
	<-done
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Do() = %v, want context.Canceled", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("the abort took %v", d)
	}
}

// Errors keep the host's code through *url.Error.
func TestTransportNetworkErrors(t *testing.T) {
	srv := httptest.NewServer(backend)
	defer srv.Close()
	down := httptest.NewServer(backend)
	downURL := down.URL
	down.Close()
	tests := []struct {
		name    string
		url     string
		opts    []wfntest.Option
		wantErr error
	}{
		{name: "loopback denied by default", url: srv.URL + "/echo", wantErr: abi.EDENIED},
		{name: "localhost is denied", url: strings.Replace(srv.URL, "127.0.0.1", "localhost", 1) + "/echo", wantErr: abi.EDENIED},
		{name: "allowed", url: srv.URL + "/echo", opts: []wfntest.Option{wfntest.AllowedOutboundHosts("127.0.0.1:*")}},
		{name: "backend down", url: downURL, opts: []wfntest.Option{wfntest.AllowedOutboundHosts("127.0.0.1:*")}, wantErr: abi.EIO},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := wfntest.Do(wfnhttp.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				req, _ := http.NewRequestWithContext(r.Context(), "GET", tt.url, nil)
				resp, err := wfnfetch.Client.Do(req)
				if !errors.Is(err, tt.wantErr) {
					t.Errorf("Do() = %v, want %v", err, tt.wantErr)
				}
				if err == nil {
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
				}
			})), httptest.NewRequest("GET", "/", nil), nil, tt.opts...)
			resp.Body.Close()
		})
	}
}

// wfnhttp.Transport is the same transport.
func TestWfnhttpTransport(t *testing.T) {
	if wfnhttp.Transport != wfnfetch.Transport {
		t.Error("wfnhttp.Transport is not wfnfetch.Transport")
	}
}

func TestRequestBodyClosed(t *testing.T) {
	body := &closeRecorder{Reader: bytes.NewReader([]byte("x"))}
	run(t, func(w http.ResponseWriter, r *http.Request) {
		req, _ := http.NewRequestWithContext(r.Context(), "POST", "http://10.0.0.1/", body)
		if _, err := wfnfetch.Client.Do(req); !errors.Is(err, abi.EDENIED) {
			t.Errorf("Do() = %v, want EDENIED", err)
		}
	})
	if !body.closed {
		t.Error("the request body was not closed")
	}
}

type closeRecorder struct {
	io.Reader
	closed bool
}

func (c *closeRecorder) Close() error { c.closed = true; return nil }
