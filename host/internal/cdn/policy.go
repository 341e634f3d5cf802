package cdn

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/dunglas/httpsfv"

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
	sie   time.Duration // stale-if-error after fresh
	age   time.Duration // the response's Age when it arrived (RFC 9111 section 4.2.3)
}

// ttl is the store's lifetime of the entry: fresh + the longest of swr,
// sie and keep - age, in whole seconds, and at least one second. keep is
// how long an entry that can be revalidated stays stored past its
// lifetime (Options.KeepStale), 0 for one that cannot.
func (p policy) ttl(keep time.Duration) time.Duration {
	d := p.fresh + max(p.swr, p.sie, keep) - p.age
	return max((d + time.Second - 1).Truncate(time.Second), time.Second)
}

// directive is one Cache-Control directive; value is "" without "=".
type directive struct {
	name, value string
	bare        bool // no value at all (not an empty one)
}

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
			name, value, hasValue := strings.Cut(part, "=")
			ds = append(ds, directive{
				name:  strings.ToLower(strings.TrimSpace(name)),
				value: strings.Trim(strings.TrimSpace(value), `"`),
				bare:  !hasValue,
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

// defaultSWR is the stale-while-revalidate window of a bare
// stale-while-revalidate directive (no value): a year, the longest lifetime
// Vercel accepts (see RATIONALE.md).
const defaultSWR = maxSMaxAge

// Rules names the rule set that decides which responses the cache stores
// and for how long.
type Rules string

// Rule sets.
const (
	// RulesVercel are Vercel's CDN rules (the default): in Cache-Control
	// only s-maxage gives a lifetime; max-age is for browsers and Expires
	// is not read (vercel.com/docs/caching/cache-control-headers).
	RulesVercel Rules = "vercel"
	// RulesRFC9111 make the cache an RFC 9111 shared cache: in
	// Cache-Control s-maxage, then max-age, then Expires minus Date give
	// the lifetime (RFC 9111 section 4.2.1). The CDN-targeted fields still
	// take precedence over both (RFC 9213 section 2.2).
	RulesRFC9111 Rules = "rfc9111"
)

// ParseRules returns the rule set named s ("" is RulesVercel), or an
// error naming the valid ones.
func ParseRules(s string) (Rules, error) {
	switch r := Rules(s); r {
	case "", RulesVercel:
		return RulesVercel, nil
	case RulesRFC9111:
		return r, nil
	}
	return "", fmt.Errorf("CDN rules %q: want %s or %s", s, RulesVercel, RulesRFC9111)
}

// decide reads the response's cache policy under rules, at now (the time
// the response arrived). The first header present and valid of
// Vercel-CDN-Cache-Control, CDN-Cache-Control and Cache-Control is the
// only one read; the two targeted ones are structured-field dictionaries
// (RFC 9213 section 2.1), ignored when they do not parse. The lifetime is
// freshness's. A non-empty reason says why the response is not cached.
func decide(rules Rules, status int, h http.Header, now time.Time) (p policy, reason string) {
	if !storable(rules, status) {
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
	name, cdn := hCacheControl, false
	var ds []directive
	for _, target := range []string{hVercelCDNCacheControl, hCDNCacheControl} {
		if vs, ok := h[target]; ok {
			if parsed, ok := targetedDirectives(vs); ok {
				name, cdn, ds = target, true, parsed
				break
			}
		}
	}
	if !cdn {
		ds = parseDirectives(h.Values(name))
	}
	for _, d := range ds {
		switch d.name {
		case "private", "no-store", "no-cache":
			return p, name + ": " + d.name
		case "must-understand":
			// RFC 9111 section 5.2.2.3: only status codes the cache
			// understands are stored.
			if rules == RulesRFC9111 && !understood[status] {
				return p, name + ": must-understand with status " + strconv.Itoa(status)
			}
		case "stale-while-revalidate":
			if d.bare {
				p.swr = defaultSWR
			} else {
				p.swr, _ = seconds(d.value)
			}
		case "stale-if-error":
			p.sie, _ = seconds(d.value)
		}
	}
	p.fresh = freshness(rules, ds, cdn, h, now)
	if p.fresh <= 0 {
		if rules == RulesRFC9111 {
			return p, "no positive freshness lifetime"
		}
		return p, "no positive s-maxage"
	}
	if p, reason = arrived(p, h); reason != "" {
		return p, reason
	}
	if n := h.Get("Content-Length"); n != "" {
		if _, err := strconv.ParseUint(n, 10, 63); err != nil {
			return p, "bad Content-Length"
		}
	}
	return p, ""
}

// storable reports whether a response of the given status may be stored
// under rules. Vercel's CDN stores 200, 404, 301 and 308 (shared/VERCEL.md).
// An RFC 9111 shared cache may store any final status given explicit
// freshness (RFC 9111 section 3), which decide then requires; 206 and 304
// are left out, as this cache neither combines partial content (section
// 3.4) nor stores a 304 as a response.
func storable(rules Rules, status int) bool {
	switch status {
	case http.StatusOK, http.StatusNotFound, http.StatusMovedPermanently, http.StatusPermanentRedirect:
		return true
	case http.StatusPartialContent, http.StatusNotModified:
		return false
	}
	return rules == RulesRFC9111 && status >= 200 && status <= 599
}

// understood are the status codes RFC 9110 section 15 defines, which the
// cache understands for must-understand (RFC 9111 section 5.2.2.3).
var understood = map[int]bool{
	200: true, 201: true, 202: true, 203: true, 204: true, 205: true, 206: true,
	300: true, 301: true, 302: true, 303: true, 304: true, 305: true, 307: true, 308: true,
	400: true, 401: true, 402: true, 403: true, 404: true, 405: true, 406: true, 407: true,
	408: true, 409: true, 410: true, 411: true, 412: true, 413: true, 414: true, 415: true,
	416: true, 417: true, 421: true, 422: true, 426: true,
	500: true, 501: true, 502: true, 503: true, 504: true, 505: true,
}

// freshness is the freshness lifetime of a response with header h and
// cache directives ds, read from a CDN-targeted field when cdn, under
// rules, at now (when the response arrived); 0 or less means none. In a
// targeted field s-maxage, then max-age, count (RFC 9213 section 2.1),
// and Cache-Control and Expires are ignored (section 2.2). In
// Cache-Control, s-maxage counts; under RulesRFC9111, then max-age, then
// Expires minus Date (Date absent or invalid: now), an invalid Expires
// meaning already expired (RFC 9111 sections 4.2.1 and 5.3). Lifetimes
// are clamped to a year.
func freshness(rules Rules, ds []directive, cdn bool, h http.Header, now time.Time) time.Duration {
	var maxAge, sMaxAge time.Duration
	var hasMaxAge, hasSMaxAge bool
	for _, d := range ds {
		switch d.name {
		case "s-maxage":
			sMaxAge, hasSMaxAge = seconds(d.value)
		case "max-age":
			maxAge, hasMaxAge = seconds(d.value)
		}
	}
	rfc := rules == RulesRFC9111
	switch {
	case hasSMaxAge:
		return sMaxAge
	case hasMaxAge && (cdn || rfc):
		return maxAge
	case cdn || !rfc:
		return 0
	}
	vs, ok := h["Expires"]
	if !ok {
		return 0
	}
	expires, err := http.ParseTime(strings.TrimSpace(vs[0]))
	if err != nil {
		return 0
	}
	date, err := http.ParseTime(strings.TrimSpace(h.Get("Date")))
	if err != nil {
		date = now
	}
	return min(expires.Sub(date), maxSMaxAge)
}

// arrived sets p.age from the Age of a response with header h; reason is
// not empty when the Age is invalid or the response is stale already.
//
// RFC 9111 section 4.2.3: the response is already that old. An Age that
// is not delta-seconds (section 1.2.2), or that has more than one member
// (a comma, or more than one field line), makes the response stale: Age
// is a singleton field, and one sent with several members is an error
// worth detecting (RFC 9110 section 5.5). RFC 9111 section 5.1 says a
// cache should use the first member of a list and ignore an invalid
// value; both are "should"s, and a cache that cannot tell how old a
// response is does not serve it as fresh (RATIONALE.md).
func arrived(p policy, h http.Header) (_ policy, reason string) {
	p.age = 0
	vs := h.Values("Age")
	if vs == nil {
		return p, ""
	}
	v := strings.TrimSpace(vs[0])
	age, ok := seconds(v)
	if !ok || len(vs) > 1 || strings.TrimLeft(v, "0123456789") != "" {
		return p, "invalid Age " + strconv.Quote(strings.Join(vs, ", "))
	}
	if p.age = age; p.age >= p.fresh {
		return p, "stale on arrival (Age " + v + ")"
	}
	return p, ""
}

// targetedDirectives parses a CDN-Cache-Control or
// Vercel-CDN-Cache-Control value as the structured-field dictionary RFC
// 9213 section 2.1 defines; ok is false when it does not parse, and the
// field is then ignored. An integer becomes its decimal value, true (a
// bare directive) an empty bare one; a directive of another type keeps a
// value no directive accepts, so it counts as present but gives no
// number.
func targetedDirectives(values []string) (ds []directive, ok bool) {
	dict, err := httpsfv.UnmarshalDictionary(values)
	if err != nil {
		return nil, false
	}
	for _, name := range dict.Names() {
		m, _ := dict.Get(name)
		d := directive{name: name, value: "\x00"}
		if item, ok := m.(httpsfv.Item); ok {
			switch v := item.Value.(type) {
			case int64:
				d.value = strconv.FormatInt(v, 10)
			case bool:
				if v {
					d.value, d.bare = "", true
				}
			}
		}
		ds = append(ds, d)
	}
	return ds, true
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
	// The fields are read by their canonical names, as Header.Values
	// reads them, without canonicalising the names on every request.
	for _, d := range parseDirectives(r.Header["Pragma"]) {
		if d.name == "no-cache" {
			return true
		}
	}
	for _, d := range parseDirectives(r.Header[hCacheControl]) {
		if d.name == "no-cache" {
			return true
		}
	}
	return false
}

// headerField is h.Get(name) for a name already in canonical form, without
// canonicalising it again.
func headerField(h http.Header, name string) string {
	if vs := h[name]; len(vs) > 0 {
		return vs[0]
	}
	return ""
}

// bypass reports why r must not be answered from or stored in the cache,
// or "".
func bypass(r *http.Request) string {
	switch {
	case r.Method != http.MethodGet && r.Method != http.MethodHead:
		return "method " + r.Method
	case headerField(r.Header, "Authorization") != "":
		return "Authorization"
	case headerField(r.Header, "Range") != "":
		return "Range"
	}
	if r.URL.RawQuery != "" && strings.Contains(r.URL.RawQuery, "_vercel_no_cache") &&
		r.URL.Query().Get("_vercel_no_cache") == "1" {
		return "_vercel_no_cache query parameter"
	}
	if headerField(r.Header, "Cookie") != "" {
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
	return accepts(r.Header, "gzip"), accepts(r.Header, "zstd")
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

// varyNames returns the request header names a response with header h
// varies on, in lower case, sorted and without duplicates: those its Vary
// lists (decide has refused * and Cookie), and Accept-Encoding when the
// origin encoded the body itself, listed or not, so that the body only
// reaches clients that accept its coding.
func varyNames(h http.Header) []string {
	var names []string
	for _, d := range parseDirectives(h.Values("Vary")) {
		names = append(names, d.name)
	}
	if originEncoding(h) != "" {
		names = append(names, "accept-encoding")
	}
	slices.Sort(names)
	return slices.Compact(names)
}

// originEncoding returns the content coding of a body the origin encoded
// itself, in lower case, or "" for an unencoded (identity) body.
func originEncoding(h http.Header) string {
	ce := strings.ToLower(strings.TrimSpace(h.Get("Content-Encoding")))
	if ce == "identity" {
		return ""
	}
	return ce
}

// caseInsensitive are the request headers whose values compare without
// regard to case outside quoted strings: media types, charsets and
// language tags (RFC 9110 sections 8.3.1, 8.3.2, 8.5.1 and 12.5).
var caseInsensitive = map[string]bool{"accept": true, "accept-charset": true, "accept-language": true}

// variantID identifies the variant of a request among the responses that
// vary on names (see varyNames): the hex SHA-256, truncated to 128 bits,
// of the normalised values of those request headers. Values are
// normalised as RFC 9111 section 4.1 allows: field lines are combined,
// whitespace around list members and runs of whitespace outside quoted
// strings are reduced, tokens of case-insensitive fields are lowered, and
// Accept-Encoding becomes the sorted set of codings it accepts (q above
// 0). An absent header differs from an empty one.
func variantID(names []string, h http.Header) string {
	sum := sha256.New()
	var b []byte
	for _, n := range names {
		b = append(b[:0], n...)
		vs := h.Values(n)
		if vs == nil {
			b = append(b, 0)
		} else {
			b = append(b, ':')
			if n == "accept-encoding" {
				b = append(b, strings.Join(acceptedCodings(vs), ",")...)
			} else {
				b = appendNormalised(b, vs, caseInsensitive[n])
			}
		}
		b = append(b, '\n')
		sum.Write(b)
	}
	return hex.EncodeToString(sum.Sum(nil)[:16])
}

// appendNormalised appends the field lines vs combined into one value,
// with the whitespace around commas and at the ends removed, other runs of
// whitespace turned into one space, and, when fold, letters in lower
// case; quoted strings are kept as they are.
func appendNormalised(b []byte, vs []string, fold bool) []byte {
	for i, v := range vs {
		if i > 0 {
			b = append(b, ',')
		}
		quoted, escaped, space := false, false, false
		start := len(b)
		for j := 0; j < len(v); j++ {
			c := v[j]
			switch {
			case quoted:
				b = append(b, c)
				switch {
				case escaped:
					escaped = false
				case c == '\\':
					escaped = true
				case c == '"':
					quoted = false
				}
				continue
			case c == ' ' || c == '\t':
				space = true
				continue
			case c == ',':
				space = false
			case space:
				if len(b) > start && b[len(b)-1] != ',' {
					b = append(b, ' ')
				}
				space = false
			}
			if c == '"' {
				quoted = true
			} else if fold && 'A' <= c && c <= 'Z' {
				c += 'a' - 'A'
			}
			b = append(b, c)
		}
	}
	return b
}

// acceptedCodings returns the content codings an Accept-Encoding header
// accepts (q above 0), in lower case, sorted, without duplicates, x-gzip
// as gzip.
func acceptedCodings(values []string) []string {
	var codings []string
	for _, v := range values {
		for part := range strings.SplitSeq(v, ",") {
			coding, ok := codingQ(part)
			if ok && coding != "" {
				codings = append(codings, coding)
			}
		}
	}
	slices.Sort(codings)
	return slices.Compact(codings)
}

// codingQ parses one member of Accept-Encoding: its coding in lower case
// (x-gzip as gzip) and whether its q is above 0.
func codingQ(part string) (coding string, ok bool) {
	coding, params, _ := strings.Cut(part, ";")
	coding = strings.ToLower(strings.TrimSpace(coding))
	if coding == "x-gzip" {
		coding = "gzip"
	}
	ok = true
	for p := range strings.SplitSeq(params, ";") {
		k, val, _ := strings.Cut(p, "=")
		if strings.EqualFold(strings.TrimSpace(k), "q") {
			q, err := strconv.ParseFloat(strings.TrimSpace(val), 64)
			ok = err == nil && q > 0
		}
	}
	return coding, ok
}

// accepts reports whether the Accept-Encoding of h accepts coding (in
// lower case): listed, or matched by "*", with a q above 0 (RFC 9110
// section 12.5.3). A request without Accept-Encoding accepts no coding
// here: a shared cache must not guess.
func accepts(h http.Header, coding string) bool {
	if coding == "x-gzip" {
		coding = "gzip"
	}
	var star, starSet bool
	for _, v := range h.Values("Accept-Encoding") {
		for part := range strings.SplitSeq(v, ",") {
			c, ok := codingQ(part)
			switch c {
			case coding:
				return ok
			case "*":
				star, starSet = ok, true
			}
		}
	}
	return starSet && star
}
