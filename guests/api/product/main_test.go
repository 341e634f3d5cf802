package main

import (
	"io"
	"net/http/httptest"
	"slices"
	"testing"

	"github.com/wfn-dev/wfn/guests/sdk/go/wfn/catchall"
	"github.com/wfn-dev/wfn/guests/sdk/go/wfn/wfntest"
)

func TestProduct(t *testing.T) {
	c := wfntest.NewCache()
	tests := []struct {
		name   string
		target string
		status int
		body   string
		tags   []string
	}{
		{name: "first run", target: "/api/product?id=7", status: 200, body: `{"id":7,"runs":1}`, tags: []string{"product-7", "products"}},
		{name: "second run", target: "/api/product?id=7", status: 200, body: `{"id":7,"runs":2}`, tags: []string{"product-7", "products"}},
		{name: "same id written otherwise", target: "/api/product?id=007", status: 200, body: `{"id":7,"runs":3}`, tags: []string{"product-7", "products"}},
		{name: "another id", target: "/api/product?id=8", status: 200, body: `{"id":8,"runs":1}`, tags: []string{"product-8", "products"}},
		{name: "no id", target: "/api/product", status: 400},
		{name: "not a number", target: "/api/product?id=abc", status: 400},
		{name: "negative", target: "/api/product?id=-1", status: 400},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := wfntest.Call(catchall.Serve, httptest.NewRequest("GET", tt.target, nil), nil, wfntest.SharedCache(c))
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tt.status || resp.Header.Get("Content-Type") != "application/json" {
				t.Fatalf("got %d %q %s, want %d", resp.StatusCode, resp.Header.Get("Content-Type"), body, tt.status)
			}
			if tt.status != 200 {
				if resp.Header.Get("Vercel-CDN-Cache-Control") != "" || len(c.ResponseTags()) != 0 {
					t.Errorf("an error is cacheable: %q, tags %q", resp.Header.Get("Vercel-CDN-Cache-Control"), c.ResponseTags())
				}
				return
			}
			if string(body) != tt.body {
				t.Errorf("body %s, want %s", body, tt.body)
			}
			if got := resp.Header.Get("Vercel-CDN-Cache-Control"); got != "public, max-age=86400" {
				t.Errorf("Vercel-CDN-Cache-Control = %q", got)
			}
			if got := c.ResponseTags(); !slices.Equal(got, tt.tags) {
				t.Errorf("cache tags %q, want %q", got, tt.tags)
			}
		})
	}
}
