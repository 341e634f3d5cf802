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
