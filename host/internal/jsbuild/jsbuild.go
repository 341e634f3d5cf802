// Package jsbuild bundles JavaScript and TypeScript functions into one ES
// module each with esbuild's Go API (in process: no Node.js needed), for
// wfn's JavaScript runtime (package jsruntime) to evaluate. Imports are
// resolved from the project's node_modules when present; an import of
// "@vercel/functions" without the package installed resolves to wfn's own
// module with the same API.
//
// Each bundle comes with a source map (esbuild's), so that the positions
// QuickJS reports in bundle.js (a stack trace, an exception at module
// load) are told in the user's files (SourceMap.Rewrite).
//
// Bundles are cached by content, as Go builds are: a manifest per entry
// lists the files the last bundle was made of, and the bundle and its map
// are stored under a hash of their contents and of what steers where their
// imports resolve (the names in their directories, the package.json and
// tsconfig files there), so that an unchanged function is not bundled
// again and one whose import would now resolve elsewhere is.
package jsbuild

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime/debug"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/evanw/esbuild/pkg/api"

	"github.com/wfn-dev/wfn/host/internal/buildcache"
)

// BuildError is a function that does not bundle: a syntax error, a type
// annotation esbuild cannot strip, an import that does not resolve.
type BuildError struct {
	Function string   // the function's source, such as api/hello.ts
	Messages []string // each "file:line:col: message", the file relative to the served directory
}

func (e *BuildError) Error() string {
	return fmt.Sprintf("cannot build %s:\n%s", e.Function, strings.Join(e.Messages, "\n"))
}

// Builder bundles functions into a cache directory.
type Builder struct {
	// CacheDir holds the bundles, named by the hash of their inputs, and
	// one manifest per function.
	CacheDir string
}

// Name is the file name the runtime evaluates a bundle under: QuickJS
// writes positions in it as "bundle.js:LINE:COLUMN".
const Name = "bundle.js"

// options are the esbuild options of every bundle; Fingerprint covers them.
func options(dir, entry string) api.BuildOptions {
	return api.BuildOptions{
		EntryPoints:   []string{entry},
		AbsWorkingDir: dir,
		Bundle:        true,
		Write:         false,
		Metafile:      true,
		// Not written (Write is false): it names the bundle, and places it
		// in the served directory so that the map's sources are relative
		// to it, as BuildError's files are.
		Outfile:        Name,
		Sourcemap:      api.SourceMapExternal, // no comment in the bundle
		SourcesContent: api.SourcesContentExclude,
		Format:         api.FormatESModule,
		Platform:       api.PlatformNeutral,
		// As Vercel's Edge runtime resolves packages.
		Conditions: []string{"edge-light", "worker", "browser", "import", "default"},
		MainFields: []string{"module", "main"},
		Target:     api.ES2023,
		Charset:    api.CharsetASCII, // the bundle travels in an environment variable: no NUL, no raw UTF-8
		LogLevel:   api.LogLevelSilent,
	}
}

// fingerprint names the bundler and its options in cache keys.
var fingerprint = sync.OnceValue(func() string {
	version := "unknown"
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, d := range bi.Deps {
			if d.Path == "github.com/evanw/esbuild" {
				version = d.Version
			}
		}
	}
	opts := options("", "")
	return fmt.Sprintf("wfn-jsbuild-3 esbuild %s %q %q %d %d", version, opts.Conditions, opts.MainFields, opts.Target, opts.Format)
})

// manifest lists the files the latest bundle of an entry was made of.
type manifest struct {
	Inputs []string `json:"inputs"` // absolute paths
	// Absent lists the package.json files of @vercel/functions whose
	// absence made the bundle use wfn's own module: the bundle is stale
	// once one exists.
	Absent []string `json:"absent,omitempty"`
}

// Bundle is a function bundled into one ES module.
type Bundle struct {
	Code []byte     // the ES module, printable ASCII
	Map  *SourceMap // from positions in Code to positions in the files it was made of
	// Inputs are the files the bundle was made of (esbuild's metafile),
	// relative to the served directory with slashes, sorted; a file
	// outside it starts with "../". They are the modules only: the
	// package.json, tsconfig.json and jsconfig.json files that resolution
	// read are not among them. A host reloads a function when one of them
	// changes, and not when another function's file does.
	Inputs []string
}

// Build bundles entry (a path relative to dir, the served directory, such
// as api/hello.ts) and returns the bundle. cached reports whether an
// earlier bundle of the same content was reused. A bundle that fails is a
// *BuildError with each message's file:line:col.
func (b *Builder) Build(ctx context.Context, dir, entry string) (bundle []byte, cached bool, err error) {
	bd, cached, err := b.BuildMapped(ctx, dir, entry)
	return bd.Code, cached, err
}

// BuildMapped is Build with the bundle's source map.
func (b *Builder) BuildMapped(ctx context.Context, dir, entry string) (bundle Bundle, cached bool, err error) {
	if err := ctx.Err(); err != nil {
		return Bundle{}, false, err
	}
	if dir, err = filepath.Abs(dir); err != nil {
		return Bundle{}, false, err
	}
	cache := buildcache.Cache{Dir: b.CacheDir, Ext: ".js"}
	maps := buildcache.Cache{Dir: b.CacheDir, Ext: ".map"}
	sum := sha256.Sum256([]byte(fingerprint() + "\x00" + filepath.Join(dir, entry)))
	manifestPath := filepath.Join(b.CacheDir, "manifest-"+hex.EncodeToString(sum[:16])+".json")
	if data, err := os.ReadFile(manifestPath); err == nil {
		var m manifest
		if json.Unmarshal(data, &m) == nil && len(m.Inputs) > 0 && stillAbsent(m.Absent) {
			if key, err := key(sum[:], dir, m.Inputs, nil); err == nil {
				if bundle, err := readCached(cache, maps, key); err == nil {
					bundle.Inputs = relInputs(dir, m.Inputs)
					return bundle, true, nil
				}
			}
		}
	}

	var fb fallback
	var rd reads
	opts := options(dir, entry)
	opts.Plugins = []api.Plugin{fb.plugin(), rd.plugin()}
	start := time.Now()
	res := api.Build(opts)
	if len(res.Errors) > 0 {
		return Bundle{}, false, &BuildError{Function: entry, Messages: messages(res.Errors)}
	}
	var code, srcmap []byte
	for _, f := range res.OutputFiles {
		switch filepath.Base(f.Path) {
		case Name:
			code = f.Contents
		case Name + ".map":
			srcmap = f.Contents
		}
	}
	if code == nil || srcmap == nil || len(res.OutputFiles) != 2 {
		return Bundle{}, false, &BuildError{Function: entry, Messages: []string{fmt.Sprintf("%s: esbuild wrote %d files, want %s and its map", entry, len(res.OutputFiles), Name)}}
	}
	sm, err := parseSourceMap(srcmap)
	if err != nil {
		return Bundle{}, false, fmt.Errorf("wfn: bundling %s: %w", entry, err)
	}
	inputs, err := metafileInputs(dir, res.Metafile)
	if err != nil {
		return Bundle{}, false, fmt.Errorf("wfn: bundling %s: %w", entry, err)
	}
	bundle = Bundle{Code: code, Map: sm, Inputs: relInputs(dir, inputs)}
	if len(code) == 0 {
		// A module with no code left (only comments, or nothing but
		// declarations esbuild drops): the cache keeps no empty files. It
		// is served uncached, and fails to load as exporting no handler.
		return bundle, false, nil
	}
	if modifiedAfter(inputs, start) || !rd.unchanged(inputs) {
		// An input changed while esbuild ran (an editor saving again):
		// the bundle may hold content that no file holds now.
		return bundle, false, nil
	}
	// The key hashes the contents esbuild loaded, not the files again: a
	// save since the check above cannot give it the new content.
	k, err := key(sum[:], dir, inputs, rd.sums)
	if err != nil {
		return bundle, false, nil // the inputs cannot be read back: serve the bundle uncached
	}
	// The map first: a bundle in the cache always has its map.
	if _, err := maps.Build(k, func(out string) error { return os.WriteFile(out, srcmap, 0o644) }); err != nil {
		return Bundle{}, false, err
	}
	if _, err := cache.Build(k, func(out string) error { return os.WriteFile(out, code, 0o644) }); err != nil {
		return Bundle{}, false, err
	}
	m, _ := json.Marshal(manifest{Inputs: inputs, Absent: fb.paths()})
	_, err = buildcache.Cache{Dir: b.CacheDir, Ext: ".json"}.Build(strings.TrimSuffix(filepath.Base(manifestPath), ".json"), func(out string) error {
		return os.WriteFile(out, m, 0o644)
	})
	return bundle, false, err
}

// reads records the SHA-256 of each file esbuild loads, read just before
// it reads the file itself, for the key: the contents the bundle was made
// of. If a file's content after the build is not the one recorded, a save
// came after esbuild read it or in between, and the bundle is not stored;
// the modification times (modifiedAfter) miss a save that the clock
// stamps in the past. Only two saves within the instant between the two
// reads, the second putting back the first content, would pass.
type reads struct {
	mu   sync.Mutex
	sums map[string][sha256.Size]byte // absolute path -> content's sum
}

func (rd *reads) plugin() api.Plugin {
	return api.Plugin{Name: "wfn-reads", Setup: func(b api.PluginBuild) {
		b.OnLoad(api.OnLoadOptions{Filter: `.*`, Namespace: "file"}, func(args api.OnLoadArgs) (api.OnLoadResult, error) {
			// No contents: esbuild loads the file as it would without
			// this plugin (its loader, its messages).
			if data, err := os.ReadFile(args.Path); err == nil {
				rd.mu.Lock()
				if rd.sums == nil {
					rd.sums = map[string][sha256.Size]byte{}
				}
				rd.sums[args.Path] = sha256.Sum256(data)
				rd.mu.Unlock()
			}
			if testHookLoad != nil {
				testHookLoad(args.Path)
			}
			return api.OnLoadResult{}, nil
		})
	}}
}

// testHookLoad, when set (by a test), is called with the path of each
// file esbuild loads, before it reads the file.
var testHookLoad func(path string)

// unchanged reports whether each of inputs holds the content recorded
// when esbuild loaded it.
func (rd *reads) unchanged(inputs []string) bool {
	rd.mu.Lock()
	defer rd.mu.Unlock()
	for _, p := range inputs {
		sum, ok := rd.sums[p]
		data, err := os.ReadFile(p)
		if !ok || err != nil || sha256.Sum256(data) != sum {
			return false
		}
	}
	return true
}

// modifiedAfter reports whether a file among paths was modified after t,
// or cannot be seen. Linux stamps files from a clock that lags the one
// time.Now reads by up to a scheduler tick (4 to 10 ms), so a write in
// that first stretch of a build, or on a file system that keeps whole
// seconds, passes unseen; a file written before t never counts.
func modifiedAfter(paths []string, t time.Time) bool {
	for _, p := range paths {
		fi, err := os.Stat(p)
		if err != nil || fi.ModTime().After(t) {
			return true
		}
	}
	return false
}

// readCached reads the bundle stored under key and its map.
func readCached(cache, maps buildcache.Cache, key string) (Bundle, error) {
	path, ok := cache.Lookup(key)
	mapPath, mapOK := maps.Lookup(key)
	if !ok || !mapOK {
		return Bundle{}, os.ErrNotExist
	}
	code, err := os.ReadFile(path)
	if err != nil {
		return Bundle{}, err
	}
	data, err := os.ReadFile(mapPath)
	if err != nil {
		return Bundle{}, err
	}
	sm, err := parseSourceMap(data)
	if err != nil {
		return Bundle{}, err
	}
	return Bundle{Code: code, Map: sm}, nil
}

// key hashes the entry's identity, the contents of its inputs and what
// steers where their imports resolve (resolution). With sums, the
// contents are those sums (those of a build's reads), not read again.
func key(entry []byte, dir string, inputs []string, sums map[string][sha256.Size]byte) (string, error) {
	h := sha256.New()
	h.Write(entry)
	if sums == nil {
		if err := buildcache.HashFiles(h, inputs); err != nil {
			return "", err
		}
	} else {
		inputs = slices.Compact(slices.Sorted(slices.Values(inputs)))
		for _, p := range inputs {
			sum, ok := sums[p]
			if !ok {
				return "", fmt.Errorf("%s: not read by the build", p)
			}
			buildcache.HashSum(h, p, sum)
		}
	}
	if err := resolution(h, dir, inputs); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)[:20]), nil
}

// resolution writes to h the names in each directory that holds an input,
// and in the directories above it up to dir (the served directory; for an
// input outside dir, up to the first directory that holds dir), and the
// contents of the package.json, tsconfig and jsconfig files among them. A
// file created beside the one an import resolved to (lib/util.ts beside
// lib/util.js), a package installed in a closer node_modules, or a changed
// tsconfig.json changes where an import resolves, though no input
// changed: the bundle made before is stale, and its key must differ. The
// names starting with a dot (an editor's swap file, .git) are left out.
func resolution(h io.Writer, dir string, inputs []string) error {
	seen := map[string]bool{}
	for _, p := range inputs {
		for d := filepath.Dir(p); !seen[d]; d = filepath.Dir(d) {
			seen[d] = true
			if rel, err := filepath.Rel(d, dir); err == nil && !strings.HasPrefix(rel, "..") || filepath.Dir(d) == d {
				break // d is dir or holds it; or the root
			}
		}
	}
	dirs := make([]string, 0, len(seen))
	for d := range seen {
		dirs = append(dirs, d)
	}
	sort.Strings(dirs)
	var steering []string
	for _, d := range dirs {
		entries, err := os.ReadDir(d)
		if err != nil {
			return err
		}
		fmt.Fprintf(h, "dir %s\x00", d)
		for _, e := range entries {
			name := e.Name()
			if strings.HasPrefix(name, ".") {
				continue
			}
			if e.IsDir() {
				name += "/"
			} else if name == "package.json" || filepath.Ext(name) == ".json" && (strings.HasPrefix(name, "tsconfig") || strings.HasPrefix(name, "jsconfig")) {
				steering = append(steering, filepath.Join(d, name))
			}
			fmt.Fprintf(h, "%s\x00", name)
		}
	}
	return buildcache.HashFiles(h, steering)
}

// metafileInputs returns the absolute paths of the files esbuild read, from
// its metafile (paths relative to dir; entries in a namespace of their own,
// such as "<define:...>", are not files and are left out).
func metafileInputs(dir, metafile string) ([]string, error) {
	var meta struct {
		Inputs map[string]json.RawMessage `json:"inputs"`
	}
	if err := json.Unmarshal([]byte(metafile), &meta); err != nil {
		return nil, fmt.Errorf("esbuild's metafile: %w", err)
	}
	var paths []string
	for p := range meta.Inputs {
		if strings.Contains(p, ":") && !filepath.IsAbs(p) {
			continue
		}
		if !filepath.IsAbs(p) {
			p = filepath.Join(dir, filepath.FromSlash(p))
		}
		paths = append(paths, p)
	}
	if len(paths) == 0 {
		return nil, errors.New("esbuild's metafile lists no input")
	}
	sort.Strings(paths)
	return paths, nil
}

// relInputs makes the absolute paths of inputs relative to dir, with
// slashes, as a host names changed files. A path that cannot be made
// relative (another volume) stays absolute: it matches no changed file
// under dir.
func relInputs(dir string, inputs []string) []string {
	out := make([]string, len(inputs))
	for i, p := range inputs {
		if rel, err := filepath.Rel(dir, p); err == nil {
			p = rel
		}
		out[i] = filepath.ToSlash(p)
	}
	sort.Strings(out)
	return out
}

// messages formats esbuild's errors as "file:line:col: text".
func messages(msgs []api.Message) []string {
	out := make([]string, 0, len(msgs))
	for _, m := range msgs {
		text := m.Text
		for _, n := range m.Notes {
			if n.Text != "" {
				text += " (" + n.Text + ")"
			}
		}
		if l := m.Location; l != nil {
			out = append(out, fmt.Sprintf("%s:%d:%d: %s", l.File, l.Line, l.Column+1, text))
		} else {
			out = append(out, text)
		}
	}
	return out
}
