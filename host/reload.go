package host

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc64"
	"log/slog"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/wfn-dev/wfn/host/internal/project"
	"github.com/wfn-dev/wfn/host/internal/route"
)

// state is what New loads and Reload replaces at once: a request reads
// one state from its routing to its function.
type state struct {
	project *project.Project
	fns     []*function
	table   *route.Table
	routing *routing
	digest  uint64           // of the routing configuration, for the CDN cache's keys
	failed  map[string]error // source path -> why its rebuild failed, while the former version serves
}

// setFunctions sets fns and the route table over them.
func (st *state) setFunctions(fns []*function) {
	st.fns = fns
	srcs := make([]*route.Source, len(fns))
	for i, fn := range fns {
		srcs[i] = fn.src
	}
	st.table = route.NewTable(srcs)
}

// routingDigest hashes what vercel.json adds to responses (headers,
// rewrites), which the CDN cache stores with them, and the static files.
func routingDigest(proj *project.Project, rt *routing) uint64 {
	d := crc64.New(crcTable)
	_, _ = d.Write(proj.Routing.JSON())
	rt.digest(d)
	return d.Sum64()
}

// settingsKey is a function's settings and project environment in one
// string: a function whose key changes is loaded again.
func settingsKey(set project.Settings, proj *project.Project) string {
	b, _ := json.Marshal(struct {
		Set    project.Settings
		Env    map[string]string
		Dotenv map[string]string
	}{set, proj.Env, proj.Dotenv})
	return string(b)
}

// scope is the CDN cache's key scope of a function under one routing
// configuration.
type scope struct {
	routing uint64
	value   string
}

// scope names what the CDN cache's entries for fn (nil: a static file)
// belong to: the deployment id when one was given, else the function's
// path, code and environment and the routing configuration, so that a
// restart with the same code finds its entries and a changed function
// (at a restart or a Reload) is not answered from its former self's.
func (h *Host) scope(st *state, fn *function) string {
	if h.explicit {
		return h.cfg.DeploymentID
	}
	if fn == nil {
		return fmt.Sprintf("code-%016x", st.digest)
	}
	if sc := fn.scope.Load(); sc != nil && sc.routing == st.digest {
		return sc.value
	}
	d := crc64.New(crcTable)
	fmt.Fprintf(d, "%016x\x00%016x", st.digest, fn.digest)
	sc := &scope{routing: st.digest, value: fmt.Sprintf("code-%016x", d.Sum64())}
	fn.scope.Store(sc)
	return sc.value
}

// refs counts the invocations that hold a function, so that the function
// a Reload replaced closes its instances after the last one.
type refs struct {
	// state is the number of references, with retiredBit set once the
	// function is retired: one atomic operation per acquire and release.
	state  atomic.Int64
	closed sync.Once
}

const retiredBit = 1 << 62

// acquire takes a reference, or reports false once the function is
// retired.
func (fn *function) acquire() bool {
	if fn.refs.state.Add(1)&retiredBit == 0 {
		return true
	}
	fn.release() // retired since: this reference may be the one it waits for
	return false
}

// release gives a reference back; the last one of a retired function
// closes it.
func (fn *function) release() {
	if fn.refs.state.Add(-1) == retiredBit {
		_ = fn.close()
	}
}

// retire stops new invocations of fn; it closes at once when none holds
// it, else when the last one ends. fn must be loaded (ready closed).
func (fn *function) retire() error {
	if fn.refs.state.Or(retiredBit) == 0 {
		return fn.close()
	}
	return nil
}

// close closes the function's pool (instances in use close when they are
// put back), its compiled module after its last instance, and its
// outbound client, once.
func (fn *function) close() error {
	var err error
	fn.refs.closed.Do(func() {
		if fn.pool != nil {
			fn.retireCode() // the pool's last instance closes the module
			err = fn.pool.Close(context.Background())
		}
		if fn.fluid != nil {
			err = fn.closeFluid()
		}
		if fn.client != nil {
			fn.client.Close()
		}
	})
	return err
}

// loader builds and compiles functions, GOMAXPROCS at a time, until Close.
type loader struct {
	loadCtx  context.Context
	stopLoad context.CancelFunc
	loading  sync.WaitGroup
	slots    chan struct{}
}

func (l *loader) init(ctx context.Context) {
	l.loadCtx, l.stopLoad = context.WithCancel(context.WithoutCancel(ctx))
	l.slots = make(chan struct{}, runtime.GOMAXPROCS(0))
}

// stopLoading stops the builds in progress, lets a Reload in progress
// end (it adds no loaders once it sees the host closed), and waits for
// the loaders.
func (h *Host) stopLoading() {
	if h.stopLoad == nil {
		return
	}
	h.stopLoad()
	h.reloadMu.Lock()
	defer h.reloadMu.Unlock()
	h.loading.Wait()
}

// loadAll loads fns in the background, closing each one's ready channel
// when it is done, and logs each one's outcome, then a summary. With
// prewarm, each pool makes its reserve as soon as its function is loaded
// (at start); Reload prewarms after the swap instead.
func (h *Host) loadAll(ctx context.Context, fns []*function, prewarm bool) {
	start := time.Now()
	var mu sync.Mutex
	done, failed := 0, 0
	finish := func(fn *function, took time.Duration) {
		mu.Lock()
		done++
		if fn.err != nil {
			failed++
		}
		progress := fmt.Sprintf("%d/%d", done, len(fns))
		last := done == len(fns)
		mu.Unlock()
		stopped := ctx.Err() != nil // Close, or a Reload given up: the build was cut short
		switch {
		case fn.err != nil && stopped:
			h.log.Debug("function load stopped", "fn", fn.src.Path, "progress", progress, "err", fn.err)
		case fn.err != nil:
			h.log.Error("function failed to load", "fn", fn.src.Path, "progress", progress, "err", fn.err)
		default:
			args := []any{"fn", fn.src.Path, "route", fn.src.Route, "progress", progress, "took", took.Round(time.Millisecond)}
			if fn.interp {
				args = append(args, "engine", interpreter)
			}
			h.log.Info("function ready", args...)
			if prewarm && fn.pool != nil {
				fn.pool.Prewarm()
			}
		}
		if last && !stopped {
			level := slog.LevelInfo
			if failed > 0 {
				level = slog.LevelWarn // each failure was logged at ERROR above
			}
			h.log.Log(context.Background(), level, "functions loaded", "ready", len(fns)-failed, "failed", failed, "took", time.Since(start).Round(time.Millisecond))
			// Compiling leaves garbage (the compiler's working memory, the
			// code serialized for the disk cache): a Go guest's compile
			// left wfn serve at 229 MiB of RSS idle, kept until a later
			// collection and returned to the system slowly after it. It
			// goes now, once per load (BENCHMARKS.md, v2 density, third
			// pass).
			debug.FreeOSMemory()
		}
	}
	var queue []*function
	for _, fn := range fns {
		if fn.err != nil { // a route conflict, an unsupported language
			finish(fn, 0)
			close(fn.ready)
			continue
		}
		queue = append(queue, fn)
	}
	h.loading.Add(len(queue))
	for _, fn := range queue {
		var once sync.Once
		// begin starts loading fn, once; slot says whether it holds one of
		// the slots, which it gives back when done.
		begin := func(slot bool) (began bool) {
			once.Do(func() {
				began = true
				go func() {
					defer h.loading.Done()
					defer close(fn.ready)
					if slot {
						defer func() { <-h.slots }()
					}
					if err := ctx.Err(); err != nil {
						fn.err = fmt.Errorf("wfn: loading %s interrupted: %w", fn.src.Path, err)
						return
					}
					t := time.Now()
					if gate := h.cfg.loadGate; gate != nil {
						gate(fn.src.Path)
					}
					fn.err = h.load(ctx, fn)
					if fn.err != nil && ctx.Err() != nil {
						// What the cut build said (a killed compiler's
						// empty output) is not why.
						fn.err = fmt.Errorf("wfn: loading %s interrupted: %w", fn.src.Path, ctx.Err())
					}
					finish(fn, time.Since(t))
				}()
			})
			return began
		}
		fn.begin = begin
		fn.hurry = func() { begin(false) }
	}
	// Functions load in order, a slot each; one that a request waits for
	// starts at once, without a slot (ServeHTTP calls hurry).
	go func() {
		for _, fn := range queue {
			select {
			case h.slots <- struct{}{}:
				if !fn.begin(true) {
					<-h.slots
				}
			case <-ctx.Done():
				fn.begin(false) // ends at once
			}
		}
	}()
}

// Loaded waits until every function of the current state is loaded or
// has failed to (Functions then says which), or until ctx is done.
func (h *Host) Loaded(ctx context.Context) error {
	for _, fn := range h.st.Load().fns {
		select {
		case <-fn.ready:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}

// writeLoadError answers a request to a function that failed to load.
func (h *Host) writeLoadError(w http.ResponseWriter, r *http.Request, id string, fn *function) {
	if h.cfg.ShowBuildErrors {
		writeErrorOutput(w, r, http.StatusInternalServerError, CodeInvocationFailed, id, "The function "+fn.src.Path+" failed to load.", fn.err.Error())
		return
	}
	writeError(w, r, http.StatusInternalServerError, CodeInvocationFailed, id, "The function "+fn.src.Path+" failed to load; the server log says why.")
}

// Reload brings the host up to date with its directory after files
// changed. changed are the paths that changed (relative to Config.Dir or
// absolute; none means everything). It scans api/ again, reads
// vercel.json, wfn.json and .env again when one of them changed, builds
// and compiles the new functions, those whose files (or settings) the
// change touches and, conservatively, every function of a language whose
// shared files changed (a .go file outside any function touches the Go
// functions, a .h file the C ones); the build caches make the unchanged
// ones cheap. A script function is touched by the files its last bundle
// was made of, wherever they are; a script file that no bundle was made of
// (it may be new, and change where an import resolves), a bundle's file
// that is gone, or a package.json, tsconfig or jsconfig file touches every
// script function (affected says exactly which). When they are loaded it
// swaps them in at once: invocations in flight finish on the code they
// started on, requests from then on get the new code, and the functions
// that are gone stop taking requests and close their instances after their
// last invocation. A function that fails to build keeps its former version
// serving (Functions reports the failure as ReloadErr); one without a
// former version answers 500 with the error. An invalid vercel.json,
// wfn.json or .env keeps the former configuration, and Reload returns the
// error (ErrConfig); build errors are not returned. Reload waits for the
// functions still loading at start. It returns ErrClosed after Close.
func (h *Host) Reload(ctx context.Context, changed ...string) error {
	h.reloadMu.Lock()
	defer h.reloadMu.Unlock()
	if h.isClosed() {
		return ErrClosed
	}
	start := time.Now()
	if err := h.Loaded(ctx); err != nil {
		return err
	}
	prev := h.st.Load()
	rels, all := h.relPaths(changed)
	proj, rt := prev.project, prev.routing
	var cfgErr error
	if all || slices.ContainsFunc(rels, isConfigFile) || slices.Contains(rels, "public") {
		p, err := project.Load(h.cfg.Dir)
		if err == nil {
			var r *routing
			if r, err = newRouting(h.cfg.Dir, p.Routing.JSON()); err == nil {
				proj, rt = p, r
			}
		}
		if err != nil {
			cfgErr = invalidConfig(err)
			h.log.Error("configuration not reloaded: the former one stays", "err", err)
		}
	}
	if proj != prev.project && len(proj.Ignored) > 0 {
		h.log.Info("configuration properties that have no effect in wfn", "properties", strings.Join(proj.Ignored, ", "))
	}
	srcs, err := route.Scan(h.cfg.Dir)
	if err != nil {
		if rt != prev.routing {
			rt.close()
		}
		return fmt.Errorf("%w %s: %w", ErrDir, h.cfg.Dir, err)
	}
	before := make(map[string]*function, len(prev.fns))
	for _, fn := range prev.fns {
		before[fn.src.Path] = fn
	}
	touched := affected(srcs, rels, all, bundleInputs(prev), h.gone(rels))
	fns := make([]*function, len(srcs))
	var load []*function
	failed := map[string]error{}
	for i, src := range srcs {
		fn, err := h.settings(proj, src)
		if err != nil { // an invalid allowedOutboundHosts
			fn = &function{src: src, err: err, ready: make(chan struct{}), counters: new(fnCounters)}
		}
		old := before[src.Path]
		if old != nil {
			fn.counters = old.counters // the metrics count by path: they do not start over
		}
		if old != nil && src.Err == nil && old.src.Err == nil && !touched[src] && sameSource(old.src, src) && old.config == fn.config {
			fns[i] = old
			if err, ok := prev.failed[src.Path]; ok {
				failed[src.Path] = err
			}
			_ = fn.close()
			continue
		}
		fns[i] = fn
		if fn.err == nil {
			// Config.TieredReload; not a script's: the JavaScript runtime
			// is one module, compiled once (and from then on found in the
			// compilation cache), and far too slow on the interpreter.
			fn.quick = src.Kind != route.Script
			load = append(load, fn)
		} else {
			close(fn.ready)
		}
	}
	if len(load) > 0 {
		rb := &rebuild{paths: make(map[string]bool, len(load)), done: make(chan struct{})}
		var added []*route.Source
		for _, fn := range load {
			rb.paths[fn.src.Path] = true
			if before[fn.src.Path] == nil {
				added = append(added, fn.src)
			}
		}
		if len(added) > 0 {
			rb.added = route.NewTable(added)
		}
		h.rebuilding.Store(rb)
		defer func() {
			h.rebuilding.Store(nil)
			close(rb.done)
		}()
	}
	ctx, cancel := context.WithCancel(ctx)
	defer context.AfterFunc(h.loadCtx, cancel)()
	defer cancel()
	h.loadAll(ctx, load, false)
	for _, fn := range load {
		<-fn.ready
	}
	if gate := h.cfg.reloadGate; gate != nil && len(load) > 0 {
		gate()
	}
	if h.isClosed() || ctx.Err() != nil {
		for _, fn := range load {
			_ = fn.close()
		}
		if rt != prev.routing {
			rt.close()
		}
		if h.isClosed() {
			return ErrClosed
		}
		return ctx.Err()
	}
	// A function that fails to build keeps its former version, if that one
	// was loaded and still has its route; so does one that the scan
	// refused (a Go file that does not parse, a Handler of another shape),
	// unless another source now claims its route.
	for i, fn := range fns {
		old := before[fn.src.Path]
		if fn == old || fn.err == nil || errors.Is(fn.src.Err, route.ErrConflict) || old == nil || old.err != nil || old.src.Route != fn.src.Route || slices.Contains(fns, old) {
			continue
		}
		h.log.Error("function failed to rebuild: its former version still serves", "fn", fn.src.Path)
		failed[fn.src.Path] = fn.err
		_ = fn.close()
		fns[i] = old
	}
	st := &state{project: proj, routing: rt, digest: routingDigest(proj, rt), failed: failed}
	st.setFunctions(fns)
	h.st.Store(st)

	var added, removed, rebuilt []string
	for _, fn := range fns {
		if before[fn.src.Path] == nil {
			added = append(added, fn.src.Path)
		} else if before[fn.src.Path] != fn {
			rebuilt = append(rebuilt, fn.src.Path)
		}
		if slices.Contains(load, fn) && fn.err == nil && fn.pool != nil {
			fn.pool.Prewarm()
			if fn.interp {
				h.tierUp(fn)
			}
		}
	}
	for _, old := range prev.fns {
		if !slices.Contains(fns, old) {
			if !slices.ContainsFunc(fns, func(f *function) bool { return f.src.Path == old.src.Path }) {
				removed = append(removed, old.src.Path)
			}
			_ = old.retire()
		}
	}
	if rt != prev.routing {
		h.retired = append(h.retired, prev.routing)
	}
	if proj != prev.project {
		h.startCrons(proj, h.cfg.cronClock)
	}
	h.log.Info("reloaded", "added", strings.Join(added, ","), "rebuilt", strings.Join(rebuilt, ","), "removed", strings.Join(removed, ","),
		"config", proj != prev.project, "took", time.Since(start).Round(time.Millisecond))
	return cfgErr
}

// rebuildWait bounds how long a request waits for its function's
// rebuild (a build has no timeout of its own); after it, the former
// version answers.
const rebuildWait = 2 * time.Minute

// rebuild is a Reload that is building functions: paths are their source
// paths, added the routes of the new ones (nil: none), and done is closed
// once the Reload has swapped them in, or failed.
type rebuild struct {
	paths map[string]bool
	added *route.Table
	done  chan struct{}
}

// wait waits for the rebuild to end, at most rebuildWait; it reports
// false when ctx ended first (the client is gone).
func (rb *rebuild) wait(ctx context.Context) bool {
	t := time.NewTimer(rebuildWait)
	defer t.Stop()
	select {
	case <-rb.done:
	case <-t.C:
	case <-ctx.Done():
		return false
	}
	return true
}

// errCodeChanged is why tierUp gives up when a function's files changed
// after the Reload that loaded it.
var errCodeChanged = errors.New("wfn: the function's code changed")

// tierUp compiles fn, loaded on the interpreter (Config.TieredReload), in
// the background, and swaps the compiled version in for it as Reload
// swaps: invocations in flight end on the interpreter, later ones get
// the compiled code. It gives up when a Reload has replaced fn meanwhile,
// when its files changed since (the pending Reload builds them), and at
// Close. h.reloadMu is held.
func (h *Host) tierUp(fn *function) {
	h.tiering.Add(1)
	go func() {
		defer h.tiering.Done()
		start := time.Now()
		next, err := h.settings(fn.proj, fn.src)
		if err == nil {
			next.counters = fn.counters
			err = h.load(h.loadCtx, next) // the build comes from the build cache
			close(next.ready)
		}
		if err == nil && next.digest != fn.digest {
			err = errCodeChanged
		}
		if gate := h.cfg.tierGate; gate != nil {
			select { // a test holds the swap
			case <-gate:
			case <-h.loadCtx.Done():
			}
		}
		h.reloadMu.Lock()
		defer h.reloadMu.Unlock()
		st := h.st.Load()
		i := slices.Index(st.fns, fn)
		if err != nil || i < 0 || h.isClosed() {
			if next != nil {
				_ = next.close()
			}
			switch {
			case errors.Is(err, errCodeChanged):
				h.log.Debug("function not compiled: its files changed since, the next reload builds them", "fn", fn.src.Path)
			case err != nil && h.loadCtx.Err() == nil:
				h.log.Warn("function not compiled: the interpreter still serves it", "fn", fn.src.Path, "err", err)
			}
			return
		}
		fns := slices.Clone(st.fns)
		fns[i] = next
		tiered := *st
		tiered.setFunctions(fns)
		h.st.Store(&tiered)
		next.pool.Prewarm()
		_ = fn.retire()
		h.log.Info("function compiled", "fn", fn.src.Path, "took", time.Since(start).Round(time.Millisecond))
	}()
}

func (h *Host) isClosed() bool {
	h.mu.RLock()
	defer h.mu.RUnlock()
	return h.closed
}

// relPaths makes changed relative to the served directory, with slashes;
// all is true when changed is empty or a path is the directory itself
// (wfn dev's watcher names it when it lost events) or outside it.
func (h *Host) relPaths(changed []string) (rels []string, all bool) {
	if len(changed) == 0 {
		return nil, true
	}
	for _, p := range changed {
		if !filepath.IsAbs(p) {
			p = filepath.Join(h.cfg.Dir, p)
		}
		rel, err := filepath.Rel(h.cfg.Dir, p)
		if err != nil || rel == "." || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
			return nil, true
		}
		rels = append(rels, filepath.ToSlash(rel))
	}
	return rels, false
}

// isConfigFile reports whether rel is a file project.Load reads.
func isConfigFile(rel string) bool {
	return rel == "vercel.json" || rel == "wfn.json" || rel == ".env"
}

// sameSource reports whether a and b are built the same way from the same
// files.
func sameSource(a, b *route.Source) bool {
	return a.Kind == b.Kind && a.Route == b.Route && a.Handler == b.Handler &&
		slices.Equal(a.GoFiles, b.GoFiles) && slices.Equal(a.CFiles, b.CFiles)
}

// owns reports whether the file or directory at rel is part of src itself.
func owns(src *route.Source, rel string) bool {
	switch src.Kind {
	case route.GoPackage, route.CSources:
		return rel == src.Path || strings.HasPrefix(rel, src.Path+"/")
	case route.GoHandler:
		return rel == src.Path || path.Dir(rel) == path.Dir(src.Path) && slices.Contains(src.GoFiles, path.Base(rel)) || src.EmbedsFile(rel)
	}
	return rel == src.Path
}

// kindsOf are the kinds of function that a file with this extension,
// outside the functions that own it, may go into: a shared Go package, a
// header, a module that scripts import.
var kindsOf = map[string][]route.Kind{
	".go": {route.GoPackage, route.GoHandler}, ".mod": {route.GoPackage, route.GoHandler},
	".sum": {route.GoPackage, route.GoHandler}, ".work": {route.GoPackage, route.GoHandler},
	".c": {route.CSources}, ".h": {route.CSources},
	".js": {route.Script}, ".mjs": {route.Script}, ".cjs": {route.Script}, ".ts": {route.Script},
	".mts": {route.Script}, ".cts": {route.Script}, ".jsx": {route.Script}, ".tsx": {route.Script},
	".json": {route.Script},
}

// bundleInputs returns the files each script function's last bundle was
// made of (jsbuild's Bundle.Inputs), by source path, for the functions
// that loaded and whose latest rebuild did not fail. The others are left
// out: the bundle their next build makes may read other files (a failed
// build reports none), so any script file's change must reload them.
func bundleInputs(st *state) map[string][]string {
	out := map[string][]string{}
	for _, fn := range st.fns {
		if _, failed := st.failed[fn.src.Path]; failed || fn.src.Kind != route.Script || fn.err != nil || fn.inputs == nil {
			continue
		}
		out[fn.src.Path] = fn.inputs
	}
	return out
}

// gone returns the paths among rels that no longer exist (or cannot be
// seen): a file removed or renamed away may change where another file's
// import resolves.
func (h *Host) gone(rels []string) map[string]bool {
	out := map[string]bool{}
	for _, rel := range rels {
		if _, err := os.Lstat(filepath.Join(h.cfg.Dir, filepath.FromSlash(rel))); err != nil {
			out[rel] = true
		}
	}
	return out
}

// bundledFrom reports whether the file or directory rel is, or holds, one
// of inputs (sorted).
func bundledFrom(inputs []string, rel string) bool {
	if _, found := slices.BinarySearch(inputs, rel); found {
		return true
	}
	i, _ := slices.BinarySearch(inputs, rel+"/")
	return i < len(inputs) && strings.HasPrefix(inputs[i], rel+"/")
}

// isScriptConfig reports whether rel is a file that decides how every
// script's imports resolve or compile, which esbuild reads without
// listing it among a bundle's inputs: a package.json (its main, exports,
// browser and sideEffects fields) or a tsconfig or jsconfig file (paths,
// baseUrl, JSX settings, and the files they extend by the usual names).
func isScriptConfig(rel string) bool {
	base := path.Base(rel)
	return base == "package.json" || path.Ext(base) == ".json" && (strings.HasPrefix(base, "tsconfig") || strings.HasPrefix(base, "jsconfig"))
}

// affected returns the sources that the changed files (rels) may change:
// each file's owners; for a file no function owns, every function of the
// kinds its extension feeds (kindsOf); configuration files are left to
// the settings' comparison. Scripts are told apart by inputs, the files
// each one's last bundle was made of (bundleInputs): a file some bundles
// were made of touches those functions, and the scripts with no recorded
// bundle; any other script file touches every script, as it may be new
// and change where an import resolves (the watcher cannot tell a file
// created from one written: an editor's save may replace the file). So
// do a bundle's file that is gone (an import of it now resolves
// elsewhere, or fails) and the files of isScriptConfig. A changed path
// that names a bundle's file otherwise than esbuild did (through a
// symbolic link) matches no bundle, and so touches every script.
func affected(srcs []*route.Source, rels []string, all bool, inputs map[string][]string, gone map[string]bool) map[*route.Source]bool {
	out := map[*route.Source]bool{}
	mark := func(kinds ...route.Kind) {
		for _, s := range srcs {
			if kinds == nil || slices.Contains(kinds, s.Kind) {
				out[s] = true
			}
		}
	}
	if all {
		mark()
		return out
	}
	for _, rel := range rels {
		if isConfigFile(rel) {
			continue
		}
		owned, imported := false, false
		for _, s := range srcs {
			if owns(s, rel) {
				out[s], owned = true, true
			}
			if s.Kind == route.Script && bundledFrom(inputs[s.Path], rel) {
				out[s], imported = true, true
			}
		}
		ext := path.Ext(rel)
		kinds, known := kindsOf[ext]
		switch {
		case isScriptConfig(rel), imported && gone[rel]:
			mark(route.Script)
		case imported:
			for _, s := range srcs {
				if _, recorded := inputs[s.Path]; s.Kind == route.Script && !recorded {
					out[s] = true
				}
			}
		case owned && known && kinds[0] == route.Script:
			mark(route.Script)
		case owned:
		case known:
			mark(kinds...)
		}
	}
	return out
}
