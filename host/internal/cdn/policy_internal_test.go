package cdn

import (
	"bytes"
	"errors"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestDecide(t *testing.T) {
	tests := []struct {
		name                 string
		status               int
		header               http.Header
		fresh, swr, sie, age time.Duration
		cached               bool
	}{
		{name: "s-maxage and swr", header: http.Header{"Cache-Control": {"s-maxage=10, stale-while-revalidate=20"}}, fresh: 10 * time.Second, swr: 20 * time.Second, cached: true},
		{name: "quoted and cased", header: http.Header{"Cache-Control": {`Public, S-MaxAge="5"`}}, fresh: 5 * time.Second, cached: true},
		{name: "two lines", header: http.Header{"Cache-Control": {"public", "s-maxage=7"}}, fresh: 7 * time.Second, cached: true},
		{name: "clamped to a year", header: http.Header{"Cache-Control": {"s-maxage=99999999999"}}, fresh: maxSMaxAge, cached: true},
		{name: "cdn s-maxage over max-age", header: http.Header{"Cdn-Cache-Control": {"max-age=5, s-maxage=9"}}, fresh: 9 * time.Second, cached: true},
		{name: "vercel header consulted alone", header: http.Header{"Vercel-Cdn-Cache-Control": {"stale-while-revalidate=5"}, "Cache-Control": {"s-maxage=60"}}},
		{name: "negative", header: http.Header{"Cache-Control": {"s-maxage=-1"}}},
		{name: "garbage", header: http.Header{"Cache-Control": {"s-maxage=abc"}}},
		{name: "no-store elsewhere ignored", header: http.Header{"Cdn-Cache-Control": {"max-age=3"}, "Cache-Control": {"no-store"}}, fresh: 3 * time.Second, cached: true},
		{name: "bad content-length", header: http.Header{"Cache-Control": {"s-maxage=3"}, "Content-Length": {"x"}}},
		{name: "status 410", status: 410, header: http.Header{"Cache-Control": {"s-maxage=3"}}},
		{name: "bare swr gets a year", header: http.Header{"Cache-Control": {"s-maxage=10, stale-while-revalidate"}}, fresh: 10 * time.Second, swr: defaultSWR, cached: true},
		{name: "bare swr in a targeted field", header: http.Header{"Cdn-Cache-Control": {"max-age=10, stale-while-revalidate"}}, fresh: 10 * time.Second, swr: defaultSWR, cached: true},
		{name: "empty swr is no window", header: http.Header{"Cache-Control": {"s-maxage=10, stale-while-revalidate="}}, fresh: 10 * time.Second, cached: true},
		{name: "stale-if-error", header: http.Header{"Cache-Control": {"s-maxage=10, stale-if-error=30"}}, fresh: 10 * time.Second, sie: 30 * time.Second, cached: true},
		{name: "upstream age", header: http.Header{"Cache-Control": {"s-maxage=10"}, "Age": {"4"}}, fresh: 10 * time.Second, age: 4 * time.Second, cached: true},
		{name: "bad age is stale", header: http.Header{"Cache-Control": {"s-maxage=10"}, "Age": {"x"}}},
		{name: "signed age is stale", header: http.Header{"Cache-Control": {"s-maxage=10"}, "Age": {"+1"}}},
		{name: "age with a parameter is stale", header: http.Header{"Cache-Control": {"s-maxage=10"}, "Age": {"1;a=1"}}},
		// Age is a singleton: a list is an error (RFC 9110 section 5.5),
		// and the response is stale whatever its members.
		{name: "age list of young members is stale", header: http.Header{"Cache-Control": {"s-maxage=10"}, "Age": {"2,7"}}},
		{name: "age list of zeros is stale", header: http.Header{"Cache-Control": {"s-maxage=10"}, "Age": {"0, 0"}}},
		{name: "two age lines are stale", header: http.Header{"Cache-Control": {"s-maxage=10"}, "Age": {"0", "0"}}},
		{name: "old first member", header: http.Header{"Cache-Control": {"s-maxage=10"}, "Age": {"700, 2"}}},
		{name: "age with spaces around", header: http.Header{"Cache-Control": {"s-maxage=10"}, "Age": {" 3 "}}, fresh: 10 * time.Second, age: 3 * time.Second, cached: true},
		{name: "stale on arrival", header: http.Header{"Cache-Control": {"s-maxage=10"}, "Age": {"10"}}},
		{name: "invalid targeted field ignored", header: http.Header{"Cdn-Cache-Control": {"max-age=3, ,"}, "Cache-Control": {"s-maxage=8"}}, fresh: 8 * time.Second, cached: true},
		{name: "invalid targeted no-store ignored", header: http.Header{"Cdn-Cache-Control": {"no-store;;"}, "Cache-Control": {"s-maxage=8"}}, fresh: 8 * time.Second, cached: true},
		{name: "targeted string is no number", header: http.Header{"Cdn-Cache-Control": {`max-age="60"`}, "Cache-Control": {"s-maxage=8"}}},
		{name: "targeted decimal is no number", header: http.Header{"Cdn-Cache-Control": {"max-age=6.5"}}},
		{name: "targeted upper case is invalid", header: http.Header{"Cdn-Cache-Control": {"Max-Age=6"}, "Cache-Control": {"s-maxage=8"}}, fresh: 8 * time.Second, cached: true},
		{name: "invalid vercel field falls to cdn", header: http.Header{"Vercel-Cdn-Cache-Control": {"max-age=\"x"}, "Cdn-Cache-Control": {"max-age=4"}}, fresh: 4 * time.Second, cached: true},
		{name: "targeted private", header: http.Header{"Cdn-Cache-Control": {"private, max-age=4"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, reason := decide(RulesVercel, cmpInt(tt.status, 200), tt.header, time.Now())
			if (reason == "") != tt.cached {
				t.Fatalf("reason %q, want cached=%v", reason, tt.cached)
			}
			want := policy{fresh: tt.fresh, swr: tt.swr, sie: tt.sie, age: tt.age}
			if tt.cached && p != want {
				t.Fatalf("policy %+v, want %+v", p, want)
			}
		})
	}
}

func cmpInt(a, b int) int {
	if a != 0 {
		return a
	}
	return b
}

func TestTTL(t *testing.T) {
	if got := (policy{fresh: time.Second, swr: 1500 * time.Millisecond}).ttl(0); got != 3*time.Second {
		t.Fatalf("ttl %v", got)
	}
}

func TestAcceptable(t *testing.T) {
	tests := []struct {
		accept     string
		gzip, zstd bool
	}{
		{"", false, false},
		{"gzip", true, false},
		{"GZIP;q=0.1, zstd", true, true},
		{"gzip;q=0, zstd;q=0.000", false, false},
		{"gzip; q=1.0", true, false},
		{"*;q=0.5", true, true},
		{"*, gzip;q=0", false, true},
		{"br", false, false},
		{"x-gzip", true, false},
	}
	for _, tt := range tests {
		t.Run(tt.accept, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodGet, "/", nil)
			if tt.accept != "" {
				r.Header.Set("Accept-Encoding", tt.accept)
			}
			if g, z := acceptable(r); g != tt.gzip || z != tt.zstd {
				t.Fatalf("gzip %v zstd %v, want %v %v", g, z, tt.gzip, tt.zstd)
			}
		})
	}
}

func TestBypassReasons(t *testing.T) {
	tests := []struct {
		name, target string
		header       http.Header
		bypass       bool
	}{
		{name: "plain", target: "/a"},
		{name: "query 0", target: "/a?_vercel_no_cache=0"},
		{name: "query 1", target: "/a?x=2&_vercel_no_cache=1", bypass: true},
		{name: "cookie 0", target: "/a", header: http.Header{"Cookie": {"_vercel_no_cache=0"}}},
		{name: "cookie 1", target: "/a", header: http.Header{"Cookie": {"a=b; _vercel_no_cache=1"}}, bypass: true},
		{name: "range", target: "/a", header: http.Header{"Range": {"bytes=0-"}}, bypass: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodGet, tt.target, nil)
			for k, v := range tt.header {
				r.Header[k] = v
			}
			if got := bypass(r); (got != "") != tt.bypass {
				t.Fatalf("bypass %q, want %v", got, tt.bypass)
			}
		})
	}
}

func TestEntryRoundTrip(t *testing.T) {
	e := &entry{status: 404, pol: policy{fresh: time.Minute, swr: time.Hour, sie: time.Second, age: 2 * time.Second}, negotiated: true,
		names: []string{"accept-language", "x-tenant"}, variant: "0123",
		header: fields(http.Header{"Content-Type": {"text/plain"}, "Link": {"</a>", "</b>"}})}
	e.body[encIdentity] = []byte("identity")
	e.body[encZstd] = []byte{}
	for _, keep := range [][numEnc]bool{{true, true, true}, {false, true, true}} {
		got, err := decode(e.encode(keep))
		if err != nil {
			t.Fatal(err)
		}
		want := *e
		if !keep[encIdentity] {
			want.body[encIdentity] = nil
		}
		sortFields(got.header)
		sortFields(want.header)
		if !reflect.DeepEqual(*got, want) {
			t.Fatalf("got %+v\nwant %+v", *got, want)
		}
	}
}

func sortFields(fs []field) {
	for i := range fs {
		for j := i + 1; j < len(fs); j++ {
			if fs[j].name < fs[i].name {
				fs[i], fs[j] = fs[j], fs[i]
			}
		}
	}
}

func FuzzDecode(f *testing.F) {
	e := &entry{status: 200, pol: policy{fresh: time.Second}, header: fields(http.Header{"A": {"b", "c"}})}
	e.body[encIdentity] = []byte("body")
	f.Add(e.encode([numEnc]bool{true, true, true}))
	f.Add([]byte("wfn-cdn2"))
	f.Add(append([]byte("wfn-cdn2"), bytes.Repeat([]byte{0xff}, 12)...))
	f.Fuzz(func(t *testing.T, v []byte) {
		e, err := decode(v)
		if err != nil {
			return
		}
		again, err := decode(e.encode([numEnc]bool{true, true, true}))
		if err != nil {
			t.Fatalf("re-encoding a decoded entry: %v", err)
		}
		if again.status != e.status || !bytes.Equal(again.body[encIdentity], e.body[encIdentity]) {
			t.Fatal("round trip differs")
		}
	})
}

func TestClientHeader(t *testing.T) {
	tests := []struct{ in, want []string }{
		{nil, []string{DefaultCacheControl}},
		{[]string{"s-maxage=1"}, []string{DefaultCacheControl}},
		{[]string{"public", "s-maxage=1"}, []string{DefaultCacheControl}},
		{[]string{"public, max-age=60, s-maxage=1, stale-while-revalidate=5"}, []string{"public, max-age=60"}},
		{[]string{"private"}, []string{"private"}},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.in, "|"), func(t *testing.T) {
			h := http.Header{"Cdn-Cache-Control": {"x"}, "Vercel-Cdn-Cache-Control": {"x"}, "Vercel-Cache-Tag": {"x"}}
			if tt.in != nil {
				h["Cache-Control"] = tt.in
			}
			clientHeader(h)
			if !reflect.DeepEqual(h, http.Header{"Cache-Control": tt.want}) {
				t.Fatalf("%v", h)
			}
		})
	}
}

func TestVariantID(t *testing.T) {
	tests := []struct {
		name  string
		names []string
		a, b  http.Header
		same  bool
	}{
		{"equal", []string{"x-a"}, http.Header{"X-A": {"1"}}, http.Header{"X-A": {"1"}}, true},
		{"other header ignored", []string{"x-a"}, http.Header{"X-A": {"1"}, "X-B": {"1"}}, http.Header{"X-A": {"1"}}, true},
		{"differ", []string{"x-a"}, http.Header{"X-A": {"1"}}, http.Header{"X-A": {"2"}}, false},
		{"absent vs empty", []string{"x-a"}, http.Header{}, http.Header{"X-A": {""}}, false},
		{"lines combined", []string{"x-a"}, http.Header{"X-A": {"1", "2"}}, http.Header{"X-A": {"1, 2"}}, true},
		{"whitespace", []string{"x-a"}, http.Header{"X-A": {" 1 ,\t2  3 "}}, http.Header{"X-A": {"1,2 3"}}, true},
		{"inner space kept", []string{"x-a"}, http.Header{"X-A": {"2 3"}}, http.Header{"X-A": {"23"}}, false},
		{"quoted kept", []string{"x-a"}, http.Header{"X-A": {`"a  b"`}}, http.Header{"X-A": {`"a b"`}}, false},
		{"case of unknown kept", []string{"x-a"}, http.Header{"X-A": {"A"}}, http.Header{"X-A": {"a"}}, false},
		{"case of accept-language", []string{"accept-language"}, http.Header{"Accept-Language": {"EN-us"}}, http.Header{"Accept-Language": {"en-US"}}, true},
		{"case in quotes kept", []string{"accept"}, http.Header{"Accept": {`a/b;p="X"`}}, http.Header{"Accept": {`a/b;p="x"`}}, false},
		{"codings as a set", []string{"accept-encoding"}, http.Header{"Accept-Encoding": {"gzip, br;q=0.5"}}, http.Header{"Accept-Encoding": {"BR,x-gzip"}}, true},
		{"refused coding", []string{"accept-encoding"}, http.Header{"Accept-Encoding": {"gzip, br;q=0"}}, http.Header{"Accept-Encoding": {"gzip, br"}}, false},
		{"names order", []string{"x-a", "x-b"}, http.Header{"X-A": {"1"}, "X-B": {"2"}}, http.Header{"X-A": {"2"}, "X-B": {"1"}}, false},
		{"no bleed between fields", []string{"x-a", "x-b"}, http.Header{"X-A": {"1\nx-b:2"}}, http.Header{"X-A": {"1"}, "X-B": {"2"}}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if same := variantID(tt.names, tt.a) == variantID(tt.names, tt.b); same != tt.same {
				t.Fatalf("same = %v, want %v", same, tt.same)
			}
		})
	}
}

func TestVaryNames(t *testing.T) {
	tests := []struct {
		header http.Header
		want   []string
	}{
		{http.Header{}, nil},
		{http.Header{"Vary": {"X-B, x-a", "X-A"}}, []string{"x-a", "x-b"}},
		{http.Header{"Content-Encoding": {"gzip"}}, []string{"accept-encoding"}},
		{http.Header{"Content-Encoding": {"identity"}}, nil},
		{http.Header{"Vary": {"Accept-Encoding"}, "Content-Encoding": {"br"}}, []string{"accept-encoding"}},
	}
	for _, tt := range tests {
		if got := varyNames(tt.header); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("varyNames(%v) = %q, want %q", tt.header, got, tt.want)
		}
	}
}

func TestIndexRoundTrip(t *testing.T) {
	x := index{names: []string{"a", "b"}, variants: []string{"1", "2", "3"}}
	got, err := decodeIndex(x.encode())
	if err != nil || !reflect.DeepEqual(got, x) {
		t.Fatalf("%+v %v", got, err)
	}
	for _, bad := range [][]byte{indexMagic, append(x.encode(), 0), index{}.encode()} {
		if _, err := decodeIndex(bad); !errors.Is(err, errCorrupt) {
			t.Errorf("decodeIndex(%q) = %v", bad, err)
		}
	}
}
