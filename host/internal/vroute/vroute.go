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
	"reflect"
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
	Source      string `json:"source"`
	Destination string `json:"destination"`
	// StatusCode, when not 0, is the status of the response, whatever
	// the destination answers (routing-utils' rewrite schema, 100-999).
	StatusCode int         `json:"statusCode,omitempty"`
	Has        []Condition `json:"has,omitempty"`
	Missing    []Condition `json:"missing,omitempty"`
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
// header, cookie, query parameter (Key) or host whose value matches. The
// value is either a string, Value, a regular expression anchored at both
// ends, or an object of operators, Ops (routing-utils'
// matchableValueSchema). Without either, any value matches. Named groups
// of the regular expression (Value or Ops.Re), and Key when there is no
// value at all, become parameters of the destination.
type Condition struct {
	Type  string // header, cookie, host or query
	Key   string
	Value string
	Ops   *Operators
}

// Operators is the object form of a condition's value: every operator
// given must hold. Eq is a string, compared as it is, or a number,
// compared with the value read as a decimal number; Gt, Gte, Lt and Lte
// compare the value read as a decimal number (a value that is not one
// fails them); Re is a regular expression as Condition.Value is.
type Operators struct {
	Eq   any      `json:"eq,omitempty"`
	Neq  *string  `json:"neq,omitempty"`
	Inc  []string `json:"inc,omitempty"`
	Ninc []string `json:"ninc,omitempty"`
	Pre  *string  `json:"pre,omitempty"`
	Suf  *string  `json:"suf,omitempty"`
	Re   *string  `json:"re,omitempty"`
	Gt   *float64 `json:"gt,omitempty"`
	Gte  *float64 `json:"gte,omitempty"`
	Lt   *float64 `json:"lt,omitempty"`
	Lte  *float64 `json:"lte,omitempty"`
}

type conditionJSON struct {
	Type  string          `json:"type"`
	Key   string          `json:"key,omitempty"`
	Value json.RawMessage `json:"value,omitempty"`
}

// UnmarshalJSON reads a condition whose value is a string or an object of
// operators; another value, an unknown operator, an empty object or an eq
// that is neither a string nor a number is an error.
func (c *Condition) UnmarshalJSON(b []byte) error {
	var j conditionJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	*c = Condition{Type: j.Type, Key: j.Key}
	v := bytes.TrimSpace(j.Value)
	switch {
	case len(v) == 0 || bytes.Equal(v, []byte("null")):
	case v[0] == '"':
		return json.Unmarshal(v, &c.Value)
	case v[0] == '{':
		dec := json.NewDecoder(bytes.NewReader(v))
		dec.DisallowUnknownFields()
		var ops Operators
		if err := dec.Decode(&ops); err != nil {
			return fmt.Errorf("%s condition value: %w", j.Type, err)
		}
		if reflect.ValueOf(ops).IsZero() {
			return fmt.Errorf("%s condition value: an object needs at least one operator", j.Type)
		}
		switch ops.Eq.(type) {
		case nil, string, float64:
		default:
			return fmt.Errorf("%s condition value: eq %v: want a string or a number", j.Type, ops.Eq)
		}
		c.Ops = &ops
	default:
		return fmt.Errorf("%s condition value %s: want a string or an object of operators", j.Type, v)
	}
	return nil
}

// MarshalJSON writes the condition as vercel.json has it.
func (c Condition) MarshalJSON() ([]byte, error) {
	j := conditionJSON{Type: c.Type, Key: c.Key}
	var err error
	switch {
	case c.Ops != nil:
		j.Value, err = json.Marshal(c.Ops)
	case c.Value != "":
		j.Value, err = json.Marshal(c.Value)
	}
	if err != nil {
		return nil, err
	}
	return json.Marshal(j)
}

// regexp is the condition's regular expression: Value, or Ops.Re.
func (c Condition) regexp() string {
	if c.Ops != nil && c.Ops.Re != nil {
		return *c.Ops.Re
	}
	return c.Value
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
