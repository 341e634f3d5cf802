package cdn

import (
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/wfn-dev/wfn/cache"
)

// Response headers the cache reads and, except Cache-Control, consumes.
const (
	hVercelCDNCacheControl = "Vercel-Cdn-Cache-Control"
	hCDNCacheControl       = "Cdn-Cache-Control"
	hCacheControl          = "Cache-Control"
	hVercelCacheTag        = "Vercel-Cache-Tag"
	hXVercelCache          = "X-Vercel-Cache"
)

// DefaultCacheControl is the Cache-Control a client receives when the CDN
// cached the response, and whenever the function left no directive for the
// browser.
const DefaultCacheControl = "public, max-age=0, must-revalidate"

// maxSMaxAge is the longest lifetime Vercel accepts (one year).
const maxSMaxAge = 31536000 * time.Second

// srcTagPrefix starts the implicit tag of every entry: the prefix and the
// request's URL path.
const srcTagPrefix = "wfn:src:"

// policy is what a response's cache headers say about storing it.
type policy struct {
	fresh time.Duration // s-maxage: HIT while the age is below
	swr   time.Duration // stale-while-revalidate after fresh
}

// ttl is the store's lifetime of the entry: fresh + swr in whole seconds.
func (p policy) ttl() time.Duration {
	return (p.fresh + p.swr + time.Second - 1).Truncate(time.Second)
}

// directive is one Cache-Control directive; value is "" without "=".
type directive struct{ name, value string }

// parseDirectives splits Cache-Control values into directives, names in
// lower case and quotes removed from values.
func parseDirectives(values []string) []directive {
	var ds []directive
	for _, v := range values {
		for part := range strings.SplitSeq(v, ",") {
			part = strings.TrimSpace(part)
			if part == "" {
				continue
			}
			name, value, _ := strings.Cut(part, "=")
			ds = append(ds, directive{
				name:  strings.ToLower(strings.TrimSpace(name)),
				value: strings.Trim(strings.TrimSpace(value), `"`),
			})
		}
	}
	return ds
}

// seconds parses a delta-seconds value; ok is false when it is not a
// non-negative integer. Values beyond a year are clamped to a year.
func seconds(v string) (time.Duration, bool) {
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 0 {
		return 0, false
	}
	return min(time.Duration(n)*time.Second, maxSMaxAge), true
}

// decide reads the response's cache policy. The first header present of
// Vercel-CDN-Cache-Control, CDN-Cache-Control and Cache-Control is the
// only one read. A non-empty reason says why the response is not cached.
func decide(status int, h http.Header) (p policy, reason string) {
	switch status {
	case http.StatusOK, http.StatusNotFound, http.StatusMovedPermanently, http.StatusPermanentRedirect:
	default:
		return p, "status " + strconv.Itoa(status)
	}
	if _, ok := h["Set-Cookie"]; ok {
		return p, "Set-Cookie in the response"
	}
	for _, d := range parseDirectives(h.Values("Vary")) {
		if d.name == "*" || d.name == "cookie" {
			return p, "Vary: " + d.name
		}
	}
	name, cdn := hVercelCDNCacheControl, true
	if _, ok := h[name]; !ok {
		name = hCDNCacheControl
		if _, ok := h[name]; !ok {
			name, cdn = hCacheControl, false
		}
	}
	var maxAge, sMaxAge time.Duration
	var hasMaxAge, hasSMaxAge bool
	for _, d := range parseDirectives(h.Values(name)) {
		switch d.name {
		case "private", "no-store", "no-cache":
			return p, name + ": " + d.name
		case "s-maxage":
			sMaxAge, hasSMaxAge = seconds(d.value)
		case "max-age":
			maxAge, hasMaxAge = seconds(d.value)
		case "stale-while-revalidate":
			p.swr, _ = seconds(d.value)
		}
	}
	switch {
	case hasSMaxAge:
		p.fresh = sMaxAge
	case hasMaxAge && cdn:
		p.fresh = maxAge
	}
	if p.fresh <= 0 {
		return p, "no positive s-maxage"
	}
	if n := h.Get("Content-Length"); n != "" {
		if _, err := strconv.ParseUint(n, 10, 63); err != nil {
			return p, "bad Content-Length"
		}
	}
	return p, ""
}

// clientHeader turns the function's response header into the one a client
// receives: the CDN-only headers and directives are consumed, and a
// Cache-Control left without a directive for the browser becomes
// DefaultCacheControl.
// Header values shared by every response; net/http never changes a value
// slice in place, and Header.Add appends to a copy (their capacity is 1).
var (
	defaultCacheControl = []string{DefaultCacheControl}
	labels              = map[string][]string{Miss: {Miss}, Hit: {Hit}, Stale: {Stale}, Revalidated: {Revalidated}, Bypass: {Bypass}}
)

func clientHeader(h http.Header) {
	delete(h, hVercelCDNCacheControl)
	delete(h, hCDNCacheControl)
	delete(h, hVercelCacheTag)
	cc, ok := h[hCacheControl]
	if !ok {
		h[hCacheControl] = defaultCacheControl
		return
	}
	var kept []string
	browser := false
	for _, d := range parseDirectives(cc) {
		switch d.name {
		case "s-maxage", "stale-while-revalidate":
			continue
		case "public":
		default:
			browser = true
		}
		if d.value == "" {
			kept = append(kept, d.name)
		} else {
			kept = append(kept, d.name+"="+d.value)
		}
	}
	if !browser {
		h[hCacheControl] = defaultCacheControl
		return
	}
	h[hCacheControl] = []string{strings.Join(kept, ", ")}
}

// headerTags returns the tags of the Vercel-Cache-Tag header values.
func headerTags(h http.Header) []string {
	var tags []string
	for _, v := range h.Values(hVercelCacheTag) {
		for t := range strings.SplitSeq(v, ",") {
			if t = strings.TrimSpace(t); t != "" {
				tags = append(tags, t)
			}
		}
	}
	return tags
}

// entryTags merges the header's and the origin's tags with the implicit
// source tag of path. A non-empty reason says why the set cannot be
// stored: over cache.MaxTags tags in all (the implicit one included), a
// tag over cache.MaxTagSize bytes, an empty tag or one with a comma.
func entryTags(path string, header, origin []string) (tags []string, reason string) {
	tags = make([]string, 0, len(header)+len(origin)+1)
	seen := make(map[string]bool, cap(tags))
	for _, list := range [][]string{header, origin} {
		for _, t := range list {
			switch {
			case t == "":
				return nil, "empty cache tag"
			case strings.Contains(t, ","):
				return nil, "cache tag " + strconv.Quote(t) + " contains a comma"
			case len(t) > cache.MaxTagSize:
				return nil, "cache tag of " + strconv.Itoa(len(t)) + " bytes, over " + strconv.Itoa(cache.MaxTagSize)
			case seen[t]:
				continue
			}
			seen[t] = true
			tags = append(tags, t)
		}
	}
	src := SrcTag(path)
	if !seen[src] {
		tags = append(tags, src)
	}
	if len(tags) > cache.MaxTags {
		return nil, strconv.Itoa(len(tags)-1) + " cache tags, over " + strconv.Itoa(cache.MaxTags-1)
	}
	return tags, ""
}

// SrcTag is the implicit tag of every entry stored for a request to the URL
// path p: "wfn:src:" and p, or "wfn:src#" and the hex SHA-256 of p when
// that would exceed cache.MaxTagSize bytes. src may also be an absolute
// URL, whose path is used; a missing leading slash is added.
func SrcTag(src string) string {
	p := src
	if u, err := url.Parse(src); err == nil && u.Scheme != "" && u.Host != "" {
		p = u.Path
	}
	if !strings.HasPrefix(p, "/") {
		p = "/" + p
	}
	if len(srcTagPrefix)+len(p) <= cache.MaxTagSize {
		return srcTagPrefix + p
	}
	sum := sha256.Sum256([]byte(p))
	return "wfn:src#" + hex.EncodeToString(sum[:])
}

// requestNoCache reports a request Cache-Control: no-cache or Pragma:
// no-cache.
func requestNoCache(r *http.Request) bool {
	for _, d := range parseDirectives(r.Header.Values("Pragma")) {
		if d.name == "no-cache" {
			return true
		}
	}
	for _, d := range parseDirectives(r.Header.Values(hCacheControl)) {
		if d.name == "no-cache" {
			return true
		}
	}
	return false
}

// bypass reports why r must not be answered from or stored in the cache,
// or "".
func bypass(r *http.Request) string {
	switch {
	case r.Method != http.MethodGet && r.Method != http.MethodHead:
		return "method " + r.Method
	case r.Header.Get("Authorization") != "":
		return "Authorization"
	case r.Header.Get("Range") != "":
		return "Range"
	}
	if r.URL.RawQuery != "" && strings.Contains(r.URL.RawQuery, "_vercel_no_cache") &&
		r.URL.Query().Get("_vercel_no_cache") == "1" {
		return "_vercel_no_cache query parameter"
	}
	if r.Header.Get("Cookie") != "" {
		if c, err := r.Cookie("_vercel_no_cache"); err == nil && c.Value == "1" {
			return "_vercel_no_cache cookie"
		}
	}
	return ""
}

// Encodings the cache produces.
const (
	encIdentity = iota
	encGzip
	encZstd
	numEnc
)

var encNames = [numEnc]string{"", "gzip", "zstd"}

// acceptable returns which of gzip and zstd the Accept-Encoding header
// accepts: listed (or matched by "*") with a q above 0.
func acceptable(r *http.Request) (gzip, zstd bool) {
	var star, gzipSet, zstdSet bool
	for _, v := range r.Header.Values("Accept-Encoding") {
		for part := range strings.SplitSeq(v, ",") {
			coding, params, _ := strings.Cut(part, ";")
			coding = strings.ToLower(strings.TrimSpace(coding))
			ok := true
			for p := range strings.SplitSeq(params, ";") {
				k, val, _ := strings.Cut(p, "=")
				if strings.EqualFold(strings.TrimSpace(k), "q") {
					q, err := strconv.ParseFloat(strings.TrimSpace(val), 64)
					ok = err == nil && q > 0
				}
			}
			switch coding {
			case "gzip", "x-gzip":
				gzip, gzipSet = ok, true
			case "zstd":
				zstd, zstdSet = ok, true
			case "*":
				star = ok
			}
		}
	}
	if !gzipSet {
		gzip = star
	}
	if !zstdSet {
		zstd = star
	}
	return gzip, zstd
}

// compressible reports whether a response with header h is worth
// compressing: a textual Content-Type and no Content-Encoding.
func compressible(h http.Header) bool {
	if h.Get("Content-Encoding") != "" {
		return false
	}
	ct := h.Get("Content-Type")
	if i := strings.IndexByte(ct, ';'); i >= 0 {
		ct = ct[:i]
	}
	ct = strings.ToLower(strings.TrimSpace(ct))
	switch {
	case strings.HasPrefix(ct, "text/"),
		strings.HasSuffix(ct, "+json"), strings.HasSuffix(ct, "+xml"):
		return true
	}
	switch ct {
	case "application/json", "application/javascript", "application/x-javascript",
		"application/ecmascript", "application/xml", "application/wasm",
		"application/manifest+json", "application/x-ndjson", "application/graphql-response+json",
		"image/svg+xml", "image/x-icon", "image/vnd.microsoft.icon", "image/bmp",
		"font/ttf", "font/otf", "application/vnd.ms-fontobject":
		return true
	}
	return false
}
