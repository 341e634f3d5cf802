package hostcall

import (
	"net/textproto"
	"strings"
	"testing"
)

func TestCanonicalHeaderKey(t *testing.T) {
	names := []string{"x-custom-header", "X-VERCEL-ID", "www-authenticate", "a", "content-typ", "content-types"}
	for _, k := range commonHeaders {
		if textproto.CanonicalMIMEHeaderKey(k) != k {
			t.Errorf("commonHeaders: %q is not canonical", k)
		}
		names = append(names, k, strings.ToLower(k), strings.ToUpper(k))
	}
	for _, name := range names {
		if got, want := canonicalHeaderKey([]byte(name)), textproto.CanonicalMIMEHeaderKey(name); got != want {
			t.Errorf("canonicalHeaderKey(%q) = %q, want %q", name, got, want)
		}
	}
	b := []byte("content-type")
	if n := testing.AllocsPerRun(100, func() { _ = canonicalHeaderKey(b) }); n != 0 {
		t.Errorf("a common name costs %v allocations, want 0", n)
	}
}

func TestHeaderValues(t *testing.T) {
	for _, v := range []string{"text/plain; charset=utf-8", "application/json", "text/plain; charset=UTF-8", "x", ""} {
		vs := headerValues([]byte(v))
		if len(vs) != 1 || vs[0] != v || cap(vs) != 1 {
			t.Errorf("headerValues(%q) = %q (cap %d), want [%q] with a capacity of 1", v, vs, cap(vs), v)
		}
	}
	// A shared slice is never written through: an Add copies it.
	h := textproto.MIMEHeader{}
	h["Content-Type"] = headerValues([]byte("application/json"))
	h.Add("Content-Type", "text/plain")
	if again := headerValues([]byte("application/json")); len(again) != 1 || again[0] != "application/json" {
		t.Fatalf("after an Add, the shared value is %q", again)
	}
	b := []byte("text/plain; charset=utf-8")
	if n := testing.AllocsPerRun(100, func() { _ = headerValues(b) }); n != 0 {
		t.Errorf("a common value costs %v allocations, want 0", n)
	}
}
