package main

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/wfn-dev/wfn/guests/sdk/go/wfn/catchall"
	"github.com/wfn-dev/wfn/guests/sdk/go/wfn/wfntest"
)

// allowLocal is this function's allowedOutboundHosts in guests/vercel.json.
var allowLocal = wfntest.AllowedOutboundHosts("127.0.0.1:*", "localhost:*")

func TestProxy(t *testing.T) {
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		w.Header().Set("X-Backend", "yes")
		w.WriteHeader(http.StatusTeapot)
		body, _ := io.ReadAll(r.Body)
		io.WriteString(w, r.Method+" "+r.URL.RequestURI()+" auth="+r.Header.Get("Authorization")+" body="+string(body))
	}))
	defer backend.Close()

	tests := []struct {
		name    string
		backend string // BACKEND_URL
		opts    []wfntest.Option
		method  string
		target  string
		body    string
		status  int
		want    string // the body, or a part of it for errors
	}{
		{name: "unset", status: 500, want: "BACKEND_URL is not set"},
		{name: "not absolute", backend: "/x", status: 500, want: "is not an absolute URL"},
		{name: "denied by default", backend: backend.URL, status: 502, want: "not an allowed destination"},
		{
			name: "streams the backend's answer", backend: backend.URL, opts: []wfntest.Option{allowLocal},
			method: "GET", target: "/api/proxy?q=1", status: 418, want: "GET /?q=1 auth=Bearer t body=",
		},
		{
			name: "path suffix and body", backend: backend.URL + "/base/", opts: []wfntest.Option{allowLocal},
			method: "POST", target: "/api/proxy/items", body: "hi", status: 418, want: "POST /base/items auth=Bearer t body=hi",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("BACKEND_URL", tt.backend)
			method, target := tt.method, tt.target
			if method == "" {
				method, target = "GET", "/api/proxy"
			}
			req := httptest.NewRequest(method, target, strings.NewReader(tt.body))
			req.Header.Set("Authorization", "Bearer t")
			rec := httptest.NewRecorder()
			wfntest.Serve(rec, req, nil, catchall.Serve, tt.opts...)
			body := rec.Body.String()
			if rec.Code != tt.status || !strings.Contains(body, tt.want) {
				t.Fatalf("got %d %q, want %d %q", rec.Code, body, tt.status, tt.want)
			}
			if tt.status == 418 {
				if body != tt.want || rec.Header().Get("X-Backend") != "yes" || !rec.Flushed {
					t.Errorf("got %q, X-Backend %q, flushed %v", body, rec.Header().Get("X-Backend"), rec.Flushed)
				}
			}
		})
	}
}
