package wfnhttp_test

import (
	"context"
	"fmt"
	"github.com/wfn-dev/wfn/guests/sdk/go/wfn/internal/hostcall"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/wfn-dev/wfn/guests/sdk/go/wfn/catchall"
	"github.com/wfn-dev/wfn/guests/sdk/go/wfn/wfnhttp"
	"github.com/wfn-dev/wfn/guests/sdk/go/wfn/wfntest"
)

func TestRequest(t *testing.T) {
	tests := []struct {
		name   string
		req    func() *http.Request
		params []string
		got    func(r *http.Request) string
		want   string
	}{
		{
			name: "method and url",
			req:  func() *http.Request { return httptest.NewRequest("PUT", "http://a.test/api/x?q=1", nil) },
			got: func(r *http.Request) string {
				return fmt.Sprintf("%s %q %s %s %s %v", r.Method, r.URL, r.Host, r.RequestURI, r.Proto, r.TLS != nil)
			},
			want: `PUT "/api/x?q=1" a.test /api/x?q=1 HTTP/1.1 false`,
		},
		{
			name: "https",
			req:  func() *http.Request { return httptest.NewRequest("GET", "https://a.test/", nil) },
			got:  func(r *http.Request) string { return fmt.Sprintf("%v %s", r.TLS != nil, r.Host) },
			want: "true a.test",
		},
		{
			name: "escaped path",
			req:  func() *http.Request { return httptest.NewRequest("GET", "http://a.test/a%2Fb/c", nil) },
			got:  func(r *http.Request) string { return r.URL.Path + " " + r.URL.EscapedPath() },
			want: "/a/b/c /a%2Fb/c",
		},
		{
			name: "headers canonical",
			req: func() *http.Request {
				r := httptest.NewRequest("GET", "/", nil)
				r.Header.Add("x-multi", "1")
				r.Header.Add("X-Multi", "2")
				r.Header.Set("Accept", "text/html")
				return r
			},
			got: func(r *http.Request) string {
				keys := slices.Sorted(func(yield func(string) bool) {
					for k := range r.Header {
						if !yield(k) {
							return
						}
					}
				})
				return fmt.Sprint(keys, r.Header["X-Multi"])
			},
			want: "[Accept X-Multi] [1 2]",
		},
		{
			name: "content length from header",
			req: func() *http.Request {
				return httptest.NewRequest("POST", "/", strings.NewReader("hello"))
			},
			got: func(r *http.Request) string {
				b, err := io.ReadAll(r.Body)
				return fmt.Sprint(r.ContentLength, " ", string(b), " ", err, " ", r.Body.Close())
			},
			want: "5 hello <nil> <nil>",
		},
		{
			name: "content length unknown",
			req: func() *http.Request {
				r := httptest.NewRequest("POST", "/", strings.NewReader("hello"))
				r.ContentLength = -1
				return r
			},
			got: func(r *http.Request) string {
				b, err := io.ReadAll(r.Body)
				return fmt.Sprint(r.ContentLength, " ", r.TransferEncoding, " ", r.Header["Transfer-Encoding"], " ", string(b), " ", err)
			},
			want: "-1 [chunked] [] hello <nil>",
		},
		{
			name: "POST without a length has no body",
			req:  func() *http.Request { return httptest.NewRequest("POST", "/", nil) },
			got: func(r *http.Request) string {
				return fmt.Sprint(r.ContentLength, " ", r.TransferEncoding, " ", r.Body == http.NoBody)
			},
			want: "0 [] true",
		},
		{
			name: "GET has no body",
			req:  func() *http.Request { return httptest.NewRequest("GET", "/", nil) },
			got: func(r *http.Request) string {
				b, err := io.ReadAll(r.Body)
				return fmt.Sprint(r.ContentLength, len(b), err)
			},
			want: "0 0 <nil>",
		},
		{
			name:   "named params are path values",
			req:    func() *http.Request { return httptest.NewRequest("GET", "/api/greet/ada", nil) },
			params: []string{"name", "missing"},
			got: func(r *http.Request) string {
				return r.PathValue("name") + "|" + r.PathValue("missing") + "|" + r.PathValue("other")
			},
			want: "ada||",
		},
		{
			name: "Param asks the host",
			req:  func() *http.Request { return httptest.NewRequest("GET", "/api/greet/ada", nil) },
			got: func(r *http.Request) string {
				name, ok := wfnhttp.Param(r, "name")
				other, ok2 := wfnhttp.Param(r, "other")
				return fmt.Sprintf("%s %v %q %v %v", name, ok, other, ok2, wfnhttp.Native(r) != nil)
			},
			want: `ada true "" false true`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got string
			h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { got = tt.got(r) })
			wfntest.Do(wfnhttp.Handler(h, tt.params...), tt.req(), map[string]string{"name": "ada", "other2": "x"})
			if got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestParamOutsideWfn(t *testing.T) {
	r := httptest.NewRequest("GET", "/", nil)
	r.SetPathValue("id", "7")
	if v, ok := wfnhttp.Param(r, "id"); v != "7" || !ok {
		t.Errorf("got %q %v", v, ok)
	}
	if wfnhttp.Native(r) != nil {
		t.Error("Native of a plain request is not nil")
	}
}

func TestResponse(t *testing.T) {
	tests := []struct {
		name       string
		handler    http.HandlerFunc
		wantStatus int
		wantHeader http.Header
		wantBody   string
	}{
		{
			name:       "nothing written",
			handler:    func(w http.ResponseWriter, r *http.Request) {},
			wantStatus: 200,
			wantHeader: http.Header{},
		},
		{
			name: "headers without body are sent",
			handler: func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Location", "/x")
				w.Header().Add("X-A", "1")
				w.Header().Add("X-A", "2")
			},
			wantStatus: 200,
			wantHeader: http.Header{"Location": {"/x"}, "X-A": {"1", "2"}},
		},
		{
			name: "sniffed html",
			handler: func(w http.ResponseWriter, r *http.Request) {
				io.WriteString(w, "<!DOCTYPE html><p>hi")
			},
			wantStatus: 200,
			wantHeader: http.Header{"Content-Type": {"text/html; charset=utf-8"}},
			wantBody:   "<!DOCTYPE html><p>hi",
		},
		{
			name: "sniffed through Write",
			handler: func(w http.ResponseWriter, r *http.Request) {
				w.Write([]byte{0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'})
			},
			wantStatus: 200,
			wantHeader: http.Header{"Content-Type": {"image/png"}},
			wantBody:   "\x89PNG\r\n\x1a\n",
		},
		{
			name: "type set is kept",
			handler: func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				io.WriteString(w, "<html>")
			},
			wantStatus: 200,
			wantHeader: http.Header{"Content-Type": {"application/json"}},
			wantBody:   "<html>",
		},
		{
			name: "status; second WriteHeader ignored",
			handler: func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "text/plain")
				w.WriteHeader(418)
				w.WriteHeader(500)
				w.Header().Set("X-Late", "1")
				io.WriteString(w, "teapot")
			},
			wantStatus: 418,
			wantHeader: http.Header{"Content-Type": {"text/plain"}},
			wantBody:   "teapot",
		},
		{
			name: "informational ignored",
			handler: func(w http.ResponseWriter, r *http.Request) {
				w.WriteHeader(103)
				w.WriteHeader(202)
			},
			wantStatus: 202,
			wantHeader: http.Header{},
		},
		{
			name: "flush sends head",
			handler: func(w http.ResponseWriter, r *http.Request) {
				w.WriteHeader(201)
				w.(http.Flusher).Flush()
				if err := http.NewResponseController(w).Flush(); err != nil {
					panic(err)
				}
				w.Write([]byte("after"))
			},
			wantStatus: 201,
			wantHeader: http.Header{},
			wantBody:   "after",
		},
		{
			name: "io.Copy echoes",
			handler: func(w http.ResponseWriter, r *http.Request) {
				io.Copy(w, strings.NewReader(strings.Repeat("<html>", 200)))
			},
			wantStatus: 200,
			wantHeader: http.Header{"Content-Type": {"text/html; charset=utf-8"}},
			wantBody:   strings.Repeat("<html>", 200),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := wfntest.Do(wfnhttp.Handler(tt.handler), httptest.NewRequest("GET", "/", nil), nil)
			if resp.StatusCode != tt.wantStatus {
				t.Errorf("status = %d, want %d", resp.StatusCode, tt.wantStatus)
			}
			body, _ := io.ReadAll(resp.Body)
			// A response never flushed is sent whole, with its length.
			if cl, ok := resp.Header["Content-Length"]; ok && cl[0] != strconv.Itoa(len(body)) {
				t.Errorf("Content-Length %s for %d bytes", cl[0], len(body))
			}
			resp.Header.Del("Content-Length")
			if fmt.Sprint(resp.Header) != fmt.Sprint(tt.wantHeader) {
				t.Errorf("header = %v, want %v", resp.Header, tt.wantHeader)
			}
			if string(body) != tt.wantBody {
				t.Errorf("body = %q, want %q", body, tt.wantBody)
			}
		})
	}
}

func TestEchoLargeBody(t *testing.T) {
	in := strings.Repeat("0123456789abcdef", 4<<20/16)
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", r.Header.Get("Content-Type"))
		io.Copy(w, r.Body)
	})
	req := httptest.NewRequest("POST", "/", strings.NewReader(in))
	req.Header.Set("Content-Type", "application/octet-stream")
	resp := wfntest.Do(wfnhttp.Handler(h), req, nil)
	out, _ := io.ReadAll(resp.Body)
	if string(out) != in || resp.Header.Get("Content-Type") != "application/octet-stream" {
		t.Errorf("echoed %d bytes as %q, want %d", len(out), resp.Header.Get("Content-Type"), len(in))
	}
}

var registerOnce sync.Once

// Handle registers through catchall; Serve runs from a method export.
func TestHandleAndServe(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/hi", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "hi") })
	registerOnce.Do(func() { wfnhttp.Handle(mux) }) // once per process, even with -count
	tests := []struct {
		name   string
		export func()
		want   string
	}{
		{"catchall", catchall.Serve, "200 hi"},
		{"method export", func() { wfnhttp.Serve(mux) }, "200 hi"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := wfntest.Call(tt.export, httptest.NewRequest("GET", "/api/hi", nil), nil)
			body, _ := io.ReadAll(resp.Body)
			if got := fmt.Sprint(resp.StatusCode, " ", string(body)); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestContextAndTasks(t *testing.T) {
	if hostcall.Concurrent {
		t.Skip("the order is ABI version 1's, tasks after the handler; version 2 (wfn_fluid) starts them at once")
	}
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	var log []string
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		wfnhttp.WaitUntil(r, func(ctx context.Context) { log = append(log, "task: "+fmt.Sprint(ctx.Err())) })
		wfnhttp.After(r, func() { log = append(log, "after") })
		if _, ok := r.Context().Deadline(); !ok {
			log = append(log, "no deadline")
		}
		cancel()
		<-r.Context().Done()
		log = append(log, "handler: "+fmt.Sprint(context.Cause(r.Context())))
		if wfnhttp.Native(r) == nil {
			log = append(log, "no native request")
		}
	})
	wfntest.Do(wfnhttp.Handler(h), httptest.NewRequestWithContext(ctx, "GET", "/", nil), nil)
	want := "handler: wfn: ECANCELED|task: context canceled|after"
	if got := strings.Join(log, "|"); got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}
