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

// gin behind the adapter answers as gin behind a net/http server: c.Stream
// (which asserts http.CloseNotifier) streams server-sent events, and JSON
// binding reads a body sent chunked.
func TestGin(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		wfntest.Serve(w, r, nil, catchall.Serve)
	}))
	defer srv.Close()
	tests := []struct {
		name, method string
		body         io.Reader
		wantStatus   int
		wantType     string
		wantBody     string
	}{
		{
			name: "c.Stream", method: "GET", wantStatus: 200, wantType: "text/event-stream;charset=utf-8",
			wantBody: "event:tick\ndata:1\n\nevent:tick\ndata:2\n\nevent:tick\ndata:3\n\n",
		},
		{
			name: "JSON body sent chunked", method: "POST",
			body:       io.MultiReader(strings.NewReader(`{"name":`), strings.NewReader(`"ada"}`)),
			wantStatus: 200, wantType: "application/json; charset=utf-8", wantBody: `{"hello":"ada"}`,
		},
		{
			name: "JSON body missing", method: "POST", wantStatus: 400, wantType: "application/json; charset=utf-8",
			wantBody: `{"error":"invalid request"}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest(tt.method, srv.URL+"/api/gin", tt.body)
			resp, err := srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			b, err := io.ReadAll(resp.Body)
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != tt.wantStatus || resp.Header.Get("Content-Type") != tt.wantType || string(b) != tt.wantBody {
				t.Errorf("got %d %q %q, want %d %q %q", resp.StatusCode, resp.Header.Get("Content-Type"), b, tt.wantStatus, tt.wantType, tt.wantBody)
			}
		})
	}
}
