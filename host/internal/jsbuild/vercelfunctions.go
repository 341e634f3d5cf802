package jsbuild

import (
	"os"
	"path/filepath"
	"sort"
	"sync"

	"github.com/evanw/esbuild/pkg/api"
)

// vercelFunctions is the package name of Vercel's @vercel/functions.
const vercelFunctions = "@vercel/functions"

// vercelModule is the source of wfn's own @vercel/functions: the API the
// runtime's prelude builds on the request context (prelude/vercel.js),
// exported under the package's names.
const vercelModule = `const m = globalThis[Symbol.for("wfn:@vercel/functions")];
export const { waitUntil, getEnv, geolocation, ipAddress, getCache, invalidateByTag, dangerouslyDeleteByTag,
  invalidateBySrcImage, dangerouslyDeleteBySrcImage, addCacheTag, getDeadline } = m;
`

// fallback resolves "@vercel/functions" to wfn's own module when the
// project does not have the package installed, and records where the
// package was looked for, so that a cached bundle made with the fallback is
// rebuilt once the package is installed.
type fallback struct {
	mu     sync.Mutex
	absent map[string]bool // package.json paths that did not exist
}

func (f *fallback) plugin() api.Plugin {
	return api.Plugin{
		Name: "wfn-vercel-functions",
		Setup: func(b api.PluginBuild) {
			b.OnResolve(api.OnResolveOptions{Filter: `^@vercel/functions$`}, func(args api.OnResolveArgs) (api.OnResolveResult, error) {
				if args.PluginData == f {
					return api.OnResolveResult{}, nil // the inner resolve below: esbuild's own
				}
				res := b.Resolve(args.Path, api.ResolveOptions{
					Importer: args.Importer, Namespace: args.Namespace, ResolveDir: args.ResolveDir,
					Kind: args.Kind, PluginData: f,
				})
				if len(res.Errors) == 0 {
					return api.OnResolveResult{Path: res.Path, Namespace: res.Namespace, External: res.External, Suffix: res.Suffix, PluginData: res.PluginData}, nil
				}
				f.record(args.ResolveDir)
				return api.OnResolveResult{Path: vercelFunctions, Namespace: "wfn"}, nil
			})
			b.OnLoad(api.OnLoadOptions{Filter: `.*`, Namespace: "wfn"}, func(api.OnLoadArgs) (api.OnLoadResult, error) {
				src := vercelModule
				return api.OnLoadResult{Contents: &src, Loader: api.LoaderJS}, nil
			})
		},
	}
}

// record notes the package.json of @vercel/functions in each node_modules
// that resolution from dir would have found, from dir up to the root.
func (f *fallback) record(dir string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.absent == nil {
		f.absent = map[string]bool{}
	}
	for d := filepath.Clean(dir); ; {
		if filepath.Base(d) != "node_modules" {
			f.absent[filepath.Join(d, "node_modules", filepath.FromSlash(vercelFunctions), "package.json")] = true
		}
		parent := filepath.Dir(d)
		if parent == d {
			return
		}
		d = parent
	}
}

func (f *fallback) paths() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make([]string, 0, len(f.absent))
	for p := range f.absent {
		out = append(out, p)
	}
	sort.Strings(out)
	return out
}

// stillAbsent reports whether none of paths exists.
func stillAbsent(paths []string) bool {
	for _, p := range paths {
		if _, err := os.Stat(p); err == nil {
			return false
		}
	}
	return true
}
