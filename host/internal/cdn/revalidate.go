package cdn

import (
	"maps"
	"net/http"
	"slices"
	"time"
)

// notUpdated are the fields of a stored response that a 304 does not
// replace: Content-Length (RFC 9111 section 3.2), those the stored body
// depends on (its coding, range and digest), its ETag, which a 304
// validating it repeats, and Vary, which places the entry among the URL's
// variants.
var notUpdated = []string{"Content-Length", "Content-Encoding", "Content-Range", "Content-Md5", "Etag", "Vary"}

// conditional is r as the origin receives it to validate the stored entry
// e: the client's preconditions replaced by If-None-Match with e's ETag
// and If-Modified-Since with its Last-Modified, those it has (RFC 9111
// section 4.3.1). The client's preconditions are evaluated by the cache,
// against the entry that answers it.
func conditional(r *http.Request, e *entry) *http.Request {
	out := r.Clone(r.Context())
	for _, h := range []string{hIfMatch, hIfNoneMatch, hIfModifiedSince, hIfUnmodifiedSince, "If-Range"} {
		delete(out.Header, h)
	}
	if v := e.headerValue("Etag"); v != "" {
		out.Header[hIfNoneMatch] = []string{v}
	}
	if v := e.headerValue("Last-Modified"); v != "" {
		out.Header[hIfModifiedSince] = []string{v}
	}
	return out
}

// refresh makes the entry of old.e updated by the 304 (Not Modified) that
// rw recorded, with its store value and tags (RFC 9111 section 4.3.4): the
// 304's fields replace the stored ones of the same name, except
// [notUpdated] and those never stored, and its cache header, when it has
// one, gives the new lifetimes; without one the stored lifetimes start
// again. value is nil when the updated entry cannot be stored; it still
// answers the request.
func (c *Cache) refresh(rw *recorder, old *stale, originTags []string) (e *entry, value []byte, tags []string) {
	update := rw.header.Clone()
	_, hasCC := update[hCacheControl]
	clientHeader(update)
	if !hasCC {
		delete(update, hCacheControl) // the stored one stays
	}
	dropUnstored(update)
	for _, k := range notUpdated {
		delete(update, k)
	}
	h := make(http.Header, len(old.e.header)+len(update))
	for _, f := range old.e.header {
		h[f.name] = f.values
	}
	maps.Copy(h, update)

	e = new(entry)
	*e = *old.e
	e.header = fields(h)
	e.validators = false
	e.setValidators()
	pol, reason := refreshPolicy(rw.c.rules, old.e, rw.header)
	e.pol = pol
	if reason == "" {
		tags, reason = entryTags(rw.r.URL.Path, append(slices.Clip(old.tags), headerTags(rw.header)...), originTags)
	}
	if reason == "" {
		if value = e.fit(); value == nil {
			reason = "entry over cache.MaxValueSize"
		}
	}
	if reason != "" {
		c.log.Debug("cdn: refreshed response not cached", "key", rw.key, "reason", reason)
		return e, nil, nil
	}
	return e, value, tags
}

// refreshPolicy is the policy of the stored entry e refreshed by a 304
// with header h, under rules: that of h's cache header when it has one (decide), else
// e's lifetimes counted from the 304, which may carry an Age (RFC 9111
// section 4.3.4). A non-empty reason says why the entry is not stored
// again.
func refreshPolicy(rules Rules, e *entry, h http.Header) (policy, string) {
	if _, ok := h["Set-Cookie"]; ok {
		return e.pol, "Set-Cookie in the 304 response"
	}
	for _, name := range []string{hVercelCDNCacheControl, hCDNCacheControl, hCacheControl} {
		if _, ok := h[name]; ok {
			return decide(rules, e.status, h, time.Now())
		}
	}
	return arrived(e.pol, h)
}
