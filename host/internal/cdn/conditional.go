package cdn

import (
	"net/http"
	"strings"
	"time"
)

// Request headers that make a request conditional (RFC 9110 section 13.1).
const (
	hIfMatch           = "If-Match"
	hIfNoneMatch       = "If-None-Match"
	hIfModifiedSince   = "If-Modified-Since"
	hIfUnmodifiedSince = "If-Unmodified-Since"
)

// header returns the first value of the entry's header name (canonical),
// or "".
func (e *entry) headerValue(name string) string {
	for _, f := range e.header {
		if f.name == name && len(f.values) > 0 {
			return f.values[0]
		}
	}
	return ""
}

// precondition evaluates the preconditions of r against the validators of
// the stored response e, in the order of RFC 9110 section 13.2.2, and
// returns the status to answer with instead of e: 412 (Precondition
// Failed) or 304 (Not Modified), or 0 to send e. Only GET and HEAD reach
// here, and only for entries with an ETag or Last-Modified (e.validators):
// an entry without either is sent whole, whatever the preconditions. An If-Modified-Since or If-Unmodified-Since that is not an
// HTTP-date, or that e has no Last-Modified to compare with, is ignored.
func precondition(r *http.Request, e *entry) int {
	h := r.Header
	if h[hIfMatch] == nil && h[hIfNoneMatch] == nil && h[hIfModifiedSince] == nil && h[hIfUnmodifiedSince] == nil {
		return 0
	}
	etag := e.headerValue("Etag")
	if vs := h.Values(hIfMatch); vs != nil {
		if !matchETag(vs, etag, false) {
			return http.StatusPreconditionFailed
		}
	} else if v := h.Get(hIfUnmodifiedSince); v != "" {
		if since, lm, ok := dates(v, e.headerValue("Last-Modified")); ok && lm.After(since) {
			return http.StatusPreconditionFailed
		}
	}
	if vs := h.Values(hIfNoneMatch); vs != nil {
		if matchETag(vs, etag, true) {
			return http.StatusNotModified
		}
		return 0
	}
	if v := h.Get(hIfModifiedSince); v != "" {
		if since, lm, ok := dates(v, e.headerValue("Last-Modified")); ok && !lm.After(since) {
			return http.StatusNotModified
		}
	}
	return 0
}

// dates parses an If-(Un)Modified-Since value and a Last-Modified value;
// ok is false when either is missing or not an HTTP-date.
func dates(since, lastModified string) (s, lm time.Time, ok bool) {
	if lastModified == "" {
		return s, lm, false
	}
	s, err1 := http.ParseTime(since)
	lm, err2 := http.ParseTime(lastModified)
	return s, lm, err1 == nil && err2 == nil
}

// matchETag reports whether the entity-tag list of an If-Match (strong
// comparison) or If-None-Match (weak comparison) header matches etag
// (RFC 9110 section 8.8.3.2). "*" matches any stored response.
func matchETag(values []string, etag string, weak bool) bool {
	for _, v := range values {
		for len(v) > 0 {
			v = strings.TrimLeft(v, " \t,")
			if v == "" {
				break
			}
			if v[0] == '*' {
				return true
			}
			var tag string
			tag, v = nextETag(v)
			if tag == "" {
				break // not an entity-tag: give up on this line
			}
			if etag != "" && sameETag(tag, etag, weak) {
				return true
			}
		}
	}
	return false
}

// nextETag splits the entity-tag at the start of s from the rest.
func nextETag(s string) (tag, rest string) {
	i := 0
	if strings.HasPrefix(s, "W/") {
		i = 2
	}
	if i >= len(s) || s[i] != '"' {
		return "", ""
	}
	end := strings.IndexByte(s[i+1:], '"')
	if end < 0 {
		return "", ""
	}
	return s[:i+end+2], s[i+end+2:]
}

// sameETag compares two entity-tags: weakly, their opaque tags; strongly,
// also both must be strong.
func sameETag(a, b string, weak bool) bool {
	aw, bw := strings.HasPrefix(a, "W/"), strings.HasPrefix(b, "W/")
	if !weak && (aw || bw) {
		return false
	}
	return strings.TrimPrefix(a, "W/") == strings.TrimPrefix(b, "W/")
}
