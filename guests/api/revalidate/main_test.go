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

func TestRevalidate(t *testing.T) {
	tests := []struct {
		name   string
		target string
		status int
		body   string
		purged []string // the tags invalidated
	}{
		{name: "tag", target: "/api/revalidate?tag=product-1", status: 200, body: `{"revalidated":"product-1"}`, purged: []string{"product-1"}},
		{name: "escaped tag", target: "/api/revalidate?tag=a%22b", status: 200, body: `{"revalidated":"a\"b"}`, purged: []string{`a"b`}},
		{name: "no tag", target: "/api/revalidate", status: 400},
		{name: "empty tag", target: "/api/revalidate?tag=", status: 400},
		{name: "comma", target: "/api/revalidate?tag=a,b", status: 400},
		{name: "too long", target: "/api/revalidate?tag=" + strings.Repeat("t", 257), status: 400},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := wfntest.NewCache()
			resp := wfntest.Call(catchall.Serve, httptest.NewRequest("POST", tt.target, nil), nil, wfntest.SharedCache(c))
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tt.status || resp.Header.Get("Content-Type") != "application/json" {
				t.Fatalf("got %d %q %s, want %d", resp.StatusCode, resp.Header.Get("Content-Type"), body, tt.status)
			}
			if tt.body != "" && string(body) != tt.body {
				t.Errorf("body %s, want %s", body, tt.body)
			}
			var purged []string
			for _, p := range c.Purges() {
				if p.Op != wfntest.OpInvalidateByTag {
					t.Errorf("unexpected purge %+v", p)
				}
				purged = append(purged, p.Tags...)
			}
			if !slices.Equal(purged, tt.purged) {
				t.Errorf("purged %q, want %q", purged, tt.purged)
			}
		})
	}
}
