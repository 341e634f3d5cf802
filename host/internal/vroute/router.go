package vroute

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/dlclark/regexp2"
)

// Router routes requests through a route table. It is safe for
// concurrent use.
type Router struct {
	pre  []compiled // before the filesystem: redirects and headers
	post []compiled // after it: rewrites
}

type compiled struct {
	Route
	re      matcher
	has     []cond
	missing []cond
}

type cond struct {
	Condition
	re matcher // nil without a value
}

// New builds the Router of c, or nil (which routes nothing) when c is
// empty. An error wraps ErrInvalid and names the entry: a source that is
// not path-to-regexp syntax, or a regular expression Go's regexp (RE2,
// which has no lookaround or backreferences) cannot compile.
func New(c Config) (*Router, error) {
	rs, err := c.Routes()
	if err != nil || rs == nil {
		return nil, err
	}
	return newRouter(rs)
}

func newRouter(rs []Route) (*Router, error) {
	rt := &Router{}
	phase := &rt.pre
	for i, r := range rs {
		if r.Handle == "filesystem" {
			phase = &rt.post
			continue
		}
		re, err := jsRegexp(r.Src, true)
		if err != nil {
			return nil, fmt.Errorf("%w: route %d: src %q: %w", ErrInvalid, i, r.Src, err)
		}
		c := compiled{Route: r, re: re}
		for _, list := range []struct {
			in  []Condition
			out *[]cond
		}{{r.Has, &c.has}, {r.Missing, &c.missing}} {
			for _, hc := range list.in {
				switch hc.Type {
				case "header", "cookie", "query":
					if hc.Key == "" {
						return nil, fmt.Errorf("%w: route %d: a %s condition needs a key", ErrInvalid, i, hc.Type)
					}
				case "host":
				default:
					return nil, fmt.Errorf("%w: route %d: condition type %q: want header, cookie, host or query", ErrInvalid, i, hc.Type)
				}
				cd := cond{Condition: hc}
				if v := hc.regexp(); v != "" {
					// Next.js's matchHas anchors the value as ^value$.
					if cd.re, err = jsRegexp("^"+v+"$", false); err != nil {
						return nil, fmt.Errorf("%w: route %d: %s value %q: %w", ErrInvalid, i, hc.Type, v, err)
					}
				}
				*list.out = append(*list.out, cd)
			}
		}
		*phase = append(*phase, c)
	}
	return rt, nil
}

// matcher is a compiled JavaScript regular expression.
type matcher interface {
	// find returns the match and its groups ("" when a group did not
	// take part), or nil.
	find(s string) []string
	// group returns the number of the named group, or 0.
	group(name string) int
	// names returns the name of each group, "" when unnamed.
	names() []string
}

// matchTimeout bounds one match of a backtracking expression.
const matchTimeout = 100 * time.Millisecond

// jsRegexp compiles a JavaScript regular expression (fold: case
// insensitive): with Go's regexp, linear in time, when it can (RE2
// syntax is the common part of both), else with regexp2 in its
// ECMAScript mode, which has lookaround and backreferences (a source
// such as /((?!api/).*) needs a negative lookahead), each match bounded
// by matchTimeout.
func jsRegexp(src string, fold bool) (matcher, error) {
	flags := ""
	if fold {
		flags = "(?i)"
	}
	if re, err := regexp.Compile(flags + src); err == nil {
		return re2{re}, nil
	}
	opts := regexp2.RegexOptions(regexp2.ECMAScript)
	if fold {
		opts |= regexp2.IgnoreCase
	}
	re, err := regexp2.Compile(src, opts)
	if err != nil {
		return nil, fmt.Errorf("not a JavaScript regular expression: %w", err)
	}
	re.MatchTimeout = matchTimeout
	return backtracking{re}, nil
}

type re2 struct{ *regexp.Regexp }

func (r re2) find(s string) []string { return r.FindStringSubmatch(s) }
func (r re2) group(name string) int  { return r.SubexpIndex(name) }
func (r re2) names() []string        { return r.SubexpNames() }

type backtracking struct{ *regexp2.Regexp }

func (r backtracking) find(s string) []string {
	m, err := r.FindStringMatch(s)
	if err != nil || m == nil {
		return nil // a timeout is no match
	}
	gs := m.Groups()
	out := make([]string, len(gs))
	for i, g := range gs {
		out[i] = g.String()
	}
	return out
}

func (r backtracking) group(name string) int {
	if n := r.GroupNumberFromName(name); n > 0 {
		return n
	}
	return 0
}

func (r backtracking) names() []string {
	nums := r.GetGroupNumbers()
	out := make([]string, len(nums))
	for i, n := range nums {
		if name := r.GroupNameFromNumber(n); name != strconv.Itoa(n) {
			out[i] = name
		}
	}
	return out
}

// Result is where a request goes.
type Result struct {
	// Status and Location are a redirect's, when Status is not 0.
	Status   int
	Location string
	// Header holds the headers of the matching headers entries that have
	// no has or missing: they depend on the path alone, so a cached
	// response may keep them. Nil when there are none.
	Header http.Header
	// CondHeader holds those of the matching entries with has or missing:
	// they depend on the request's headers, cookies, host or query, so
	// they belong to this response only and are never stored with a
	// cached one. Where both set a field, CondHeader's comes later and
	// wins. Nil when there are none.
	CondHeader http.Header
	// External is the absolute URL to proxy the request to, when not "".
	External string
	// RewriteStatus, when not 0, is the status of the response to a
	// rewritten request, whatever its destination answers (a rewrite's
	// statusCode).
	RewriteStatus int
	// Path (escaped) and RawQuery are what the filesystem serves when
	// neither Status nor External is set; Found reports whether exists
	// said it exists.
	Path     string
	RawQuery string
	Found    bool
}

// Route routes r: first the redirects and headers, then the filesystem
// (exists reports whether an escaped path is a static file or a
// function), then the rewrites, each checked against the filesystem,
// as Vercel's router does. A nil Router gives r's own path.
func (rt *Router) Route(r *http.Request, exists func(escapedPath string) bool) Result {
	// The header maps are made by the first entry that sets a field: most
	// requests match none, and pay for no map.
	res := Result{Path: r.URL.EscapedPath(), RawQuery: r.URL.RawQuery}
	if rt == nil {
		res.Found = exists(res.Path)
		return res
	}
	for _, c := range rt.pre {
		m, params, ok := c.match(r, res.Path)
		if !ok {
			continue
		}
		if c.Continue && (len(c.has) > 0 || len(c.missing) > 0) {
			setHeaders(&res.CondHeader, c.Headers, m, c.re, params)
			continue
		}
		for k := range c.Headers {
			res.CondHeader.Del(k) // this later entry wins
		}
		setHeaders(&res.Header, c.Headers, m, c.re, params)
		if c.Continue {
			continue
		}
		if c.Status != 0 {
			res.Status = c.Status
			res.Location = withQuery(res.Header.Get("Location"), r.URL.Query())
			res.Header.Del("Location")
		}
		break // a route without continue ends the phase
	}
	if res.Status != 0 {
		return res
	}
	if exists(res.Path) {
		res.Found = true
		return res
	}
	reqQuery := r.URL.Query()
	for _, c := range rt.post {
		m, params, ok := c.match(r, res.Path)
		if !ok {
			continue
		}
		setHeaders(&res.Header, c.Headers, m, c.re, params)
		dest := resolve(c.Dest, m, c.re, params)
		if isURL(dest) {
			u, err := url.Parse(dest)
			if err == nil {
				q := u.Query()
				for k, vs := range reqQuery {
					q[k] = vs
				}
				u.RawQuery = q.Encode()
				res.External, res.RewriteStatus = u.String(), c.Status
				return res
			}
		}
		if !strings.HasPrefix(dest, "/") {
			dest = "/" + dest
		}
		path, query, _ := strings.Cut(dest, "?")
		res.Path = path
		q, _ := url.ParseQuery(query)
		for k, vs := range reqQuery {
			q[k] = vs
		}
		res.RawQuery = q.Encode()
		if !c.Check || exists(path) {
			res.Found, res.RewriteStatus = exists(path), c.Status
			return res
		}
	}
	res.Found = exists(res.Path)
	return res
}

// AllHeader is Header with CondHeader laid over it: every header the
// routes add to this response.
func (res Result) AllHeader() http.Header {
	h := res.Header.Clone()
	if h == nil {
		h = http.Header{}
	}
	for k, vs := range res.CondHeader {
		h[k] = vs
	}
	return h
}

// withQuery adds the request's query to a redirect's location, its
// parameters replacing those of the same name: Vercel passes the query
// through redirects (the behaviour terraform-aws-next-js reproduces in
// its v0.12.2 "as Vercel handles it"; Vercel's router source is not
// public).
func withQuery(loc string, req url.Values) string {
	if len(req) == 0 || loc == "" {
		return loc
	}
	loc, frag, hasFrag := strings.Cut(loc, "#")
	path, query, _ := strings.Cut(loc, "?")
	q, _ := url.ParseQuery(query)
	for k, vs := range req {
		q[k] = vs
	}
	loc = path + "?" + q.Encode()
	if hasFrag {
		loc += "#" + frag
	}
	return loc
}

func isURL(s string) bool {
	return strings.HasPrefix(s, "http://") || strings.HasPrefix(s, "https://")
}

// match matches c against path (and path without its first character,
// as Vercel's router does) and c's conditions against r.
func (c *compiled) match(r *http.Request, path string) ([]string, map[string]string, bool) {
	m := c.re.find(path)
	if m == nil {
		if m = c.re.find(path[min(1, len(path)):]); m == nil {
			return nil, nil, false
		}
	}
	params := map[string]string{}
	for _, hc := range c.has {
		if !hc.match(r, params) {
			return nil, nil, false
		}
	}
	for _, hc := range c.missing {
		if hc.match(r, map[string]string{}) {
			return nil, nil, false
		}
	}
	return m, params, true
}

// match reports whether r satisfies the condition, and adds the
// parameters it gives to params (Next.js's matchHas).
func (c cond) match(r *http.Request, params map[string]string) bool {
	var v string
	var ok bool
	switch c.Type {
	case "header":
		vs := r.Header.Values(c.Key)
		v, ok = strings.Join(vs, ", "), len(vs) > 0
	case "cookie":
		if ck, err := r.Cookie(c.Key); err == nil {
			v, ok = ck.Value, true
		}
	case "query":
		if vs := r.URL.Query()[c.Key]; len(vs) > 0 {
			v, ok = vs[len(vs)-1], true
		}
	case "host":
		v = r.Host
		if h, _, err := net.SplitHostPort(v); err == nil {
			v = h
		}
		ok = v != ""
	}
	if !ok {
		return false
	}
	if c.Ops != nil && !c.Ops.hold(v) {
		return false
	}
	if c.re == nil {
		if c.Key != "" && c.Ops == nil {
			params[c.Key] = v
		}
		return true
	}
	m := c.re.find(v)
	if m == nil {
		return false
	}
	named := false
	for i, n := range c.re.names() {
		if n != "" {
			params[n] = m[i]
			named = true
		}
	}
	if !named && c.Type == "host" {
		params["host"] = m[0]
	}
	return true
}

// hold reports whether every operator but Re holds for v.
func (o *Operators) hold(v string) bool {
	switch eq := o.Eq.(type) {
	case string:
		if v != eq {
			return false
		}
	case float64:
		if n, ok := decimal(v); !ok || n != eq {
			return false
		}
	}
	if o.Neq != nil && v == *o.Neq ||
		o.Inc != nil && !slices.Contains(o.Inc, v) ||
		o.Ninc != nil && slices.Contains(o.Ninc, v) ||
		o.Pre != nil && !strings.HasPrefix(v, *o.Pre) ||
		o.Suf != nil && !strings.HasSuffix(v, *o.Suf) {
		return false
	}
	for _, c := range []struct {
		bound *float64
		holds func(n, b float64) bool
	}{
		{o.Gt, func(n, b float64) bool { return n > b }},
		{o.Gte, func(n, b float64) bool { return n >= b }},
		{o.Lt, func(n, b float64) bool { return n < b }},
		{o.Lte, func(n, b float64) bool { return n <= b }},
	} {
		if c.bound == nil {
			continue
		}
		if n, ok := decimal(v); !ok || !c.holds(n, *c.bound) {
			return false
		}
	}
	return true
}

var decimalRE = regexp.MustCompile(`^[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?$`)

// decimal reads v as a decimal number: digits with an optional sign,
// point and exponent (no hexadecimal, no Infinity, no spaces).
func decimal(v string) (float64, bool) {
	if !decimalRE.MatchString(v) {
		return 0, false
	}
	n, err := strconv.ParseFloat(v, 64)
	return n, err == nil || errors.Is(err, strconv.ErrRange)
}

var paramRef = regexp.MustCompile(`\$([1-9a-zA-Z]+)`)

// resolve replaces $1 and $name in s (Vercel's resolveRouteParameters),
// the has parameters first, then the named and numbered groups of m.
func resolve(s string, m []string, re matcher, params map[string]string) string {
	if !strings.Contains(s, "$") {
		return s
	}
	return paramRef.ReplaceAllStringFunc(s, func(ref string) string {
		name := ref[1:]
		if v, ok := params[name]; ok {
			return v
		}
		if i := re.group(name); i > 0 {
			return m[i]
		}
		// parseInt: the leading digits.
		end := 0
		for end < len(name) && name[end] >= '0' && name[end] <= '9' {
			end++
		}
		if i, err := strconv.Atoi(name[:end]); err == nil && i < len(m) {
			return m[i]
		}
		return ""
	})
}

func setHeaders(dst *http.Header, src map[string]string, m []string, re matcher, params map[string]string) {
	if len(src) > 0 && *dst == nil {
		*dst = make(http.Header, len(src))
	}
	for k, v := range src {
		dst.Set(k, resolve(v, m, re, params))
	}
}
