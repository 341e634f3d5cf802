package wfncache_test

import (
	"errors"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/wfn-dev/wfn/abi"
	"github.com/wfn-dev/wfn/guests/sdk/go/wfn"
	"github.com/wfn-dev/wfn/guests/sdk/go/wfn/wfncache"
	"github.com/wfn-dev/wfn/guests/sdk/go/wfn/wfntest"
)

// run runs f as a handler with the caches c.
func run(t *testing.T, c *wfntest.Cache, f func()) {
	t.Helper()
	h := wfn.HandlerFunc(func(w *wfn.ResponseWriter, r *wfn.Request) { f() })
	wfntest.Do(h, httptest.NewRequest("GET", "/", nil), nil, wfntest.SharedCache(c))
}

func TestHash(t *testing.T) {
	tests := []struct{ key, want string }{
		{"", "1505"},
		{"hello", "a9cede7"},
		{"user:123", "8d0276de"},
		{"blog-posts", "a54daaa5"},
		{"😀", "50fe98"},     // two UTF-16 code units
		{"\xff", "24a58"},   // invalid UTF-8 counts as U+FFFD
		{"\uFFFD", "24a58"}, // as the character itself
	}
	for _, tt := range tests {
		if got := wfncache.Hash(tt.key); got != tt.want {
			t.Errorf("Hash(%q) = %s, want %s", tt.key, got, tt.want)
		}
	}
}

func TestKey(t *testing.T) {
	tests := []struct {
		name string
		opts []wfncache.Option
		want string
	}{
		{name: "no namespace", want: "a9cede7"},
		{name: "namespace", opts: []wfncache.Option{wfncache.Namespace("blog")}, want: "blog$a9cede7"},
		{
			name: "separator",
			opts: []wfncache.Option{wfncache.Namespace("blog"), wfncache.NamespaceSeparator(":")},
			want: "blog:a9cede7",
		},
		{
			name: "empty separator is the default",
			opts: []wfncache.Option{wfncache.Namespace("blog"), wfncache.NamespaceSeparator("")},
			want: "blog$a9cede7",
		},
		{name: "separator without namespace", opts: []wfncache.Option{wfncache.NamespaceSeparator(":")}, want: "a9cede7"},
		{
			name: "hash function",
			opts: []wfncache.Option{wfncache.Namespace("n"), wfncache.KeyHashFunction(strings.ToUpper)},
			want: "n$HELLO",
		},
		{name: "nil hash function", opts: []wfncache.Option{wfncache.KeyHashFunction(nil)}, want: "a9cede7"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := wfncache.GetCache(tt.opts...).Key("hello"); got != tt.want {
				t.Errorf("Key = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestSetGet(t *testing.T) {
	c := wfntest.NewCache()
	cache := wfncache.GetCache(wfncache.Namespace("ns"))
	type post struct {
		Title string `json:"title"`
		N     int    `json:"n"`
	}
	run(t, c, func() {
		if err := cache.Set("post", post{"hi", 2}, wfncache.TTL(60), wfncache.Tags("a", "b")); err != nil {
			t.Fatal(err)
		}
	})
	e, ok := c.Get("ns$" + wfncache.Hash("post"))
	if !ok || string(e.Value) != `{"title":"hi","n":2}` || !slices.Equal(e.Tags, []string{"a", "b"}) || e.Name != "post" {
		t.Fatalf("stored %+v %v", e, ok)
	}
	if d := e.Expires.Sub(e.Created); d != time.Minute {
		t.Errorf("ttl %v, want 1m", d)
	}
	run(t, c, func() {
		var p post
		hit, err := cache.Get("post", &p)
		if err != nil || !hit || p != (post{"hi", 2}) {
			t.Errorf("Get = %v %v %+v", hit, err, p)
		}
		// Another namespace is another key.
		if hit, err := wfncache.GetCache().Get("post", &p); hit || err != nil {
			t.Errorf("Get without namespace = %v %v", hit, err)
		}
	})
}

func TestMissAndNull(t *testing.T) {
	c := wfntest.NewCache()
	cache := wfncache.GetCache()
	run(t, c, func() {
		v := &struct{}{}
		if hit, err := cache.Get("k", &v); hit || err != nil || v == nil {
			t.Errorf("miss: Get = %v %v, v %v", hit, err, v)
		}
		if b, hit, err := cache.GetBytes("k"); hit || err != nil || b != nil {
			t.Errorf("miss: GetBytes = %q %v %v", b, hit, err)
		}
		if err := cache.Set("k", nil); err != nil {
			t.Fatal(err)
		}
		if hit, err := cache.Get("k", &v); !hit || err != nil || v != nil {
			t.Errorf("null: Get = %v %v, v %v", hit, err, v)
		}
		if b, hit, err := cache.GetBytes("k"); !hit || err != nil || string(b) != "null" {
			t.Errorf("null: GetBytes = %q %v %v", b, hit, err)
		}
	})
}

func TestBytes(t *testing.T) {
	c := wfntest.NewCache()
	cache := wfncache.GetCache()
	big := strings.Repeat("x", 100_000) // more than the first buffer
	run(t, c, func() {
		for _, v := range []string{"", "raw", big, "after"} {
			if err := cache.SetBytes("k", []byte(v)); err != nil {
				t.Fatal(err)
			}
			b, hit, err := cache.GetBytes("k")
			if !hit || err != nil || string(b) != v {
				t.Fatalf("GetBytes = %d bytes %v %v, want %d", len(b), hit, err, len(v))
			}
		}
		// Not JSON: Get fails to decode, but reports the hit.
		var s string
		if hit, err := cache.Get("k", &s); !hit || err == nil {
			t.Errorf("Get of non-JSON = %v %v", hit, err)
		}
	})
}

func TestName(t *testing.T) {
	c := wfntest.NewCache()
	cache := wfncache.GetCache()
	run(t, c, func() {
		cache.Set("a", 1)
		cache.Set("b", 1, wfncache.Name("Bee"))
		cache.Set("c", 1, wfncache.Name(""))
	})
	for key, want := range map[string]string{"a": "a", "b": "Bee", "c": ""} {
		if e, _ := c.Get(cache.Key(key)); e.Name != want {
			t.Errorf("name of %s = %q, want %q", key, e.Name, want)
		}
	}
}

func TestTTL(t *testing.T) {
	c := wfntest.NewCache()
	cache := wfncache.GetCache()
	run(t, c, func() {
		cache.Set("short", "s", wfncache.TTL(10))
		cache.Set("forever", "f", wfncache.TTL(0))
	})
	c.Advance(9 * time.Second)
	if got := c.Keys(); len(got) != 2 {
		t.Fatalf("after 9s: %q", got)
	}
	c.Advance(time.Second)
	run(t, c, func() {
		var s string
		if hit, _ := cache.Get("short", &s); hit {
			t.Error("short hit after its TTL")
		}
		if hit, _ := cache.Get("forever", &s); !hit || s != "f" {
			t.Errorf("forever = %v %q", hit, s)
		}
	})
	c.Advance(365 * 24 * time.Hour)
	if got := c.Keys(); !slices.Equal(got, []string{cache.Key("forever")}) {
		t.Errorf("after a year: %q", got)
	}
}

func TestDeleteAndExpireTag(t *testing.T) {
	c := wfntest.NewCache()
	ns := wfncache.GetCache(wfncache.Namespace("ns"))
	cache := wfncache.GetCache()
	run(t, c, func() {
		cache.Set("a", 1, wfncache.Tags("t1"))
		ns.Set("b", 2, wfncache.Tags("t2", "t1"))
		cache.Set("c", 3, wfncache.Tags("t3"))
		cache.Set("d", 4)
		if err := cache.Delete("d"); err != nil {
			t.Error(err)
		}
		if err := cache.Delete("never set"); err != nil {
			t.Errorf("Delete of a missing key: %v", err)
		}
		// Tags are not namespaced: t1 from any namespace reaches both.
		if err := cache.ExpireTag("t1", "unknown"); err != nil {
			t.Error(err)
		}
		if err := cache.ExpireTag(); err != nil {
			t.Errorf("ExpireTag(): %v", err)
		}
	})
	if got := c.Keys(); !slices.Equal(got, []string{cache.Key("c")}) {
		t.Errorf("keys = %q, want only c's", got)
	}
	want := []wfntest.Purge{{Op: wfntest.OpExpireTag, Tags: []string{"t1", "unknown"}}}
	if got := c.Purges(); !slices.EqualFunc(got, want, purgeEqual) {
		t.Errorf("purges = %+v", got)
	}
}

func purgeEqual(a, b wfntest.Purge) bool {
	return a.Op == b.Op && slices.Equal(a.Tags, b.Tags) && a.SrcImage == b.SrcImage && a.RevalidationDeadline == b.RevalidationDeadline
}

// A CDN purge by tag reaches the Runtime Cache, as on Vercel.
func TestPurgeReachesRuntimeCache(t *testing.T) {
	c := wfntest.NewCache()
	cache := wfncache.GetCache()
	run(t, c, func() {
		cache.Set("inv", 1, wfncache.Tags("inv"))
		cache.Set("del", 1, wfncache.Tags("del"))
		cache.Set("later", 1, wfncache.Tags("later"))
		if err := wfn.InvalidateByTag("inv"); err != nil {
			t.Error(err)
		}
		if err := wfn.DangerouslyDeleteByTag([]string{"del"}, 0); err != nil {
			t.Error(err)
		}
		if err := wfn.DangerouslyDeleteByTag([]string{"later"}, 60); err != nil {
			t.Error(err)
		}
	})
	if e, ok := c.Get(cache.Key("inv")); !ok || !e.Stale {
		t.Errorf("invalidated: %+v %v, want stale", e, ok)
	}
	run(t, c, func() {
		// As in the host, a stale entry is a miss: the function makes it anew.
		var n int
		if hit, err := cache.Get("inv", &n); hit || err != nil {
			t.Errorf("Get of an invalidated entry = %v %v, want a miss", hit, err)
		}
	})
	if _, ok := c.Get(cache.Key("del")); ok {
		t.Error("deleted entry still there")
	}
	if e, ok := c.Get(cache.Key("later")); !ok || !e.Stale {
		t.Errorf("deleted with a deadline: %+v %v, want stale", e, ok)
	}
	c.Advance(time.Minute)
	if _, ok := c.Get(cache.Key("later")); ok {
		t.Error("entry still there after the revalidation deadline")
	}
}

func TestErrors(t *testing.T) {
	tags := func(n int) []string {
		s := make([]string, n)
		for i := range s {
			s[i] = "tag" + strconv.Itoa(i)
		}
		return s
	}
	cache := wfncache.GetCache()
	tests := []struct {
		name string
		call func() error
		want error // nil: success
		// notErrno: a failure that is not the host's, such as JSON's
		notErrno bool
	}{
		{name: "2 MB value", call: func() error { return cache.SetBytes("k", make([]byte, 2<<20)) }},
		{name: "value over 2 MB", call: func() error { return cache.SetBytes("k", make([]byte, 2<<20+1)) }, want: abi.ETOOLARGE},
		{name: "128 tags", call: func() error { return cache.Set("k", 1, wfncache.Tags(tags(128)...)) }},
		{name: "129 tags", call: func() error { return cache.Set("k", 1, wfncache.Tags(tags(129)...)) }, want: abi.ETOOLARGE},
		{name: "256-byte tag", call: func() error { return cache.Set("k", 1, wfncache.Tags(strings.Repeat("t", 256))) }},
		{name: "257-byte tag", call: func() error { return cache.Set("k", 1, wfncache.Tags(strings.Repeat("t", 257))) }, want: abi.ETOOLARGE},
		{name: "empty tag", call: func() error { return cache.Set("k", 1, wfncache.Tags("")) }, want: abi.EINVAL},
		{name: "tag with a comma", call: func() error { return cache.Set("k", 1, wfncache.Tags("a,b")) }, want: abi.EINVAL},
		{name: "negative TTL", call: func() error { return cache.Set("k", 1, wfncache.TTL(-1)) }, want: abi.EINVAL},
		{
			name: "empty hashed key",
			call: func() error {
				return wfncache.GetCache(wfncache.KeyHashFunction(func(string) string { return "" })).Set("k", 1)
			},
			want: abi.EINVAL,
		},
		{name: "expire a tag with a comma", call: func() error { return cache.ExpireTag("a,b") }, want: abi.EINVAL},
		{name: "expire a long tag", call: func() error { return cache.ExpireTag(strings.Repeat("t", 257)) }, want: abi.ETOOLARGE},
		{name: "unencodable value", call: func() error { return cache.Set("k", func() {}) }, notErrno: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var err error
			run(t, wfntest.NewCache(), func() { err = tt.call() })
			switch {
			case tt.notErrno:
				if err == nil || errors.As(err, new(abi.Errno)) {
					t.Errorf("err = %v, want a JSON error", err)
				}
			case tt.want == nil && err != nil:
				t.Errorf("err = %v, want nil", err)
			case tt.want != nil && !errors.Is(err, tt.want):
				t.Errorf("err = %v, want %v", err, tt.want)
			}
		})
	}
}
