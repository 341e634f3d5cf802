package wfn_test

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
	"github.com/wfn-dev/wfn/guests/sdk/go/wfn/wfntest"
)

func TestAddCacheTag(t *testing.T) {
	many := make([]string, 128)
	for i := range many {
		many[i] = "t" + strconv.Itoa(i)
	}
	tests := []struct {
		name    string
		handler func(w *wfn.ResponseWriter) error
		want    error
		tags    []string // ResponseTags after
	}{
		{
			name: "tags add up",
			handler: func(*wfn.ResponseWriter) error {
				wfn.AddCacheTag("product-1", "products")
				return wfn.AddCacheTag("products", "x")
			},
			tags: []string{"product-1", "products", "products", "x"},
		},
		{name: "no tags", handler: func(*wfn.ResponseWriter) error { return wfn.AddCacheTag() }},
		{name: "comma", handler: func(*wfn.ResponseWriter) error { return wfn.AddCacheTag("ok", "a,b") }, want: abi.EINVAL},
		{name: "empty", handler: func(*wfn.ResponseWriter) error { return wfn.AddCacheTag("") }, want: abi.EINVAL},
		{
			name:    "long tag",
			handler: func(*wfn.ResponseWriter) error { return wfn.AddCacheTag(strings.Repeat("t", 257)) },
			want:    abi.ETOOLARGE,
		},
		{
			name:    "128 tags",
			handler: func(*wfn.ResponseWriter) error { return wfn.AddCacheTag(many...) },
			tags:    many,
		},
		{
			name: "129 tags",
			handler: func(*wfn.ResponseWriter) error {
				wfn.AddCacheTag(many...)
				return wfn.AddCacheTag("one-more")
			},
			want: abi.ETOOLARGE,
			tags: many,
		},
		{
			name: "after the head is sent",
			handler: func(w *wfn.ResponseWriter) error {
				w.Flush()
				return wfn.AddCacheTag("streamed")
			},
			tags: []string{"streamed"},
		},
		{
			name: "after the response is closed",
			handler: func(w *wfn.ResponseWriter) error {
				w.Close()
				return wfn.AddCacheTag("late")
			},
			want: abi.ECLOSED,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := wfntest.NewCache()
			var err error
			h := wfn.HandlerFunc(func(w *wfn.ResponseWriter, r *wfn.Request) { err = tt.handler(w) })
			wfntest.Do(h, httptest.NewRequest("GET", "/", nil), nil, wfntest.SharedCache(c))
			if !errors.Is(err, tt.want) || (tt.want == nil && err != nil) {
				t.Errorf("err = %v, want %v", err, tt.want)
			}
			if got := c.ResponseTags(); !slices.Equal(got, tt.tags) {
				t.Errorf("ResponseTags = %q, want %q", got, tt.tags)
			}
		})
	}
}

// Each invocation starts with a response without tags.
func TestAddCacheTagPerInvocation(t *testing.T) {
	c := wfntest.NewCache()
	for _, tag := range []string{"a", "b"} {
		h := wfn.HandlerFunc(func(w *wfn.ResponseWriter, r *wfn.Request) { wfn.AddCacheTag(tag) })
		wfntest.Do(h, httptest.NewRequest("GET", "/", nil), nil, wfntest.SharedCache(c))
		if got := c.ResponseTags(); !slices.Equal(got, []string{tag}) {
			t.Errorf("ResponseTags = %q, want [%s]", got, tag)
		}
	}
}

func TestPurge(t *testing.T) {
	c := wfntest.NewCache()
	errs := map[string]error{}
	h := wfn.HandlerFunc(func(w *wfn.ResponseWriter, r *wfn.Request) {
		errs["invalidate"] = wfn.InvalidateByTag("a", "b")
		errs["invalidate none"] = wfn.InvalidateByTag()
		errs["delete"] = wfn.DangerouslyDeleteByTag([]string{"c"}, 0)
		errs["delete deadline"] = wfn.DangerouslyDeleteByTag([]string{"d"}, 30)
		errs["image"] = wfn.InvalidateBySrcImage("/hero.png")
		errs["image delete"] = wfn.DangerouslyDeleteBySrcImage("/logo.png", 5)
	})
	wfntest.Do(h, httptest.NewRequest("GET", "/", nil), nil, wfntest.SharedCache(c))
	for name, err := range errs {
		if err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	want := []wfntest.Purge{
		{Op: wfntest.OpInvalidateByTag, Tags: []string{"a", "b"}},
		{Op: wfntest.OpDangerouslyDeleteByTag, Tags: []string{"c"}},
		{Op: wfntest.OpDangerouslyDeleteByTag, Tags: []string{"d"}, RevalidationDeadline: 30 * time.Second},
		{Op: wfntest.OpInvalidateBySrcImage, SrcImage: "/hero.png"},
		{Op: wfntest.OpDangerouslyDeleteBySrcImage, SrcImage: "/logo.png", RevalidationDeadline: 5 * time.Second},
	}
	got := c.Purges()
	if !slices.EqualFunc(got, want, func(a, b wfntest.Purge) bool {
		return a.Op == b.Op && slices.Equal(a.Tags, b.Tags) && a.SrcImage == b.SrcImage && a.RevalidationDeadline == b.RevalidationDeadline
	}) {
		t.Errorf("Purges =\n%+v\nwant\n%+v", got, want)
	}
}

func TestPurgeErrors(t *testing.T) {
	tests := []struct {
		name string
		call func() error
		want abi.Errno
	}{
		{name: "invalidate comma", call: func() error { return wfn.InvalidateByTag("a,b") }, want: abi.EINVAL},
		{name: "invalidate long tag", call: func() error { return wfn.InvalidateByTag(strings.Repeat("t", 257)) }, want: abi.ETOOLARGE},
		{name: "delete empty tag", call: func() error { return wfn.DangerouslyDeleteByTag([]string{""}, 0) }, want: abi.EINVAL},
		{name: "delete negative deadline", call: func() error { return wfn.DangerouslyDeleteByTag([]string{"a"}, -1) }, want: abi.EINVAL},
		{name: "image empty", call: func() error { return wfn.InvalidateBySrcImage("") }, want: abi.EINVAL},
		{name: "image negative deadline", call: func() error { return wfn.DangerouslyDeleteBySrcImage("/a.png", -1) }, want: abi.EINVAL},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := wfntest.NewCache()
			var err error
			h := wfn.HandlerFunc(func(w *wfn.ResponseWriter, r *wfn.Request) { err = tt.call() })
			wfntest.Do(h, httptest.NewRequest("GET", "/", nil), nil, wfntest.SharedCache(c))
			if !errors.Is(err, tt.want) {
				t.Errorf("err = %v, want %v", err, tt.want)
			}
			if p := c.Purges(); len(p) != 0 {
				t.Errorf("a failed purge was recorded: %+v", p)
			}
		})
	}
}
