// Package fnconfig reads per-function settings from a served directory's
// vercel.json and wfn.json: the "functions" object, whose keys are globs
// over source paths and whose first matching key wins, as on Vercel.
package fnconfig

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"
)

// ErrInvalid matches every configuration error.
var ErrInvalid = errors.New("wfn: invalid function configuration")

// Settings are one function's settings. A zero field means "the host's
// default".
type Settings struct {
	MaxDuration          time.Duration
	MemoryMB             int
	SupportsCancellation bool
	MaxConcurrency       int
	// Env adds variables to the function's environment (a wfn extension).
	Env map[string]string
	// AllowedOutboundHosts replaces the default outbound policy with an
	// allow list of host[:port] patterns (a wfn extension).
	AllowedOutboundHosts []string

	// The pool policy and isolation (wfn extensions). Nil or zero: the
	// host's default.

	// Isolation is "instance" (invocations reuse warm instances) or
	// "invocation" (a fresh instance for every invocation).
	Isolation string
	// Snapshot starts instances from an image of memory and globals taken
	// after initialisation.
	Snapshot *bool
	// MinInstances are created when the host starts and kept idle in
	// reserve.
	MinInstances *int
	// IdleTimeout closes an instance idle this long (beyond the reserve).
	IdleTimeout time.Duration
	// MaxInvocations retires an instance after this many invocations.
	MaxInvocations int
}

// Isolation modes.
const (
	IsolationInstance   = "instance"
	IsolationInvocation = "invocation"
)

// Limits of the values, as Vercel's schema has them.
const (
	MaxDurationMax = 1800 * time.Second // the extended per-function maximum
	MemoryMin      = 128
	MemoryMax      = 10240
	maxKeys        = 50
	maxKeyLen      = 256
)

// Rule is one key of "functions".
type Rule struct {
	File     string // vercel.json or wfn.json
	Glob     string
	Settings Settings
}

// Config is the rules of a directory in the order they are tried: wfn.json's
// first, then vercel.json's.
type Config struct {
	Rules []Rule
	// Ignored lists properties that are valid on Vercel but mean nothing
	// to wfn (such as regions), as "file: key: property".
	Ignored []string
}

// Files are read in this order; an earlier file's rules win.
var Files = []string{"wfn.json", "vercel.json"}

// Load reads the configuration of dir. Missing files are no error.
func Load(dir string) (*Config, error) {
	c := &Config{}
	for _, name := range Files {
		data, err := os.ReadFile(filepath.Join(dir, name))
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("%w: %s: %w", ErrInvalid, name, err)
		}
		if err := c.parse(name, data); err != nil {
			return nil, err
		}
	}
	return c, nil
}

func (c *Config) parse(file string, data []byte) error {
	fail := func(format string, args ...any) error {
		return fmt.Errorf("%w: %s: %s", ErrInvalid, file, fmt.Sprintf(format, args...))
	}
	var top map[string]json.RawMessage
	if err := json.Unmarshal(data, &top); err != nil {
		return fail("%v", err)
	}
	raw, ok := top["functions"]
	if !ok {
		return nil
	}
	// Keys keep their order: the first match wins.
	dec := json.NewDecoder(bytes.NewReader(raw))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return fail(`"functions" must be an object`)
	}
	n := 0
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return fail("functions: %v", err)
		}
		key := tok.(string)
		n++
		if key == "" || len(key) > maxKeyLen || strings.HasPrefix(key, "/") {
			return fail("functions: key %q must be a glob of 1 to %d characters not starting with /", key, maxKeyLen)
		}
		if _, err := splitBraces(key); err != nil {
			return fail("functions: key %q: %v", key, err)
		}
		var props map[string]json.RawMessage
		if err := dec.Decode(&props); err != nil {
			return fail("functions: %q must be an object: %v", key, err)
		}
		r := Rule{File: file, Glob: key}
		for prop, v := range props {
			if err := r.set(prop, v, &c.Ignored); err != nil {
				return fail("functions: %q: %s: %v", key, prop, err)
			}
		}
		c.Rules = append(c.Rules, r)
	}
	if n == 0 || n > maxKeys {
		return fail("functions must have 1 to %d keys, has %d", maxKeys, n)
	}
	return nil
}

func (r *Rule) set(prop string, v json.RawMessage, ignored *[]string) error {
	switch prop {
	case "maxDuration":
		var s string
		if json.Unmarshal(v, &s) == nil {
			if s != "max" {
				return fmt.Errorf(`want an integer number of seconds or "max", got %q`, s)
			}
			r.Settings.MaxDuration = MaxDurationMax
			return nil
		}
		n, err := integer(v)
		if err != nil || n < 1 || time.Duration(n)*time.Second > MaxDurationMax {
			return fmt.Errorf(`want an integer from 1 to %d or "max", got %s`, int(MaxDurationMax/time.Second), v)
		}
		r.Settings.MaxDuration = time.Duration(n) * time.Second
	case "memory":
		n, err := integer(v)
		if err != nil || n < MemoryMin || n > MemoryMax {
			return fmt.Errorf("want an integer from %d to %d (MB), got %s", MemoryMin, MemoryMax, v)
		}
		r.Settings.MemoryMB = n
	case "maxConcurrency":
		n, err := integer(v)
		if err != nil || n < 1 {
			return fmt.Errorf("want an integer of at least 1, got %s", v)
		}
		r.Settings.MaxConcurrency = n
	case "supportsCancellation":
		if err := json.Unmarshal(v, &r.Settings.SupportsCancellation); err != nil {
			return fmt.Errorf("want true or false, got %s", v)
		}
	case "env":
		if err := json.Unmarshal(v, &r.Settings.Env); err != nil {
			return fmt.Errorf("want an object of strings, got %s", v)
		}
		for k := range r.Settings.Env {
			if k == "" || strings.ContainsAny(k, "=\x00") {
				return fmt.Errorf("bad variable name %q", k)
			}
		}
	case "allowedOutboundHosts":
		if err := json.Unmarshal(v, &r.Settings.AllowedOutboundHosts); err != nil {
			return fmt.Errorf("want an array of host[:port] strings, got %s", v)
		}
		if r.Settings.AllowedOutboundHosts == nil {
			r.Settings.AllowedOutboundHosts = []string{}
		}
	case "isolation":
		var iso string
		if json.Unmarshal(v, &iso) != nil || (iso != IsolationInstance && iso != IsolationInvocation) {
			return fmt.Errorf("want %q or %q, got %s", IsolationInstance, IsolationInvocation, v)
		}
		r.Settings.Isolation = iso
	case "snapshot":
		var b bool
		if json.Unmarshal(v, &b) != nil {
			return fmt.Errorf("want true or false, got %s", v)
		}
		r.Settings.Snapshot = &b
	case "minInstances":
		n, err := integer(v)
		if err != nil || n < 0 || n > 1000 {
			return fmt.Errorf("want an integer from 0 to 1000, got %s", v)
		}
		r.Settings.MinInstances = &n
	case "idleTimeout":
		n, err := integer(v)
		if err != nil || n < 1 {
			return fmt.Errorf("want an integer number of seconds of at least 1, got %s", v)
		}
		r.Settings.IdleTimeout = time.Duration(n) * time.Second
	case "maxInvocations":
		n, err := integer(v)
		if err != nil || n < 1 {
			return fmt.Errorf("want an integer of at least 1, got %s", v)
		}
		r.Settings.MaxInvocations = n
	case "architecture", "runtime", "regions", "functionFailoverRegions", "includeFiles", "excludeFiles", "experimentalTriggers":
		// Valid on Vercel; nothing to do for a WebAssembly host.
		*ignored = append(*ignored, r.File+": "+r.Glob+": "+prop)
	default:
		return errors.New("unknown property")
	}
	return nil
}

func integer(v json.RawMessage) (int, error) {
	var f float64
	if err := json.Unmarshal(v, &f); err != nil {
		return 0, err
	}
	if f != float64(int(f)) {
		return 0, errors.New("not an integer")
	}
	return int(f), nil
}

// For returns the settings of the first rule matching any of paths (a
// function's source path, and for a Go package each of its files), and
// the rule's glob ("" when none matched).
func (c *Config) For(paths ...string) (Settings, string) {
	for _, r := range c.Rules {
		for _, p := range paths {
			if Match(r.Glob, p) {
				return r.Settings, r.Glob
			}
		}
	}
	return Settings{}, ""
}

// Match reports whether name matches the glob: * and ? within a segment,
// [...] classes, ** for any number of segments, and {a,b} alternatives.
// As with minimatch's defaults, wildcards do not match a leading dot.
func Match(glob, name string) bool {
	if glob == name {
		return true
	}
	alts, err := splitBraces(glob)
	if err != nil {
		return false
	}
	for _, g := range alts {
		if matchSegs(strings.Split(g, "/"), strings.Split(name, "/")) {
			return true
		}
	}
	return false
}

func matchSegs(g, n []string) bool {
	for len(g) > 0 {
		if g[0] == "**" {
			for i := 0; i <= len(n); i++ {
				if i > 0 && strings.HasPrefix(n[i-1], ".") {
					return false
				}
				if matchSegs(g[1:], n[i:]) {
					return true
				}
			}
			return false
		}
		if len(n) == 0 {
			return false
		}
		if strings.HasPrefix(n[0], ".") && !strings.HasPrefix(g[0], ".") {
			return false
		}
		if ok, err := path.Match(g[0], n[0]); err != nil || !ok {
			return false
		}
		g, n = g[1:], n[1:]
	}
	return len(n) == 0
}

// splitBraces expands {a,b} alternatives (not nested).
func splitBraces(glob string) ([]string, error) {
	i := strings.IndexByte(glob, '{')
	if i < 0 {
		if strings.ContainsRune(glob, '}') {
			return nil, errors.New("unbalanced }")
		}
		return []string{glob}, nil
	}
	j := strings.IndexByte(glob[i:], '}')
	if j < 0 {
		return nil, errors.New("unbalanced {")
	}
	j += i
	rest, err := splitBraces(glob[j+1:])
	if err != nil {
		return nil, err
	}
	var out []string
	for _, alt := range strings.Split(glob[i+1:j], ",") {
		for _, r := range rest {
			out = append(out, glob[:i]+alt+r)
		}
	}
	return out, nil
}
