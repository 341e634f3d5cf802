package wfntest

import (
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/wfn-dev/wfn/abi"
)

// The host's side of the tag lists: what a guest in another language, or a
// broken SDK, may send.
func TestTagLists(t *testing.T) {
	many := func(n int) string { return strings.TrimSuffix(strings.Repeat("t,", n), ",") }
	tests := []struct {
		name string
		list string
		set  abi.Errno // cache_set's result
		op   abi.Errno // the tag operations' result
		tags []string
	}{
		{name: "none", list: "", op: abi.EINVAL},
		{name: "one", list: "a", tags: []string{"a"}},
		{name: "two", list: "a,bc", tags: []string{"a", "bc"}},
		{name: "NUL is a byte like any other", list: "a\x00b", tags: []string{"a\x00b"}},
		{name: "trailing comma", list: "a,", set: abi.EINVAL, op: abi.EINVAL},
		{name: "empty tag", list: "a,,b", set: abi.EINVAL, op: abi.EINVAL},
		{name: "only a comma", list: ",", set: abi.EINVAL, op: abi.EINVAL},
		{name: "128 tags", list: many(128), tags: strings.Split(many(128), ",")},
		{name: "129 tags", list: many(129), set: abi.ETOOLARGE, op: abi.ETOOLARGE},
		{name: "256-byte tag", list: strings.Repeat("t", 256), tags: []string{strings.Repeat("t", 256)}},
		{name: "257-byte tag", list: "a," + strings.Repeat("t", 257), set: abi.ETOOLARGE, op: abi.ETOOLARGE},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHost(httptest.NewRecorder(), httptest.NewRequest("GET", "/", nil), nil, config{maxDuration: DefaultMaxDuration, cache: NewCache()})
			defer h.end()
			list := []byte(tt.list)
			if got := h.CacheSet("k", []byte("v"), 0, list, ""); got != int32(tt.set) {
				t.Errorf("cache_set = %d, want %d", got, tt.set)
			}
			for name, call := range map[string]func() int32{
				"cache_expire_tag":      func() int32 { return h.CacheExpireTag(list) },
				"cdn_add_cache_tag":     func() int32 { return h.CDNAddCacheTag(list) },
				"cdn_invalidate_by_tag": func() int32 { return h.CDNInvalidateByTag(list) },
				"cdn_delete_by_tag":     func() int32 { return h.CDNDeleteByTag(list, 1) },
			} {
				if got := call(); got != int32(tt.op) {
					t.Errorf("%s = %d, want %d", name, got, tt.op)
				}
			}
			if tt.set == 0 && tt.op == 0 {
				if got := h.cfg.cache.ResponseTags(); !slices.Equal(got, tt.tags) {
					t.Errorf("response tags %q, want %q", got, tt.tags)
				}
			}
		})
	}
}

func TestCacheSetOrder(t *testing.T) {
	h := newHost(httptest.NewRecorder(), httptest.NewRequest("GET", "/", nil), nil, config{maxDuration: DefaultMaxDuration, cache: NewCache()})
	defer h.end()
	if got := h.CacheSet("k", []byte("v"), 0, []byte("a,b"), "name"); got != 0 {
		t.Fatalf("cache_set = %d", got)
	}
	e, ok := h.cfg.cache.Get("k")
	if !ok || !slices.Equal(e.Tags, []string{"a", "b"}) || e.Name != "name" {
		t.Errorf("entry %+v %v", e, ok)
	}
	// A stale entry is a miss for cache_get, still visible to the test.
	if got := h.CDNInvalidateByTag([]byte("b")); got != 0 {
		t.Fatalf("cdn_invalidate_by_tag = %d", got)
	}
	if got := h.CacheGet("k", make([]byte, 8)); got != int32(abi.ENOTFOUND) {
		t.Errorf("cache_get of a stale entry = %d, want ENOTFOUND", got)
	}
	if e, ok := h.cfg.cache.Get("k"); !ok || !e.Stale {
		t.Errorf("Get = %+v %v, want stale", e, ok)
	}
	// Set makes it fresh.
	h.CacheSet("k", []byte("w"), 0, []byte("b"), "")
	if got := h.CacheGet("k", make([]byte, 8)); got != 1 {
		t.Errorf("cache_get after set = %d, want 1", got)
	}
	// cdn_add_cache_tag is refused once the response is complete.
	h.ResponseClose()
	if got := h.CDNAddCacheTag([]byte("late")); got != int32(abi.ECLOSED) {
		t.Errorf("cdn_add_cache_tag after close = %d, want ECLOSED", got)
	}
}

func TestCacheSeed(t *testing.T) {
	c := NewCache()
	if err := c.Set("k", []byte("v"), 0, "a"); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		err  error
		want abi.Errno
	}{
		{"large value", c.Set("k", make([]byte, MaxCacheValue+1), 0), abi.ETOOLARGE},
		{"empty key", c.Set("", nil, 0), abi.EINVAL},
		{"comma", c.Set("k", nil, 0, "a,b"), abi.EINVAL},
		{"negative ttl", c.Set("k", nil, -time.Second), abi.EINVAL},
	}
	for _, tt := range tests {
		if tt.err != tt.want {
			t.Errorf("%s: Set = %v, want %v", tt.name, tt.err, tt.want)
		}
	}
	e, ok := c.Get("k")
	if !ok || string(e.Value) != "v" || !slices.Equal(e.Tags, []string{"a"}) {
		t.Errorf("Get = %+v %v", e, ok)
	}
	e.Value[0] = 'x'
	if e, _ := c.Get("k"); string(e.Value) != "v" {
		t.Error("Get shares memory with its caller")
	}
}
