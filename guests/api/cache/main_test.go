package main

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"testing"
	"time"

	"github.com/wfn-dev/wfn/guests/sdk/go/wfn/catchall"
	"github.com/wfn-dev/wfn/guests/sdk/go/wfn/wfncache"
	"github.com/wfn-dev/wfn/guests/sdk/go/wfn/wfntest"
)

type result struct {
	Value json.RawMessage `json:"value"`
	Hit   bool            `json:"hit"`
}

func get(t *testing.T, opts ...wfntest.Option) result {
	t.Helper()
	resp := wfntest.Call(catchall.Serve, httptest.NewRequest("GET", "/api/cache", nil), nil, opts...)
	body, _ := io.ReadAll(resp.Body)
	var r result
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/json" || json.Unmarshal(body, &r) != nil {
		t.Fatalf("got %d %q %s", resp.StatusCode, resp.Header.Get("Content-Type"), body)
	}
	return r
}

func TestComputedValue(t *testing.T) {
	t.Setenv("ORIGIN_URL", "")
	c := wfntest.NewCache()
	first := get(t, wfntest.SharedCache(c))
	if first.Hit || !regexp.MustCompile(`^\{"timestamp":\d+,"id":"[A-Z2-7]{26}"\}$`).Match(first.Value) {
		t.Fatalf("first = %+v %s", first, first.Value)
	}
	second := get(t, wfntest.SharedCache(c))
	if !second.Hit || string(second.Value) != string(first.Value) {
		t.Errorf("second = %v %s, want a hit on %s", second.Hit, second.Value, first.Value)
	}

	e, ok := c.Get(wfncache.Hash("somekey"))
	if !ok || !slices.Equal(e.Tags, []string{"example-tag"}) || e.Expires.Sub(e.Created) != time.Hour || e.Name != "somekey" {
		t.Errorf("entry = %+v %v", e, ok)
	}

	c.Advance(time.Hour)
	if third := get(t, wfntest.SharedCache(c)); third.Hit || string(third.Value) == string(first.Value) {
		t.Errorf("after the TTL: %v %s", third.Hit, third.Value)
	}
}

func TestOrigin(t *testing.T) {
	calls := 0
	origin := wfntest.Outbound(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls++
		switch r.URL.Path {
		case "/json":
			w.Write([]byte(`{"answer": 42}`))
		case "/text":
			w.Write([]byte(`plain "text"`))
		default:
			http.NotFound(w, r)
		}
	}))
	tests := []struct {
		name, url, want string
	}{
		{name: "JSON", url: "https://origin.example/json", want: `{"answer":42}`},
		{name: "text", url: "https://origin.example/text", want: `"plain \"text\""`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("ORIGIN_URL", tt.url)
			c := wfntest.NewCache()
			calls = 0
			for i, wantHit := range []bool{false, true} {
				r := get(t, wfntest.SharedCache(c), origin)
				if r.Hit != wantHit || string(r.Value) != tt.want {
					t.Errorf("request %d: %v %s, want %v %s", i, r.Hit, r.Value, wantHit, tt.want)
				}
			}
			if calls != 1 {
				t.Errorf("origin called %d times, want 1", calls)
			}
		})
	}
}

func TestOriginFails(t *testing.T) {
	tests := []struct {
		name, url string
		opts      []wfntest.Option
	}{
		{name: "status", url: "https://origin.example/missing", opts: []wfntest.Option{wfntest.Outbound(http.NotFoundHandler())}},
		{name: "denied", url: "http://127.0.0.1:1/"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("ORIGIN_URL", tt.url)
			c := wfntest.NewCache()
			resp := wfntest.Call(catchall.Serve, httptest.NewRequest("GET", "/api/cache", nil), nil, append(tt.opts, wfntest.SharedCache(c))...)
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != 502 {
				t.Errorf("got %d %s, want 502", resp.StatusCode, body)
			}
			if keys := c.Keys(); len(keys) != 0 {
				t.Errorf("stored %q after a failure", keys)
			}
		})
	}
}
