package jsbuild_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/wfn-dev/wfn/host/internal/jsbuild"
	"github.com/wfn-dev/wfn/internal/testkit"
)

func TestBuildResolvesNodeModules(t *testing.T) {
	dir := t.TempDir()
	testkit.WriteFiles(t, dir, map[string]string{
		"api/hello.ts":                    `import { shout } from "shout"; export function GET() { return new Response(shout("hi")); }`,
		"node_modules/shout/package.json": `{"name": "shout", "main": "lib/index.js"}`,
		"node_modules/shout/lib/index.js": `exports.shout = (s) => s.toUpperCase() + "!!";`,
	})
	b := &jsbuild.Builder{CacheDir: t.TempDir()}
	bundle, cached, err := b.Build(context.Background(), dir, "api/hello.ts")
	if err != nil {
		t.Fatal(err)
	}
	if cached {
		t.Error("first build reported cached")
	}
	js := string(bundle)
	if !strings.Contains(js, `toUpperCase() + "!!"`) || !strings.Contains(js, "export {") {
		t.Errorf("bundle does not hold the package as an ES module:\n%s", js)
	}
	for _, c := range js {
		if c > 0x7e || c == 0 {
			t.Fatalf("bundle holds %q: it must be printable ASCII to travel in the environment", c)
		}
	}

	// The package is an input: changing it rebuilds.
	if _, cached, _ := b.Build(context.Background(), dir, "api/hello.ts"); !cached {
		t.Error("unchanged: not cached")
	}
	testkit.WriteFiles(t, dir, map[string]string{"node_modules/shout/lib/index.js": `exports.shout = (s) => s + "?";`})
	bundle, cached, err = b.Build(context.Background(), dir, "api/hello.ts")
	if err != nil || cached || !strings.Contains(string(bundle), `s + "?"`) {
		t.Errorf("after changing the package: cached %v, err %v", cached, err)
	}
}

func TestBuildErrors(t *testing.T) {
	dir := t.TempDir()
	testkit.WriteFiles(t, dir, map[string]string{
		"api/syntax.ts":  "export function GET() {\n  return new Response(1 +);\n}\n",
		"api/missing.ts": "import { x } from \"./nowhere\";\nexport const GET = () => new Response(x);\n",
	})
	b := &jsbuild.Builder{CacheDir: t.TempDir()}
	for entry, want := range map[string]string{
		"api/syntax.ts":  `api/syntax.ts:2:26: Unexpected ")"`,
		"api/missing.ts": `api/missing.ts:1:19: Could not resolve "./nowhere"`,
	} {
		_, _, err := b.Build(context.Background(), dir, entry)
		var be *jsbuild.BuildError
		if !errors.As(err, &be) || be.Function != entry || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: err = %v, want a *BuildError with %q", entry, err, want)
		}
	}
}

// TestBuildVercelFunctions checks that @vercel/functions resolves to wfn's
// own module without the package, to the package once it is installed
// (the bundle made without it is not reused), and that the dynamic
// segments of the function's path are named for the runtime.
func TestBuildVercelFunctions(t *testing.T) {
	dir := t.TempDir()
	testkit.WriteFiles(t, dir, map[string]string{
		"api/users/[id]/[...rest].ts": `import { waitUntil } from "@vercel/functions"; export function GET() { waitUntil(Promise.resolve()); return new Response("x"); }`,
	})
	b := &jsbuild.Builder{CacheDir: t.TempDir()}
	const entry = "api/users/[id]/[...rest].ts"
	bundle, _, err := b.Build(context.Background(), dir, entry)
	if err != nil {
		t.Fatal(err)
	}
	js := string(bundle)
	if !strings.Contains(js, `Symbol.for("wfn:@vercel/functions")`) {
		t.Errorf("without the package, the bundle does not use wfn's module:\n%s", js)
	}
	if _, cached, _ := b.Build(context.Background(), dir, entry); !cached {
		t.Error("unchanged: not cached")
	}

	testkit.WriteFiles(t, dir, map[string]string{
		"node_modules/@vercel/functions/package.json": `{"name": "@vercel/functions", "main": "index.js"}`,
		"node_modules/@vercel/functions/index.js":     `exports.waitUntil = (p) => globalThis[Symbol.for("installed package")];`,
	})
	bundle, cached, err := b.Build(context.Background(), dir, entry)
	if err != nil || cached || !strings.Contains(string(bundle), `Symbol.for("installed package")`) {
		t.Errorf("after installing the package: cached %v, err %v, bundle:\n%s", cached, err, bundle)
	}
}

// TestSourceMap checks that positions in the bundle, as QuickJS writes
// them, are told in the user's files: across imported files, through
// stripped type annotations.
func TestSourceMap(t *testing.T) {
	dir := t.TempDir()
	testkit.WriteFiles(t, dir, map[string]string{
		"api/x.ts":    "import { fail } from './_lib';\ntype N = number;\nconst n: N = 1;\nexport function GET(): Response {\n  return fail(n);\n}\n",
		"api/_lib.ts": "export function fail(n: number): never {\n  throw new Error('x' + n);\n}\n",
	})
	b := &jsbuild.Builder{CacheDir: t.TempDir()}
	bundle, _, err := b.BuildMapped(context.Background(), dir, "api/x.ts")
	if err != nil {
		t.Fatal(err)
	}
	// Find in the bundle the positions of "Error(" and "fail(n)".
	at := func(s string) string {
		for i, line := range strings.Split(string(bundle.Code), "\n") {
			if c := strings.Index(line, s); c >= 0 {
				return fmt.Sprintf("%s:%d:%d", jsbuild.Name, i+1, c+1)
			}
		}
		t.Fatalf("%q is not in the bundle:\n%s", s, bundle.Code)
		return ""
	}
	trace := "Error: x1\n    at fail (" + at("Error(") + ")\n    at GET (" + at("fail(n)") + ")\n    at <anonymous> (wfn:prelude:21:1)\n    at " + jsbuild.Name + ":9999:1\n"
	want := "Error: x1\n    at fail (api/_lib.ts:2:13)\n    at GET (api/x.ts:5:10)\n    at <anonymous> (wfn:prelude:21:1)\n    at " + jsbuild.Name + ":9999:1\n"
	if got := bundle.Map.Rewrite(trace); got != want {
		t.Errorf("Rewrite:\n%s\nwant:\n%s", got, want)
	}
	// A cached bundle comes with its map.
	cachedBundle, cached, err := b.BuildMapped(context.Background(), dir, "api/x.ts")
	if err != nil || !cached || cachedBundle.Map.Rewrite(trace) != want {
		t.Errorf("cached: %v, err %v, rewritten %q", cached, err, cachedBundle.Map.Rewrite(trace))
	}
	var none *jsbuild.SourceMap
	if got := none.Rewrite(trace); got != trace {
		t.Errorf("a nil map rewrote %q", got)
	}
}

// TestBuildInputs checks that a bundle names the files it was made of,
// relative to the served directory, whether it was bundled or came from
// the cache: the host reloads a function when one of them changes.
func TestBuildInputs(t *testing.T) {
	dir := t.TempDir()
	testkit.WriteFiles(t, dir, map[string]string{
		"api/a.ts":                        `import { n } from "../lib/shared"; import data from "./_data.json"; import { shout } from "shout"; export function GET() { return new Response(shout(n + data.x)); }`,
		"api/b.ts":                        `export function GET() { return new Response("b"); }`,
		"api/_data.json":                  `{"x": "!"}`,
		"lib/shared.ts":                   `export const n: string = "shared";`,
		"node_modules/shout/package.json": `{"name": "shout", "main": "index.js"}`,
		"node_modules/shout/index.js":     `exports.shout = (s) => s.toUpperCase();`,
		"tsconfig.json":                   `{}`,
	})
	b := &jsbuild.Builder{CacheDir: t.TempDir()}
	want := []string{"api/_data.json", "api/a.ts", "lib/shared.ts", "node_modules/shout/index.js"}
	for _, tc := range []struct {
		name   string
		cached bool
	}{{"bundled", false}, {"cached", true}} {
		t.Run(tc.name, func(t *testing.T) {
			bundle, cached, err := b.BuildMapped(t.Context(), dir, "api/a.ts")
			if err != nil || cached != tc.cached {
				t.Fatalf("BuildMapped: cached %v, err %v; want cached %v", cached, err, tc.cached)
			}
			if !slices.Equal(bundle.Inputs, want) {
				t.Errorf("Inputs = %q, want %q", bundle.Inputs, want)
			}
		})
	}
}

// TestBuildCacheSeesResolution checks that a cached bundle is not reused
// once an import would resolve elsewhere, though none of the files it was
// made of changed, and is reused after a change that cannot move one.
func TestBuildCacheSeesResolution(t *testing.T) {
	dir := t.TempDir()
	testkit.WriteFiles(t, dir, map[string]string{
		"api/a.ts":                        `import { kind } from "../lib/util"; import { shout } from "shout"; export function GET() { return new Response(shout(kind)); }`,
		"lib/util.js":                     `export const kind = "util.js";`,
		"node_modules/shout/package.json": `{"name": "shout", "main": "index.js"}`,
		"node_modules/shout/index.js":     `exports.shout = (s) => s + " from index.js";`,
		"node_modules/shout/other.js":     `exports.shout = (s) => s + " from other.js";`,
	})
	b := &jsbuild.Builder{CacheDir: t.TempDir()}
	if _, _, err := b.Build(t.Context(), dir, "api/a.ts"); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		files  map[string]string
		cached bool
		want   string // in the bundle
	}{
		{"an editor's dot file beside an input", map[string]string{"lib/.util.js.swp": "x"}, true, `"util.js"`},
		{"a file created beside the input an import resolved to", map[string]string{"lib/util.ts": `export const kind: string = "util.ts";`}, false, `"util.ts"`},
		{"a package's main", map[string]string{"node_modules/shout/package.json": `{"name": "shout", "main": "other.js"}`}, false, `" from other.js"`},
		{"a package installed closer", map[string]string{
			"api/node_modules/shout/package.json": `{"name": "shout", "main": "index.js"}`,
			"api/node_modules/shout/index.js":     `exports.shout = (s) => s + " from api";`,
		}, false, `" from api"`},
		{"nothing", nil, true, `" from api"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			testkit.WriteFiles(t, dir, tc.files)
			bundle, cached, err := b.Build(t.Context(), dir, "api/a.ts")
			if err != nil || cached != tc.cached || !strings.Contains(string(bundle), tc.want) {
				t.Errorf("Build: cached %v, err %v, want cached %v and a bundle with %s:\n%s", cached, err, tc.cached, tc.want, bundle)
			}
		})
	}
}

// TestBuildDoesNotCacheAnInputWrittenDuringIt: a bundle whose input was
// modified after the build began (an editor saving again while esbuild
// ran) is served but not stored: its key, hashed from the files as they
// are after the build, might not be the bundle's, and the next build
// would get stale code. The input is stamped in the future to stand for
// that write.
func TestBuildDoesNotCacheAnInputWrittenDuringIt(t *testing.T) {
	dir := t.TempDir()
	testkit.WriteFiles(t, dir, map[string]string{
		"api/a.ts":      `import { n } from "../lib/shared"; export function GET() { return new Response(n); }`,
		"lib/shared.ts": `export const n: string = "shared";`,
	})
	shared := filepath.Join(dir, "lib", "shared.ts")
	b := &jsbuild.Builder{CacheDir: t.TempDir()}
	for _, tc := range []struct {
		name   string
		mtime  time.Time
		cached bool
	}{
		{"written during the build", time.Now().Add(time.Hour), false},
		{"again: not stored", time.Now().Add(time.Hour), false},
		{"written before the build", time.Now().Add(-time.Hour), false},
		{"stored", time.Now().Add(-time.Hour), true},
	} {
		if err := os.Chtimes(shared, tc.mtime, tc.mtime); err != nil {
			t.Fatal(err)
		}
		bundle, cached, err := b.BuildMapped(t.Context(), dir, "api/a.ts")
		if err != nil || cached != tc.cached || !strings.Contains(string(bundle.Code), "shared") {
			t.Fatalf("%s: cached %v, err %v; want cached %v and the bundle", tc.name, cached, err, tc.cached)
		}
	}
}

// A file saved while its bundle builds, with a modification time that
// does not tell (Linux stamps files from a clock that lags the one the
// build's start is read from, by up to a scheduler tick; some file
// systems keep whole seconds), does not put one content's bundle under
// another's key. The key hashed the files after the build: a save after
// esbuild read api/a.ts stored the former code under the new content's
// key, and the next build (wfn dev's reload of the save) served it from
// the cache until the file changed again. The test saves api/a.ts, stamped
// a second before the build began, when esbuild loads the file it imports
// (after esbuild read api/a.ts), and when esbuild loads api/a.ts itself:
// after wfn read it for the key and before esbuild reads it, so that the
// key, hashed from what wfn read, is not the bundle's.
func TestBuildSavedDuringBuildWithPastTime(t *testing.T) {
	for _, tc := range []struct {
		loaded string // the file whose load saves api/a.ts
		first  string // the code the first bundle holds
	}{
		{"shared.ts", "code-AAAA"},
		{"a.ts", "code-BBBB"},
	} {
		t.Run(tc.loaded, func(t *testing.T) {
			dir := t.TempDir()
			a := filepath.Join(dir, "api", "a.ts")
			past := time.Now().Add(-time.Second)
			save := func(v string) {
				t.Helper()
				src := `import { n } from "../lib/shared"; export function GET() { return new Response("code-` + v + `" + n); }`
				if err := os.WriteFile(a, []byte(src), 0o644); err != nil {
					t.Error(err)
				}
				if err := os.Chtimes(a, past, past); err != nil {
					t.Error(err)
				}
			}
			testkit.WriteFiles(t, dir, map[string]string{"api/a.ts": "", "lib/shared.ts": `export const n: string = "shared";`})
			save("AAAA")
			b := &jsbuild.Builder{CacheDir: t.TempDir()}
			saved := false
			defer jsbuild.SetTestHookLoad(func(path string) {
				if filepath.Base(path) == tc.loaded && !saved {
					saved = true
					save("BBBB")
				}
			})()
			for i, want := range []struct {
				code   string
				cached bool // when it is to be
			}{
				{code: tc.first},
				{code: "code-BBBB"}, // the reload of the save
				{code: "code-BBBB", cached: true},
				{code: "code-AAAA"}, // an undo
			} {
				if i == 3 {
					save("AAAA")
				}
				bundle, cached, err := b.BuildMapped(t.Context(), dir, "api/a.ts")
				if err != nil {
					t.Fatal(err)
				}
				if !strings.Contains(string(bundle.Code), want.code) || want.cached && !cached {
					t.Errorf("build %d: the bundle holds %q (cached %v), want %s%s", i+1, regexp.MustCompile(`code-[A-Z]+`).FindString(string(bundle.Code)), cached, want.code, map[bool]string{true: " (cached)"}[want.cached])
				}
				if !saved {
					t.Fatalf("the build did not load %s", tc.loaded)
				}
			}
		})
	}
}
