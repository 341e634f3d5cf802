package vroute

import (
	"fmt"
	"regexp"
	"strings"
)

// Route is one entry of Vercel's route table, in the shape
// @vercel/routing-utils gives it (its Route type; JSON names as there).
type Route struct {
	// Handle marks the start of a phase ("filesystem"); the other fields
	// are then empty.
	Handle string `json:"handle,omitempty"`
	// Src is a regular expression (JavaScript syntax) matched against the
	// request path.
	Src     string            `json:"src,omitempty"`
	Dest    string            `json:"dest,omitempty"`
	Headers map[string]string `json:"headers,omitempty"`
	Status  int               `json:"status,omitempty"`
	// Continue lets later routes match too (headers).
	Continue bool `json:"continue,omitempty"`
	// Check looks the destination up in the filesystem (rewrites).
	Check   bool        `json:"check,omitempty"`
	Has     []Condition `json:"has,omitempty"`
	Missing []Condition `json:"missing,omitempty"`
}

// unnamed is routing-utils' name for an unnamed source group.
const unnamed = "__UN_NAMED_SEGMENT__"

// Routes returns the route table of c, as routing-utils'
// getTransformedRoutes builds it, or an error naming the entry that
// cannot be converted. The table is nil when c routes nothing.
func (c Config) Routes() ([]Route, error) {
	if c.Empty() {
		return nil, nil
	}
	var rs []Route
	if c.CleanURLs != nil && *c.CleanURLs {
		loc := "/$1"
		if c.TrailingSlash != nil && *c.TrailingSlash {
			loc = "/$1/"
		}
		rs = append(rs,
			Route{Src: `^/(?:(.+)/)?index(?:\.html)?/?$`, Headers: map[string]string{"Location": loc}, Status: 308},
			Route{Src: `^/(.*)\.html/?$`, Headers: map[string]string{"Location": loc}, Status: 308})
	}
	if c.TrailingSlash != nil {
		if *c.TrailingSlash {
			rs = append(rs,
				Route{Src: `^/\.well-known(?:/.*)?$`},
				Route{Src: `^/((?:[^/]+/)*[^/\.]+)$`, Headers: map[string]string{"Location": "/$1/"}, Status: 308},
				Route{Src: `^/((?:[^/]+/)*[^/]+\.\w+)/$`, Headers: map[string]string{"Location": "/$1"}, Status: 308})
		} else {
			rs = append(rs, Route{Src: `^/(.*)/$`, Headers: map[string]string{"Location": "/$1"}, Status: 308})
		}
	}
	if err := c.required(); err != nil {
		return nil, err
	}
	for i, r := range c.Redirects {
		src, segs, err := sourceRegexp(r.Source)
		if err != nil {
			return nil, fmt.Errorf("%w: redirects[%d]: source %q: %w", ErrInvalid, i, r.Source, err)
		}
		if r.Permanent != nil && r.StatusCode != 0 {
			return nil, fmt.Errorf("%w: redirects[%d]: cannot define both permanent and statusCode", ErrInvalid, i)
		}
		hasSegs := hasSegments(r.Has)
		if err := checkDestination(segs, hasSegs, r.Destination); err != nil {
			return nil, fmt.Errorf("%w: redirects[%d]: %w", ErrInvalid, i, err)
		}
		loc, err := replaceSegments(segs, hasSegs, r.Destination, true)
		if err != nil {
			return nil, fmt.Errorf("%w: redirects[%d]: destination %q: %w", ErrInvalid, i, r.Destination, err)
		}
		status := 308
		switch {
		case r.Permanent != nil && !*r.Permanent:
			status = 307
		case r.Permanent != nil:
		case r.StatusCode != 0:
			status = r.StatusCode
		}
		rs = append(rs, Route{Src: src, Headers: map[string]string{"Location": loc}, Status: status,
			Has: normalizeHas(r.Has), Missing: normalizeHas(r.Missing)})
	}
	for i, h := range c.Headers {
		src, segs, err := sourceRegexp(h.Source)
		if err != nil {
			return nil, fmt.Errorf("%w: headers[%d]: source %q: %w", ErrInvalid, i, h.Source, err)
		}
		hasSegs := hasSegments(h.Has)
		idx := indexes(segs, hasSegs)
		named := len(hasSegs) > 0
		for _, s := range segs {
			named = named || s != ""
		}
		out := make(map[string]string, len(h.Headers))
		for _, kv := range h.Headers {
			key, value := kv.Key, kv.Value
			if named && strings.Contains(key, ":") {
				key = safelyCompile(key, idx, false)
			}
			if named && strings.Contains(value, ":") {
				value = safelyCompile(value, idx, false)
			}
			out[key] = value
		}
		rs = append(rs, Route{Src: src, Headers: out, Continue: true,
			Has: normalizeHas(h.Has), Missing: normalizeHas(h.Missing)})
	}
	if c.Rewrites != nil {
		rs = append(rs, Route{Handle: "filesystem"})
	}
	for i, r := range c.Rewrites {
		src, segs, err := sourceRegexp(r.Source)
		if err != nil {
			return nil, fmt.Errorf("%w: rewrites[%d]: source %q: %w", ErrInvalid, i, r.Source, err)
		}
		hasSegs := hasSegments(r.Has)
		if err := checkDestination(segs, hasSegs, r.Destination); err != nil {
			return nil, fmt.Errorf("%w: rewrites[%d]: %w", ErrInvalid, i, err)
		}
		dest, err := replaceSegments(segs, hasSegs, r.Destination, false)
		if err != nil {
			return nil, fmt.Errorf("%w: rewrites[%d]: destination %q: %w", ErrInvalid, i, r.Destination, err)
		}
		rs = append(rs, Route{Src: src, Dest: dest, Check: true, Status: r.StatusCode,
			Has: normalizeHas(r.Has), Missing: normalizeHas(r.Missing)})
	}
	return rs, nil
}

// normalizeHas lower-cases header keys, as routing-utils does.
func normalizeHas(cs []Condition) []Condition {
	if cs == nil {
		return nil
	}
	out := make([]Condition, len(cs))
	for i, c := range cs {
		if c.Type == "header" {
			c.Key = strings.ToLower(c.Key)
		}
		out[i] = c
	}
	return out
}

var namedGroup = regexp.MustCompile(`\(\?<([a-zA-Z][a-zA-Z0-9_]*)>`)

// hasSegments lists the parameters a has list gives a destination: each
// key without a value, each named group of a regular expression (a string
// value or an object's re), and "host" for a host condition with one
// (routing-utils' collectHasSegments).
func hasSegments(has []Condition) []string {
	var out []string
	add := func(s string) {
		for _, o := range out {
			if o == s {
				return
			}
		}
		out = append(out, s)
	}
	for _, c := range has {
		if c.Value == "" && c.Ops == nil && c.Key != "" {
			add(c.Key)
		}
		if re := c.regexp(); re != "" {
			for _, m := range namedGroup.FindAllStringSubmatch(re, -1) {
				add(m[1])
			}
			if c.Type == "host" {
				add("host")
			}
		}
	}
	return out
}

// indexes maps each parameter to its reference in a destination: $1, $2
// for the source's groups by position, $name for a has parameter.
func indexes(segs, hasSegs []string) map[string]string {
	m := make(map[string]string, len(segs)+len(hasSegs))
	for i, s := range segs {
		if s == "" {
			s = unnamed
		}
		m[s] = fmt.Sprintf("$%d", i+1)
	}
	for _, s := range hasSegs {
		m[s] = "$" + s
	}
	return m
}

// checkDestination fails when the destination names a parameter that
// neither the source nor has gives (routing-utils' checkPatternSyntax).
func checkDestination(segs, hasSegs []string, dest string) error {
	known := map[string]bool{}
	for _, s := range append(slicesOfNames(segs), hasSegs...) {
		known[s] = true
	}
	for _, s := range segs {
		if s == "" {
			known[unnamed] = true
		}
	}
	u := parseURL(dest)
	parts := []string{u.hostname, u.pathname}
	for _, q := range u.query {
		parts = append(parts, q.values[0])
	}
	for _, p := range parts {
		_, names, err := sourceRegexp(p)
		if err != nil {
			continue
		}
		for _, n := range names {
			if n == "" {
				n = unnamed
			}
			if !known[n] {
				return fmt.Errorf("destination %q has segment \":%s\" that is not in source or has", dest, n)
			}
		}
	}
	return nil
}

// required checks what Vercel's schema requires of each entry: a source
// of 1 to 4096 characters, a destination, and headers with keys.
func (c Config) required() error {
	check := func(key string, i int, source string, dest *string) error {
		switch {
		case source == "" || len(source) > 4096:
			return fmt.Errorf("%w: %s[%d]: source must have 1 to 4096 characters", ErrInvalid, key, i)
		case dest != nil && *dest == "":
			return fmt.Errorf("%w: %s[%d]: destination is required", ErrInvalid, key, i)
		}
		return nil
	}
	for i, r := range c.Redirects {
		if err := check("redirects", i, r.Source, &r.Destination); err != nil {
			return err
		}
	}
	for i, r := range c.Rewrites {
		if err := check("rewrites", i, r.Source, &r.Destination); err != nil {
			return err
		}
	}
	for i, h := range c.Headers {
		if err := check("headers", i, h.Source, nil); err != nil {
			return err
		}
		for j, kv := range h.Headers {
			if kv.Key == "" {
				return fmt.Errorf("%w: headers[%d].headers[%d]: key is required", ErrInvalid, i, j)
			}
		}
	}
	return nil
}
