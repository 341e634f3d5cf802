package main

import (
	"io"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/wfn-dev/wfn/guests/sdk/go/wfn/catchall"
	"github.com/wfn-dev/wfn/guests/sdk/go/wfn/wfntest"
)

func TestExpire(t *testing.T) {
	tests := []struct {
		name   string
		target string
		status int
		body   string
		left   []string // the keys left
	}{
		{name: "tag", target: "/api/expire?tag=example-tag", status: 200, body: `{"expired":"example-tag"}`, left: []string{"other"}},
		{name: "unknown tag", target: "/api/expire?tag=nothing", status: 200, body: `{"expired":"nothing"}`, left: []string{"other", "tagged"}},
		{name: "no tag", target: "/api/expire", status: 400, left: []string{"other", "tagged"}},
		{name: "comma", target: "/api/expire?tag=example-tag,x", status: 400, left: []string{"other", "tagged"}},
		{name: "too long", target: "/api/expire?tag=" + strings.Repeat("t", 257), status: 400, left: []string{"other", "tagged"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := wfntest.NewCache()
			c.Set("tagged", []byte(`1`), 0, "example-tag")
			c.Set("other", []byte(`2`), 0, "other-tag")
			resp := wfntest.Call(catchall.Serve, httptest.NewRequest("GET", tt.target, nil), nil, wfntest.SharedCache(c))
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tt.status || resp.Header.Get("Content-Type") != "application/json" {
				t.Fatalf("got %d %q %s, want %d", resp.StatusCode, resp.Header.Get("Content-Type"), body, tt.status)
			}
			if tt.body != "" && string(body) != tt.body {
				t.Errorf("body %s, want %s", body, tt.body)
			}
			if got := c.Keys(); !slices.Equal(got, tt.left) {
				t.Errorf("keys left %q, want %q", got, tt.left)
			}
		})
	}
}
