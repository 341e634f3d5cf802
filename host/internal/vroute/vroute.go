// Package vroute applies vercel.json's routing keys (redirects, rewrites,
// headers, cleanUrls, trailingSlash) the way Vercel does.
//
// Parse reads the keys; Config.Routes turns them into Vercel's route table,
// the one @vercel/routing-utils' getTransformedRoutes builds (the same
// regular expressions, destinations and order: cleanUrls and trailingSlash
// redirects, redirects, headers, the filesystem, rewrites); New compiles
// that table into a Router, which routes one request at a time
// (Router.Route) with the semantics of Vercel's router
// (packages/cli/src/util/dev/router.ts in vercel/vercel): route matching
// is case-insensitive, `$1` and `$name` in a destination take the source's
// captures and the named groups of `has` values, and a rewrite keeps the
// request's query.
package vroute

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
)

// ErrInvalid is wrapped by the errors of Parse and New.
var ErrInvalid = errors.New("wfn: invalid vercel.json routing")

// Config holds vercel.json's routing keys, with their JSON names
// (https://vercel.com/docs/project-configuration).
type Config struct {
	// CleanURLs drops .html from paths: /about serves about.html and
	// /about.html redirects (308) to /about. Nil is unset.
	CleanURLs *bool `json:"cleanUrls,omitempty"`
	// TrailingSlash, when true, redirects /about to /about/; when false,
	// /about/ to /about. Nil is unset: both are served.
	TrailingSlash *bool       `json:"trailingSlash,omitempty"`
	Redirects     []Redirect  `json:"redirects,omitempty"`
	Rewrites      []Rewrite   `json:"rewrites,omitempty"`
	Headers       []HeaderSet `json:"headers,omitempty"`
}

// Redirect answers a request whose path matches Source with a redirect
// to Destination.
type Redirect struct {
	Source      string `json:"source"`
	Destination string `json:"destination"`
	// Permanent gives 308 when true, 307 when false; when nil, StatusCode
	// decides, else 308.
	Permanent  *bool       `json:"permanent,omitempty"`
	StatusCode int         `json:"statusCode,omitempty"`
	Has        []Condition `json:"has,omitempty"`
	Missing    []Condition `json:"missing,omitempty"`
}

// Rewrite serves a request whose path matches Source from Destination: a
// path (a function or a static file) or an absolute URL, which is proxied.
type Rewrite struct {
	Source      string      `json:"source"`
	Destination string      `json:"destination"`
	Has         []Condition `json:"has,omitempty"`
	Missing     []Condition `json:"missing,omitempty"`
}

// HeaderSet adds Headers to the responses to requests whose path matches
// Source.
type HeaderSet struct {
	Source  string      `json:"source"`
	Headers []Header    `json:"headers"`
	Has     []Condition `json:"has,omitempty"`
	Missing []Condition `json:"missing,omitempty"`
}

// Header is one response header.
type Header struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

// Condition is an item of has or missing: the request has (or lacks) a
// header, cookie, query parameter (Key) or host whose value matches Value,
// a regular expression anchored at both ends. Without Value, any value
// matches. Named groups of Value, and Key when Value is empty, become
// parameters of the destination.
type Condition struct {
	Type  string `json:"type"` // header, cookie, host or query
	Key   string `json:"key,omitempty"`
	Value string `json:"value,omitempty"`
}

// Parse reads the routing keys of a vercel.json document and ignores the
// others. The keys are checked as New checks them; errors wrap ErrInvalid
// and name the key and entry.
func Parse(vercelJSON []byte) (Config, error) {
	var top map[string]json.RawMessage
	if err := json.Unmarshal(vercelJSON, &top); err != nil {
		return Config{}, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	var c Config
	for key, dst := range map[string]any{
		"cleanUrls": &c.CleanURLs, "trailingSlash": &c.TrailingSlash,
		"redirects": &c.Redirects, "rewrites": &c.Rewrites, "headers": &c.Headers,
	} {
		raw, ok := top[key]
		if !ok || bytes.Equal(raw, []byte("null")) {
			continue
		}
		if err := json.Unmarshal(raw, dst); err != nil {
			return Config{}, fmt.Errorf("%w: %s: %w", ErrInvalid, key, err)
		}
	}
	if _, err := New(c); err != nil {
		return Config{}, err
	}
	return c, nil
}

// Empty reports whether c routes nothing.
func (c Config) Empty() bool {
	return c.CleanURLs == nil && c.TrailingSlash == nil && len(c.Redirects) == 0 && len(c.Rewrites) == 0 && len(c.Headers) == 0
}
