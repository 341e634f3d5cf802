// Package project reads a served directory's vercel.json and wfn.json
// into one typed configuration, validated once.
//
// Every property of Vercel's vercel.json schema is accepted: the union
// of the VercelConfig and FunctionConfig types of the npm package
// @vercel/config 0.7.2 and of the schema the npm package vercel (the
// CLI) 64.0.2 validates with (its config-validator), plus "$schema".
// Those that mean nothing to wfn are listed in Project.Ignored, so that
// the host names them in one log line. A property in no schema is an
// error naming it. wfn.json takes the same
// properties, plus wfn's own per-function extensions.
//
// Load reads; Validate checks every value and compiles the globs and
// cron schedules. Unset is nil throughout (see Settings).
package project

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// ErrInvalid matches every configuration error; the message names the
// file, the key and the property.
var ErrInvalid = errors.New("wfn: invalid project configuration")

// Files are read in this order. An earlier file's "functions" rules are
// tried first; for the other keys, an earlier file's value wins.
var Files = []string{"wfn.json", "vercel.json"}

// Limits of the values, as Vercel's schema and docs have them
// (vercel.com/docs/project-configuration, vercel.com/docs/functions/
// configuring-functions/duration).
const (
	MaxDurationMax = 1800 * time.Second // the extended per-function maximum
	MemoryMin      = 128
	MemoryMax      = 10240
	maxFunctions   = 50
	maxGlobLen     = 256
)

// Project is the configuration of one directory.
type Project struct {
	// Functions are the "functions" rules in the order they are tried:
	// wfn.json's first, then vercel.json's. The first match wins, as on
	// Vercel.
	Functions []Rule
	// Env is the top-level "env" (deprecated on Vercel, still applied):
	// variables of every function, weaker than Dotenv, as vercel dev lays
	// them (the vercel CLI 64.0.2's getLocalEnv and validateEnvConfig). A
	// value "@name" refers to a secret that Dotenv must set.
	Env map[string]string
	// Dotenv is the directory's .env (ReadDotenv), or nil.
	Dotenv map[string]string
	// Regions is the top-level "regions"; wfn has one region, its own,
	// so it is only logged.
	Regions []string
	// Crons are the cron jobs: GET path on schedule.
	Crons []Cron
	// Routing holds the routing keys, as written.
	Routing Routing
	// Fluid is the top-level "fluid" (Vercel's Fluid compute toggle):
	// the default of every function's Settings.Fluid; nil when unset.
	Fluid *bool
	// Ignored lists the properties that are valid on Vercel and have no
	// effect in wfn, as "file: property" or "file: functions.KEY.property".
	Ignored []string
}

// Routing holds the routing keys of vercel.json or wfn.json as written,
// checked only to be of the right JSON kind (an array or a boolean). They
// belong to package vroute, which has its own parser of them; the host
// hands them over (JSON) when it builds the router. Nil: the key is
// absent. Routes, Vercel's legacy table, is kept but not served (it is
// listed in Project.Ignored).
type Routing struct {
	Redirects     json.RawMessage
	Rewrites      json.RawMessage
	Headers       json.RawMessage
	CleanURLs     json.RawMessage
	TrailingSlash json.RawMessage
	Routes        json.RawMessage
}

// JSON returns the routing keys that are set as one JSON object, the
// shape vroute.Parse reads ("{}" when none is).
func (r Routing) JSON() []byte {
	obj := map[string]json.RawMessage{}
	for key, v := range map[string]json.RawMessage{
		"redirects": r.Redirects, "rewrites": r.Rewrites, "headers": r.Headers,
		"cleanUrls": r.CleanURLs, "trailingSlash": r.TrailingSlash,
	} {
		if v != nil {
			obj[key] = v
		}
	}
	data, err := json.Marshal(obj)
	if err != nil { // cannot happen: every value was read as JSON
		panic(err)
	}
	return data
}

// Rule is one key of "functions".
type Rule struct {
	File     string // vercel.json or wfn.json
	Key      string // the glob, as written
	Glob     *Glob
	Settings Settings
}

// Cron is one entry of "crons": Vercel sends GET Path on Schedule, a
// five-field cron expression in UTC (vercel.com/docs/cron-jobs).
type Cron struct {
	Path     string `json:"path"`
	Schedule string `json:"schedule"`
	// When is Schedule parsed, by Validate.
	When Schedule `json:"-"`
}

// kind is the JSON kind a property must have.
type kind int

const (
	anyKind kind = iota
	arrayKind
	boolKind
)

// topLevel are vercel.json's properties and what wfn does with each:
// read (a field of Project), routing (handed to vroute), or nothing.
var topLevel = map[string]struct {
	read    bool
	routing kind // != anyKind: a routing key of that JSON kind
}{
	"functions": {read: true}, "env": {read: true}, "crons": {read: true}, "regions": {read: true},
	"redirects": {routing: arrayKind}, "rewrites": {routing: arrayKind}, "headers": {routing: arrayKind},
	"routes": {routing: arrayKind}, "cleanUrls": {routing: boolKind}, "trailingSlash": {routing: boolKind},
	// No effect in wfn: deployment, build, Git and image settings of
	// Vercel's platform.
	"$schema": {read: true}, "alias": {}, "build": {}, "builds": {}, "passiveRegions": {},
	"functionFailoverRegions": {}, "git": {}, "github": {}, "images": {}, "name": {},
	"bulkRedirectsPath": {}, "scope": {}, "version": {}, "wildcard": {}, "buildCommand": {},
	"ignoreCommand": {}, "devCommand": {}, "framework": {}, "installCommand": {},
	"outputDirectory": {}, "schedules": {}, "relatedProjects": {}, "fluid": {read: true},
	"bunVersion": {}, "experimentalServices": {}, "experimentalServiceGroups": {},
	"experimentalServicesV2": {}, "services": {}, "daemons": {}, "proxy": {},
}

// functionProps are the properties of a "functions" rule: Vercel's
// (FunctionConfig), then wfn's extensions. True: wfn applies it.
var functionProps = map[string]bool{
	"maxDuration": true, "memory": true, "maxConcurrency": true, "supportsCancellation": true,
	"excludeFiles": false, "includeFiles": false, "affinity": false, "runtime": false, "architecture": false,
	"regions": false, "functionFailoverRegions": false, "experimentalTriggers": false,
	// wfn's extensions.
	"env": true, "allowedOutboundHosts": true, "isolation": true, "snapshot": true,
	"minInstances": true, "idleTimeout": true, "maxInvocations": true, "instanceConcurrency": true,
	"fluid": true,
}

// Load reads the configuration of dir (wfn.json, vercel.json, .env) and
// validates it. Missing files are no error: the project is then empty.
func Load(dir string) (*Project, error) {
	dotenv, err := ReadDotenv(dir)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	p := &Project{Dotenv: dotenv}
	seen := map[string]bool{}
	for _, name := range Files {
		data, err := os.ReadFile(filepath.Join(dir, name))
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("%w: %s: %w", ErrInvalid, name, err)
		}
		if err := p.read(name, data, seen); err != nil {
			return nil, err
		}
	}
	if err := p.Validate(); err != nil {
		return nil, err
	}
	return p, nil
}

// position is the line and column, counted from 1 in characters, of the
// byte a json.SyntaxError's offset ends at: the one that failed, or the
// last of a file that ended early.
func position(data []byte, offset int64) (line, col int) {
	before := data[:max(min(offset, int64(len(data)))-1, 0)]
	last := bytes.LastIndexByte(before, '\n')
	return bytes.Count(before, []byte{'\n'}) + 1, utf8.RuneCount(before[last+1:]) + 1
}

// read adds one file's properties.
func (p *Project) read(file string, data []byte, seen map[string]bool) error {
	fail := func(format string, args ...any) error {
		return fmt.Errorf("%w: %s: %s", ErrInvalid, file, fmt.Sprintf(format, args...))
	}
	var top map[string]json.RawMessage
	if err := json.Unmarshal(data, &top); err != nil {
		var se *json.SyntaxError
		if errors.As(err, &se) {
			// Where, as a compiler says it: a trailing comma in a long
			// file is otherwise a hunt.
			line, col := position(data, se.Offset)
			return fmt.Errorf("%w: %s:%d:%d: %v", ErrInvalid, file, line, col, err)
		}
		return fail("%v", err)
	}
	for _, key := range slices.Sorted(maps.Keys(top)) {
		raw := top[key]
		prop, known := topLevel[key]
		switch {
		case !known:
			return fail("unknown property %q (not in Vercel's vercel.json schema)", key)
		case key == "functions":
			if err := p.readFunctions(file, raw); err != nil {
				return err
			}
			continue
		case seen[key]:
			continue // an earlier file set it
		}
		seen[key] = true
		var err error
		switch key {
		case "env":
			err = json.Unmarshal(raw, &p.Env)
		case "fluid":
			// Vercel's Fluid compute toggle: every function's default.
			err = boolProp(raw, &p.Fluid)
		case "regions":
			// wfn has one region, its own (Config.Region).
			err = json.Unmarshal(raw, &p.Regions)
			p.Ignored = append(p.Ignored, file+": regions")
		case "crons":
			dec := json.NewDecoder(bytes.NewReader(raw))
			dec.DisallowUnknownFields() // an entry has path and schedule only
			err = dec.Decode(&p.Crons)
		case "$schema":
			// The JSON schema for editors, which Vercel's docs put in
			// every example: it configures nothing, and is not named
			// among the properties with no effect.
		case "routes":
			// Vercel's legacy route table; package vroute reads the
			// newer keys only.
			p.Ignored = append(p.Ignored, file+": routes")
		default:
			if prop.routing != anyKind {
				err = p.Routing.set(key, raw, prop.routing)
			} else {
				p.Ignored = append(p.Ignored, file+": "+key)
			}
		}
		if err != nil {
			return fail("%s: %v", key, err)
		}
	}
	return nil
}

func (r *Routing) set(key string, raw json.RawMessage, k kind) error {
	trimmed := bytes.TrimSpace(raw)
	switch {
	case k == arrayKind && (len(trimmed) == 0 || trimmed[0] != '['):
		return fmt.Errorf("want an array, got %s", raw)
	case k == boolKind && !bytes.Equal(trimmed, []byte("true")) && !bytes.Equal(trimmed, []byte("false")):
		return fmt.Errorf("want true or false, got %s", raw)
	}
	dst := map[string]*json.RawMessage{
		"redirects": &r.Redirects, "rewrites": &r.Rewrites, "headers": &r.Headers,
		"cleanUrls": &r.CleanURLs, "trailingSlash": &r.TrailingSlash, "routes": &r.Routes,
	}[key]
	*dst = raw
	return nil
}

// readFunctions reads "functions", keeping the order of its keys: the
// first match wins.
func (p *Project) readFunctions(file string, raw json.RawMessage) error {
	fail := func(format string, args ...any) error {
		return fmt.Errorf("%w: %s: functions: %s", ErrInvalid, file, fmt.Sprintf(format, args...))
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return fail("want an object")
	}
	n := 0
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return fail("%v", err)
		}
		key := tok.(string)
		n++
		var props map[string]json.RawMessage
		if err := dec.Decode(&props); err != nil {
			return fail("%q must be an object: %v", key, err)
		}
		r := Rule{File: file, Key: key}
		for _, prop := range slices.Sorted(maps.Keys(props)) {
			applied, known := functionProps[prop]
			switch {
			case !known:
				return fail("%q: unknown property %q (not in Vercel's function configuration nor wfn's)", key, prop)
			case !applied:
				p.Ignored = append(p.Ignored, file+": functions."+key+"."+prop)
			default:
				if err := r.Settings.set(prop, props[prop]); err != nil {
					return fail("%q: %s: %v", key, prop, err)
				}
			}
		}
		p.Functions = append(p.Functions, r)
	}
	if n == 0 || n > maxFunctions {
		return fail("want 1 to %d keys, got %d", maxFunctions, n)
	}
	return nil
}

// set reads one property of a rule, with Vercel's limits.
func (s *Settings) set(prop string, v json.RawMessage) error {
	switch prop {
	case "maxDuration":
		var word string
		if json.Unmarshal(v, &word) == nil {
			if word != "max" {
				return fmt.Errorf(`want an integer number of seconds or "max", got %q`, word)
			}
			s.MaxDuration = new(MaxDurationMax)
			return nil
		}
		hi := int(MaxDurationMax / time.Second)
		n, err := integer(v, 1, hi)
		if err != nil {
			// Not integer's message: "or max" must follow the range,
			// not the value.
			return fmt.Errorf(`want an integer from 1 to %d (seconds) or "max", got %s`, hi, v)
		}
		s.MaxDuration = new(time.Duration(n) * time.Second)
	case "memory":
		n, err := integer(v, MemoryMin, MemoryMax)
		if err != nil {
			return fmt.Errorf("%w (MB)", err)
		}
		s.MemoryMB = &n
	case "maxConcurrency":
		return intProp(v, 1, 1<<20, &s.MaxConcurrency)
	case "instanceConcurrency":
		return intProp(v, 1, 100_000, &s.InstanceConcurrency)
	case "supportsCancellation":
		return boolProp(v, &s.SupportsCancellation)
	case "env":
		if err := json.Unmarshal(v, &s.Env); err != nil || s.Env == nil {
			return fmt.Errorf("want an object of strings, got %s", v)
		}
		return checkEnv(s.Env)
	case "allowedOutboundHosts":
		if err := json.Unmarshal(v, &s.AllowedOutboundHosts); err != nil {
			return fmt.Errorf("want an array of host[:port] strings, got %s", v)
		}
		if s.AllowedOutboundHosts == nil {
			s.AllowedOutboundHosts = []string{}
		}
	case "isolation":
		var iso string
		if json.Unmarshal(v, &iso) != nil || (iso != IsolationInstance && iso != IsolationInvocation) {
			return fmt.Errorf("want %q or %q, got %s", IsolationInstance, IsolationInvocation, v)
		}
		s.Isolation = &iso
	case "snapshot":
		return boolProp(v, &s.Snapshot)
	case "fluid":
		return boolProp(v, &s.Fluid)
	case "minInstances":
		return intProp(v, 0, 1000, &s.MinInstances)
	case "idleTimeout":
		n, err := integer(v, 1, 1<<30)
		if err != nil {
			return fmt.Errorf("%w (seconds)", err)
		}
		s.IdleTimeout = new(time.Duration(n) * time.Second)
	case "maxInvocations":
		return intProp(v, 1, 1<<40, &s.MaxInvocations)
	}
	return nil
}

func intProp(v json.RawMessage, lo, hi int, dst **int) error {
	n, err := integer(v, lo, hi)
	if err != nil {
		return err
	}
	*dst = &n
	return nil
}

func boolProp(v json.RawMessage, dst **bool) error {
	var b bool
	if err := json.Unmarshal(v, &b); err != nil {
		return fmt.Errorf("want true or false, got %s", v)
	}
	*dst = &b
	return nil
}

// integer reads a JSON number that is a whole number from lo to hi.
func integer(v json.RawMessage, lo, hi int) (int, error) {
	var f float64
	if err := json.Unmarshal(v, &f); err != nil || f != float64(int(f)) || int(f) < lo || int(f) > hi {
		return 0, fmt.Errorf("want an integer from %d to %d, got %s", lo, hi, v)
	}
	return int(f), nil
}

func checkEnv(env map[string]string) error {
	for k := range env {
		if k == "" || strings.ContainsAny(k, "=\x00") {
			return fmt.Errorf("bad variable name %q", k)
		}
	}
	return nil
}

// Validate checks what reading could not: the globs of "functions" (and
// compiles them), the variables of "env", the paths and schedules of
// "crons" (Vercel's rules: a path starting with /, a five-field cron
// expression). Load calls it; a Project built by hand should be
// validated before use.
func (p *Project) Validate() error {
	for i := range p.Functions {
		r := &p.Functions[i]
		if r.Key == "" || len(r.Key) > maxGlobLen || strings.HasPrefix(r.Key, "/") {
			return fmt.Errorf("%w: %s: functions: key %q: want a glob of 1 to %d characters not starting with /", ErrInvalid, r.File, r.Key, maxGlobLen)
		}
		g, err := CompileGlob(r.Key)
		if err != nil {
			return fmt.Errorf("%w: %s: functions: key %q: %w", ErrInvalid, r.File, r.Key, err)
		}
		r.Glob = g
		if err := r.Settings.Validate(); err != nil {
			return fmt.Errorf("%s: functions: %q: %w", r.File, r.Key, err)
		}
	}
	if err := checkEnv(p.Env); err != nil {
		return fmt.Errorf("%w: env: %w", ErrInvalid, err)
	}
	for _, k := range slices.Sorted(maps.Keys(p.Env)) {
		if _, ok := p.Dotenv[k]; strings.HasPrefix(p.Env[k], "@") && !ok {
			return fmt.Errorf("%w: env: %s refers to the secret %s, which .env does not set (as vercel dev requires)", ErrInvalid, k, p.Env[k])
		}
	}
	for i := range p.Crons {
		c := &p.Crons[i]
		if !strings.HasPrefix(c.Path, "/") || len(c.Path) > 512 {
			return fmt.Errorf("%w: crons[%d]: path %q: want a path of at most 512 characters starting with /", ErrInvalid, i, c.Path)
		}
		when, err := ParseSchedule(c.Schedule)
		if err != nil {
			return fmt.Errorf("%w: crons[%d]: schedule %q: %w", ErrInvalid, i, c.Schedule, err)
		}
		c.When = when
	}
	return nil
}

// For returns the settings of the first rule matching any of paths (a
// function's source path, and for a Go package or a directory of C files
// each of its files), and the rule's key ("" when none matched).
func (p *Project) For(paths ...string) (Settings, string) {
	for _, r := range p.Functions {
		for _, path := range paths {
			if r.Glob.Match(path) {
				return r.Settings, r.Key
			}
		}
	}
	return Settings{}, ""
}
