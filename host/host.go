// Package host runs WebAssembly functions behind an http.Handler, the way
// Vercel runs functions: a handler per request, many invocations sharing
// warm instances in one process.
//
// New loads every function under a directory's api/ tree (Go packages and
// C files are built for you, JavaScript and TypeScript files are bundled
// and run on the embedded JavaScript runtime, .wasm files are used as they
// are), compiles each once, and returns a Host that routes requests to
// them. Each function keeps a pool of warm instances; an instance serves
// one invocation at a time and is thrown away if its guest traps. Guests
// talk to the host through the wfn ABI (package abi).
//
// A Host is an http.Handler, so it mounts in any Go server; Close drains it.
// Reload swaps in what changed in the directory (wfn dev), with the
// invocations in flight finishing on the code they started on.
package host

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc64"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/wfn-dev/wfn/abi"
	"github.com/wfn-dev/wfn/host/internal/cbuild"
	"github.com/wfn-dev/wfn/host/internal/cdn"
	"github.com/wfn-dev/wfn/host/internal/deadline"
	"github.com/wfn-dev/wfn/host/internal/engine"
	"github.com/wfn-dev/wfn/host/internal/fluid"
	"github.com/wfn-dev/wfn/host/internal/geo"
	"github.com/wfn-dev/wfn/host/internal/gobuild"
	"github.com/wfn-dev/wfn/host/internal/hostcall"
	"github.com/wfn-dev/wfn/host/internal/jsbuild"
	"github.com/wfn-dev/wfn/host/internal/jsruntime"
	"github.com/wfn-dev/wfn/host/internal/outbound"
	"github.com/wfn-dev/wfn/host/internal/pool"
	"github.com/wfn-dev/wfn/host/internal/project"
	"github.com/wfn-dev/wfn/host/internal/route"
)

// Host serves the functions of one directory. It is an http.Handler.
type Host struct {
	cfg    Config
	log    *slog.Logger
	engine engine.Engine
	limit  *pool.Limit

	// quick is the interpreter of Config.TieredReload, or nil; code holds
	// the crc64 of each module the engine compiled, which Reload does not
	// send to the interpreter again; tiering counts the compilations
	// running in the background (reload.go).
	quick   engine.Engine
	code    sync.Map // uint64 -> struct{}
	tiering sync.WaitGroup

	// st is the project as loaded: functions, route table, routing and
	// configuration. Reload replaces it whole; a request reads one.
	st       atomic.Pointer[state]
	builders builders
	loader                   // builds and compiles functions (reload.go)
	reloadMu sync.Mutex      // one Reload at a time
	retired  []*routing      // routings replaced by a Reload, closed by Close
	explicit bool            // cfg.DeploymentID was given
	cronMu   sync.Mutex      // guards crons and stopCron
	crons    []chan struct{} // each closed when a schedule has stopped
	stopCron context.CancelFunc

	// rebuilding is the Reload in progress while it builds functions:
	// their requests wait for it (reload.go).
	rebuilding atomic.Pointer[rebuild]

	idPrefix string
	idSeq    atomic.Uint64
	geoDB    *geo.DB   // or nil
	invs     sync.Pool // of *hostcall.Invocation

	mu     sync.RWMutex // guards closed against new invocations
	closed bool
	// closing is closed as ServeHTTP reads it, without mu: from Close
	// on, every request gets 503, static files and 404s included (Close
	// releases the routing they come from).
	closing atomic.Bool
	// abortingAll: Close's grace ran out and it aborts the invocations in
	// flight; an invocation aborted then is logged as stopped by the
	// shutdown, even if its client's connection is dropped after.
	abortingAll atomic.Bool
	inflight    sync.WaitGroup // invocations, until their tasks are done
	live        sync.Map       // *liveInstance -> struct{}

	checkTmp    bool // the engine lets a guest write past the limit of /tmp
	cacheDir    string
	cacheStores storeOpener // the Runtime Cache's and the CDN cache's

	counters   hostCounters  // Stats
	loadedCode atomic.Int64  // functions' modules with their compiled code in memory (Stats)
	stopUnload chan struct{} // closed by Close: ends the unloader (unload.go)
	unloading  sync.WaitGroup
}

var _ http.Handler = (*Host)(nil)

type function struct {
	src     *route.Source
	mod     engine.Module
	pool    *pool.Pool
	err     error
	exports engine.Exports
	allow   string // the Allow header for a 405

	maxDuration time.Duration
	memoryLimit uint64 // bytes
	cancel      bool   // supportsCancellation
	concurrency int    // live instances at most
	// instanceConcurrency bounds the invocations of one ABI v2 instance.
	instanceConcurrency int
	fluid               *fluidFunction // an ABI v2 function's, instead of mod and pool (fluid.go)
	fluidBuild          bool           // "fluid": true: a Go function is built with gobuild.TagFluid
	env                 map[string]string
	client              *outbound.Client
	policy              pool.Policy
	snapshot            bool
	digest              uint64 // of the guest's path, code and environment

	// srcmap is a script's bundle's source map, for the positions in its
	// stack traces; nil for the other guests.
	srcmap *jsbuild.SourceMap
	// inputs are the files a script's bundle was made of (jsbuild's
	// Bundle.Inputs), so that Reload reloads it when one of them changes
	// and not when another function's file does; nil for the other guests.
	inputs []string

	proj   *project.Project     // the configuration its settings come from
	config string               // its settings and environment, to see them change
	ready  chan struct{}        // closed when loaded: err, or mod, exports and pool, are set
	begin  func(slot bool) bool // starts loading it, once (loadAll)
	hurry  func()               // starts loading it now, for a request that waits
	quick  bool                 // load it on Host.quick if its code is new (Reload)
	interp bool                 // it was loaded on Host.quick
	scope  atomic.Pointer[scope]
	refs   refs // invocations that hold it, so that a Reload closes it after them
	code   code // whether mod's compiled code is loaded, and who holds it (unload.go)

	counters *fnCounters // Stats; a Reload's new version of a function keeps its former one's
}

// Function describes one function found by New.
type Function struct {
	// Route is the URL path pattern, such as /api/greet/[name].
	Route string
	// Source is the function's path under the served directory, such as
	// api/greet/[name] or api/hello.wasm.
	Source string
	// Err is why the function cannot be served, or nil.
	Err error
	// Loading is true while the function is still being built and
	// compiled (Config.LoadInBackground); Err is nil until it is done.
	Loading bool
	// ReloadErr is why the latest Reload could not build the function
	// while its former version, which has no Err, still serves; nil
	// otherwise.
	ReloadErr error
	// Interpreted is true while the function runs on wazero's
	// interpreter, until its compiled code takes over
	// (Config.TieredReload).
	Interpreted bool
}

// New loads the functions under cfg.Dir/api and returns a Host serving
// them. A function that fails to load (it does not build, is not a valid
// guest, or claims another's route) is reported by Functions and answers
// 500 FUNCTION_INVOCATION_FAILED; the others are served. New fails only
// when the directory, its configuration or the engine cannot be used.
// With Config.LoadInBackground it returns before the functions are loaded
// (Loaded waits for them), and ctx then bounds only the scan.
func New(ctx context.Context, cfg Config) (*Host, error) {
	if cfg.Dir == "" {
		// Not the working directory: its files would be static files.
		return nil, fmt.Errorf("%w: Config.Dir is empty; want the directory holding api/", ErrDir)
	}
	cfg = cfg.withDefaults()
	if abs, err := filepath.Abs(cfg.Dir); err == nil {
		cfg.Dir = abs
	}
	st, err := os.Stat(cfg.Dir)
	if err != nil {
		return nil, fmt.Errorf("%w %s: %w", ErrDir, cfg.Dir, err)
	}
	if !st.IsDir() {
		return nil, fmt.Errorf("%w %s: not a directory", ErrDir, cfg.Dir)
	}
	cacheDir, err := cacheDir(cfg)
	if err != nil {
		return nil, err
	}
	srcs, err := route.Scan(cfg.Dir)
	if err != nil {
		return nil, fmt.Errorf("%w %s: %w", ErrDir, cfg.Dir, err)
	}
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	if cfg.PurgeToken != "" {
		if err := validToken(cfg.PurgeToken); err != nil {
			return nil, fmt.Errorf("%w: %w", ErrConfig, err)
		}
	}
	if _, err := cdn.ParseRules(cfg.CDNRules); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrConfig, err)
	}
	proj, err := project.Load(cfg.Dir)
	if err != nil {
		return nil, invalidConfig(err)
	}
	if len(proj.Ignored) > 0 {
		cfg.Logger.Info("configuration properties that have no effect in wfn", "properties", strings.Join(proj.Ignored, ", "))
	}
	if len(srcs) == 0 {
		// Valid (a static site), yet most often the wrong directory.
		cfg.Logger.Warn("no functions found in "+filepath.Join(cfg.Dir, "api")+": only static files and vercel.json's routes are served", "dir", cfg.Dir)
	}
	explicitID := cfg.DeploymentID != ""
	if !explicitID {
		cfg.DeploymentID = "dpl_" + randomHex(12)
	}
	var geoDB *geo.DB
	if cfg.GeoIPDB != "" {
		if geoDB, err = geo.Open(cfg.GeoIPDB); err != nil {
			if inner := errors.Unwrap(err); inner != nil {
				err = inner // without geo's own "wfn: cannot open" prefix
			}
			return nil, fmt.Errorf("%w: GeoIPDB: cannot open %s as a geoip database (.mmdb): %w", ErrConfig, cfg.GeoIPDB, err)
		}
	}
	var eng engine.Engine
	if cfg.interpretAll {
		eng, err = newInterpreter(ctx)
	} else {
		eng, err = newEngine(ctx, cfg.Engine, filepath.Join(cacheDir, "compiled"))
	}
	if err != nil {
		if geoDB != nil {
			geoDB.Close()
		}
		return nil, err
	}
	h := &Host{
		cfg:      cfg,
		log:      cfg.Logger,
		engine:   eng,
		limit:    pool.NewLimit(cfg.MaxInstances),
		geoDB:    geoDB,
		idPrefix: cfg.Region + "::" + randomHex(3) + "-",
		cacheDir: cacheDir,
		explicit: explicitID,
		builders: builders{
			gob: &gobuild.Builder{CacheDir: filepath.Join(cacheDir, "build")},
			c:   &cbuild.Builder{CacheDir: filepath.Join(cacheDir, "build-c")},
			js:  &jsbuild.Builder{CacheDir: filepath.Join(cacheDir, "build-js")},
		},
	}
	if cfg.TieredReload && (cfg.Engine == "" || cfg.Engine == "wazero") {
		if h.quick, err = newInterpreter(ctx); err != nil {
			_ = h.Close(context.WithoutCancel(ctx))
			return nil, err
		}
	}
	h.invs.New = func() any { return new(hostcall.Invocation) }
	if l, ok := eng.(engine.TmpLimiter); !ok || !l.LimitsTmp() {
		h.checkTmp = true
	}
	h.loader.init(ctx)
	rt, err := newRouting(cfg.Dir, proj.Routing.JSON())
	if err != nil {
		_ = h.Close(context.WithoutCancel(ctx))
		return nil, err
	}
	s := &state{project: proj, routing: rt, digest: routingDigest(proj, rt)}
	fns := make([]*function, len(srcs))
	for i, src := range srcs {
		if fns[i], err = h.settings(proj, src); err != nil {
			rt.close()
			_ = h.Close(context.WithoutCancel(ctx))
			return nil, err
		}
	}
	s.setFunctions(fns)
	h.loadAll(h.loadCtx, fns, true)
	h.st.Store(s)
	if !cfg.LoadInBackground {
		for _, fn := range fns {
			select {
			case <-fn.ready:
			case <-ctx.Done():
				_ = h.Close(context.WithoutCancel(ctx))
				return nil, fmt.Errorf("wfn: loading interrupted: %w", ctx.Err())
			}
		}
	}
	h.startCrons(proj, cfg.cronClock)
	if !cfg.DisableUnload {
		h.stopUnload = make(chan struct{})
		h.unloading.Go(func() { h.unloadIdle(h.stopUnload) })
	}
	return h, nil
}

// settings lays the first matching rule of vercel.json or wfn.json over
// the host's configuration, over the defaults.
func (h *Host) settings(proj *project.Project, src *route.Source) (*function, error) {
	paths := []string{src.Path}
	switch src.Kind {
	case route.GoPackage:
		for _, f := range src.GoFiles {
			paths = append(paths, src.Path+"/"+f)
		}
	case route.CSources:
		for _, f := range src.CFiles {
			paths = append(paths, src.Path+"/"+f)
		}
	}
	rule, key := proj.For(paths...)
	// A script's own config (export const config), under vercel.json's
	// rule: a property both set takes the rule's value, as Vercel's CLI
	// does (packages/cli's write-build-result: the functions entry's
	// value, else the builder's from the static config).
	var static project.Settings
	var staticErr error
	if src.Kind == route.Script && src.Err == nil {
		var config map[string]json.RawMessage
		if config, staticErr = jsbuild.StaticConfig(h.cfg.Dir, src.Path); staticErr == nil && config != nil {
			static, staticErr = project.StaticSettings(config)
		}
		if staticErr != nil {
			staticErr = fmt.Errorf("%w: %s: %w", ErrConfig, src.Path, staticErr)
		}
	}
	set := project.Merge(project.Defaults(), h.cfg.functionSettings(), project.Settings{Fluid: proj.Fluid}, static, rule)
	policy, err := outbound.NewPolicy(set.AllowedOutboundHosts)
	if err != nil {
		return nil, fmt.Errorf("%w: functions %q: %w", ErrConfig, key, err)
	}
	fn := &function{
		counters:            new(fnCounters),
		src:                 src,
		err:                 src.Err,
		maxDuration:         *set.MaxDuration,
		memoryLimit:         uint64(*set.MemoryMB) << 20,
		cancel:              *set.SupportsCancellation,
		concurrency:         *set.MaxConcurrency,
		instanceConcurrency: *set.InstanceConcurrency,
		fluidBuild:          *set.Fluid,
		env:                 set.Env,
		client:              outbound.NewClient(policy),
		snapshot:            *set.Snapshot,
		proj:                proj,
		config:              settingsKey(set, proj),
		ready:               make(chan struct{}),
		code:                code{open: &h.loadedCode},
	}
	fn.policy = pool.Policy{
		Max:         fn.concurrency,
		MaxQueue:    *set.MaxQueue,
		Timeout:     *set.QueueTimeout,
		MinIdle:     *set.MinInstances,
		IdleTimeout: *set.IdleTimeout,
		MaxUses:     *set.MaxInvocations,
	}
	if *set.Isolation == IsolationInvocation {
		fn.policy.MaxUses = 1
	}
	if staticErr != nil {
		// The function does not load; the others do.
		fn.err = staticErr
	}
	return fn, nil
}

// builders build the functions that are not .wasm files.
type builders struct {
	gob *gobuild.Builder
	c   *cbuild.Builder
	js  *jsbuild.Builder
}

// load builds (Go, C), bundles (JavaScript, TypeScript) or reads (.wasm) a
// function, compiles it and gives it a pool. A script function runs the
// JavaScript runtime, with its bundle in the environment (jsruntime).
func (h *Host) load(ctx context.Context, fn *function) error {
	b := h.builders
	src := fn.src
	path := filepath.Join(h.cfg.Dir, filepath.FromSlash(src.Path))
	var wasm, bundle []byte
	switch src.Kind {
	case route.GoPackage, route.GoHandler, route.CSources:
		h.log.Info("building", "fn", src.Path)
		var out string
		var cached bool
		var err error
		switch src.Kind {
		case route.GoPackage:
			out, cached, err = b.gob.BuildTags(ctx, src.Path, path, src.GoFiles, goTags(fn))
		case route.GoHandler:
			out, cached, err = b.gob.BuildHandler(ctx, gobuild.Handler{
				Name: src.Path, File: path, Siblings: src.GoFiles, Func: src.Handler, Params: src.Params(), Tags: goTags(fn),
			})
		default:
			out, cached, err = b.c.Build(ctx, src.Path, path, src.CFiles)
		}
		if err != nil {
			return err
		}
		if !cached {
			h.log.Debug("built", "fn", src.Path, "wasm", out)
		}
		path = out
	case route.Script:
		bd, _, err := b.js.BuildMapped(ctx, h.cfg.Dir, src.Path)
		if err != nil {
			return err
		}
		bundle, fn.srcmap, fn.inputs = bd.Code, bd.Map, bd.Inputs
		wasm = jsruntime.Wasm
	}
	if wasm == nil {
		var err error
		if wasm, err = os.ReadFile(path); err != nil {
			return fmt.Errorf("cannot read %s: %w", src.Path, err)
		}
	}
	system := h.systemEnv()
	if src.Kind == route.Script {
		system["NODE_ENV"] = h.cfg.NodeEnv
	}
	env := guestEnv(system, fn.proj.Env, fn.proj.Dotenv, h.cfg.Env, fn.env)
	if fluid.Marked(wasm) {
		return h.loadFluid(ctx, fn, wasm, env)
	}
	eng, code := h.engine, uint64(0)
	if h.quick != nil {
		code = crc64.Checksum(wasm, crcTable)
		if _, seen := h.code.Load(code); fn.quick && !seen {
			eng, fn.interp = h.quick, true
		}
	}
	mod, err := eng.Compile(ctx, src.Path, wasm)
	if err != nil {
		return err
	}
	if h.quick != nil && !fn.interp {
		h.code.Store(code, struct{}{})
	}
	fn.mod = mod
	fn.code.compiled()
	fn.exports = mod.Exports()
	fn.allow = allowHeader(fn.exports.Methods)
	if bundle != nil {
		env = slices.DeleteFunc(env, func(kv [2]string) bool { return kv[0] == jsruntime.BundleEnv })
		env = append(env, [2]string{jsruntime.BundleEnv, string(bundle)})
	}
	digest := crc64.New(crcTable)
	fmt.Fprintf(digest, "%s\x00", src.Path)
	digest.Write(wasm)
	for _, kv := range env {
		if kv[0] != "VERCEL_DEPLOYMENT_ID" && kv[0] != "VERCEL_URL" {
			fmt.Fprintf(digest, "\x00%s=%s", kv[0], kv[1])
		}
	}
	fn.digest = digest.Sum64()
	fn.policy.OnError = func(err error) {
		if errors.Is(err, errRetired) {
			return // a Reload replaced it while its reserve was being made
		}
		h.log.Error("cannot create an instance in reserve", "fn", src.Path, "err", err)
	}
	if fn.exports.OnSuspend {
		fn.policy.SuspendAfter = h.cfg.SuspendAfter
		fn.policy.Suspend = func(inst engine.Instance) error { return inst.(*liveInstance).suspend() }
	}
	fn.pool = pool.New(func(ctx context.Context) (engine.Instance, error) {
		return h.instantiate(ctx, fn, env)
	}, fn.policy, h.limit)
	if src.Kind == route.Script {
		return h.evaluate(ctx, fn, env)
	}
	return nil
}

// evaluate makes one instance of a script function now, so that a module
// that throws at load (or cannot be evaluated otherwise) fails to load as
// a syntax error does, with its file:line:col (a *jsruntime.LoadError),
// rather than at its first request; and so that the snapshot of an
// initialised instance (Config's Snapshot), which holds the evaluated
// module, is taken before the first request. The initialisation has the
// function's maxDuration. The instance is closed: the pool makes its own
// (from the snapshot, when snapshots are on). A function that fails here
// is closed (its pool, its code). Other guests initialise at their first
// instance, as Vercel's do at a cold start: one whose initialisation fails
// answers each request with 500 and logs why (initError).
func (h *Host) evaluate(ctx context.Context, fn *function, env [][2]string) error {
	ctx, cancel := context.WithTimeout(ctx, fn.maxDuration)
	defer cancel()
	inst, err := h.instantiate(ctx, fn, env)
	if err == nil {
		return inst.Close(context.WithoutCancel(ctx))
	}
	_ = fn.close()
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		// The engine's error adds only a trace of the runtime's C frames.
		return fmt.Errorf("cannot load %s: evaluating its module took longer than its maxDuration (%s): %w", fn.src.Path, fn.maxDuration, ctx.Err())
	}
	return err
}

// initError is an initialisation (_initialize, _start, a snapshot's
// making) that failed after the guest wrote to stderr: what it wrote (a Go
// panic's message and trace, a C program's perror) says why better than
// the engine's trap, so it comes first.
type initError struct {
	fn      string
	stderr  []string
	err     error
	goNames bool // gobuild.TraceNames applies
}

// Error gives the function, what the guest wrote, and the first line of
// the engine's error (its WebAssembly stack trace says less than the
// guest's own).
func (e *initError) Error() string {
	cause, _, _ := strings.Cut(e.err.Error(), "\n")
	if e.goNames {
		cause = gobuild.TraceNames(cause)
	}
	return fmt.Sprintf("%s: its initialisation failed; it wrote:\n%s\n%s", e.fn, strings.Join(e.stderr, "\n"), cause)
}

func (e *initError) Unwrap() error { return e.err }

// cacheDir picks the directory for builds and compiled code.
func cacheDir(cfg Config) (string, error) {
	if cfg.CacheDir != "" {
		if err := os.MkdirAll(cfg.CacheDir, 0o755); err != nil {
			return "", fmt.Errorf("wfn: cannot create cache directory: %w", err)
		}
		return cfg.CacheDir, nil
	}
	dir := filepath.Join(cfg.Dir, ".wfn")
	if err := os.MkdirAll(dir, 0o755); err == nil {
		return dir, nil
	}
	user, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("wfn: %s is not writable and there is no user cache directory: %w", cfg.Dir, err)
	}
	abs, _ := filepath.Abs(cfg.Dir)
	sum := sha256.Sum256([]byte(abs))
	dir = filepath.Join(user, "wfn", hex.EncodeToString(sum[:8]))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("wfn: cannot create cache directory: %w", err)
	}
	return dir, nil
}

// Functions lists the functions found, in route order of discovery, with
// the reason for each one that cannot be served.
func (h *Host) Functions() []Function {
	st := h.st.Load()
	out := make([]Function, len(st.fns))
	for i, fn := range st.fns {
		out[i] = Function{Route: fn.src.Route, Source: fn.src.Path, ReloadErr: st.failed[fn.src.Path]}
		select {
		case <-fn.ready:
			out[i].Err, out[i].Interpreted = fn.err, fn.interp
		default:
			out[i].Loading = true
		}
	}
	return out
}

// liveInstance is an engine instance with what the host keeps beside it:
// log writers that route its output to the invocation it serves, and a
// channel that wakes it from a sleep when that invocation is aborted.
type liveInstance struct {
	engine.Instance
	h              *Host
	stdout, stderr *guestLog
	wake           chan struct{}
	ctx            context.Context  // the current call's; guest goroutine only
	call           deadline.Context // the context of its invocations, one run each
	cur            atomic.Pointer[hostcall.Invocation]
	running        atomic.Pointer[invocation] // version 1's run on it, for Close; nil between them
	// closeMu orders Close's use of cur and running (closeAbort) before
	// finish clears them: past finish, the invocation goes back to its
	// pool and is reset for another request, which Close must not touch.
	closeMu sync.Mutex
	tmp     string // the host directory the guest sees as /tmp

	fn     *function
	calls  uint64        // invocations begun; the goroutine holding the instance only
	memory atomic.Uint64 // linear memory after the latest call, in bytes (Stats)

	// conns is its outbound TCP connections (abi/SPEC.md section 5c).
	conns *outbound.Conns
	// oob serialises the calls made outside an invocation
	// (wfn_on_suspend, wfn_on_sigterm). suspended is true once
	// wfn_on_suspend ran since the latest invocation (guarded by the
	// holder of the instance); failed, once the instance trapped or timed
	// out: it is closed without wfn_on_suspend.
	oob       sync.Mutex
	suspended bool
	failed    atomic.Bool
}

// tmpLimit is the size of each instance's /tmp, in bytes (Config.TmpSizeMB).
// A write past it fails (on wazero; on Wasmtime the instance is retired
// after the call), and the instance's /tmp is emptied when it goes.
func (h *Host) tmpLimit() int64 { return int64(h.cfg.TmpSizeMB) << 20 }

// newTmp makes the directory an instance sees as /tmp, under the cache
// directory.
func (h *Host) newTmp() (string, error) {
	root := filepath.Join(h.cacheDir, "tmp")
	if err := os.MkdirAll(root, 0o755); err != nil {
		return "", fmt.Errorf("wfn: cannot create %s: %w", root, err)
	}
	dir, err := os.MkdirTemp(root, "i-")
	if err != nil {
		return "", fmt.Errorf("wfn: cannot create an instance's /tmp: %w", err)
	}
	return dir, nil
}

// tmpUsed returns the bytes of the regular files under dir.
func tmpUsed(dir string) int64 {
	var n int64
	_ = filepath.WalkDir(dir, func(_ string, d os.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			if info, err := d.Info(); err == nil {
				n += info.Size()
			}
		}
		return nil
	})
	return n
}

func (h *Host) instantiate(ctx context.Context, fn *function, env [][2]string) (engine.Instance, error) {
	li := &liveInstance{
		h:      h,
		fn:     fn,
		stdout: &guestLog{log: h.log, fn: fn.src.Path, stream: "stdout", srcmap: fn.srcmap, goNames: fn.src.Kind == route.GoHandler},
		// What the initialisation writes to stderr is held until it
		// ends: when it fails, that is its account of why (a Go panic
		// and its trace, a script's jsruntime.LoadFailure), which goes
		// into the error.
		stderr: &guestLog{log: h.log, fn: fn.src.Path, stream: "stderr", srcmap: fn.srcmap, goNames: fn.src.Kind == route.GoHandler, holding: true, script: fn.src.Kind == route.Script},
		wake:   make(chan struct{}, 1),
	}
	li.conns = outbound.NewConns(fn.client, func(msg string, args ...any) {
		h.log.Warn(msg, append([]any{"fn", fn.src.Path}, args...)...)
	})
	tmp, err := h.newTmp()
	if err != nil {
		return nil, err
	}
	li.tmp = tmp
	if err := h.acquire(ctx, fn); err != nil {
		_ = os.RemoveAll(tmp)
		return nil, err
	}
	// The initialisation's sleeps (a JS module's top-level await on a
	// timer) end with ctx, as its calls do.
	li.ctx = ctx
	inst, err := fn.mod.Instantiate(ctx, engine.InstanceConfig{
		Env:         env,
		Stdout:      li.stdout,
		Stderr:      li.stderr,
		MemoryLimit: fn.memoryLimit,
		Snapshot:    fn.snapshot,
		Wake:        li.wake,
		Done:        li.callDone,
		TmpDir:      tmp,
		TmpLimit:    h.tmpLimit(),
		Conns:       li.conns,
	})
	li.ctx = nil
	li.stdout.flush()
	li.stderr.flush()
	if held := li.stderr.release(); err != nil && fn.src.Kind == route.Script {
		// The runtime's account of a module that cannot load is the
		// error; the rest of what it wrote is logged as usual.
		le, other, ok := jsruntime.ParseLoadFailure(fn.src.Path, held, err)
		li.stderr.emit(other)
		if ok {
			err = le
		}
	} else if err != nil && len(held) > 0 {
		err = &initError{fn: fn.src.Path, stderr: held, err: err, goNames: fn.src.Kind == route.GoHandler}
	} else {
		li.stderr.emit(held)
	}
	if err != nil {
		li.conns.CloseAll()
		fn.releaseCode()
		_ = os.RemoveAll(tmp)
		return nil, err
	}
	li.Instance = inst
	li.measure()
	fn.counters.coldStarts.Add(1)
	h.live.Store(li, struct{}{})
	return li, nil
}

// begin routes the instance's output to inv; ctx is its call's context.
func (li *liveInstance) begin(inv *hostcall.Invocation, ctx context.Context) {
	li.stdout.inv, li.stderr.inv = inv, inv
	li.stderr.uncaught = false
	li.ctx = ctx
	li.calls++
	li.suspended = false
	li.cur.Store(inv)
	select { // a wake left over from an earlier abort must not cut a sleep short
	case <-li.wake:
	default:
	}
}

// finish flushes the output of the invocation that ends.
func (li *liveInstance) finish() {
	li.stdout.flush()
	li.stderr.flush()
	li.stdout.inv, li.stderr.inv = nil, nil
	li.ctx = nil
	li.closeMu.Lock()
	li.cur.Store(nil)
	li.running.Store(nil)
	li.closeMu.Unlock()
	li.measure()
}

// callDone is the engine's InstanceConfig.Done: the current call's Done,
// asked for only by a guest that waits (a sleep), so that a call that does
// not wait sets no timer.
func (li *liveInstance) callDone() <-chan struct{} {
	if li.ctx == nil {
		return nil
	}
	return li.ctx.Done()
}

// measure records the instance's linear memory, between calls.
func (li *liveInstance) measure() {
	if m, ok := li.Instance.(engine.MemorySizer); ok {
		li.memory.Store(m.MemorySize())
	}
}

// wakeUp ends the guest's current or next sleep early, once.
func (li *liveInstance) wakeUp() {
	select {
	case li.wake <- struct{}{}:
	default:
	}
}

// suspendGrace is how long wfn_on_suspend may run (abi/SPEC.md section
// 5c), as wfn_on_sigterm.
const suspendGrace = 500 * time.Millisecond

// suspend calls wfn_on_suspend on the idle instance, with suspendGrace to
// finish; request imports return EBADHANDLE there. An error (a trap, or
// running past the grace) marks the instance failed: it is to be closed.
func (li *liveInstance) suspend() error {
	li.oob.Lock()
	defer li.oob.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), suspendGrace)
	defer cancel()
	li.stdout.inv, li.stderr.inv = nil, nil
	li.ctx = ctx
	err := li.OnSuspend(ctx)
	li.ctx = nil
	li.stdout.flush()
	li.stderr.flush()
	li.suspended = true
	if err == nil && ctx.Err() != nil {
		err = fmt.Errorf("wfn_on_suspend ran past %v", suspendGrace)
	}
	if err != nil {
		li.failed.Store(true)
		li.h.log.Warn("wfn_on_suspend failed; the instance is closed", "fn", li.fn.src.Path, "err", err)
	}
	return err
}

// Close closes the instance and its TCP connections, calling
// wfn_on_suspend first unless the instance failed or was suspended since
// its latest invocation.
func (li *liveInstance) Close(ctx context.Context) error {
	if li.fn.exports.OnSuspend && !li.failed.Load() && !li.suspended {
		_ = li.suspend()
	}
	li.h.live.Delete(li)
	err := li.Instance.Close(ctx)
	li.conns.CloseAll()
	li.fn.releaseCode()
	if rmErr := os.RemoveAll(li.tmp); rmErr != nil {
		err = errors.Join(err, fmt.Errorf("wfn: cannot empty an instance's /tmp: %w", rmErr))
	}
	return err
}

// unreadBodyWait bounds the wait for a request body that no function
// reads, as wfn serve's ReadHeaderTimeout bounds the wait for the head.
const unreadBodyWait = 10 * time.Second

// ServeHTTP routes the request to its function and runs one invocation,
// or answers it from a static file, a vercel.json route or the CDN cache.
// From the moment Close is called, every request gets 503 with
// x-wfn-error FUNCTION_THROTTLED and Retry-After: 1, whatever its path.
// The operators' endpoints under /_wfn/ are package admin's. The
// http.Server's ReadTimeout and WriteTimeout, if set, bound what the host
// reads and writes as they bound any handler: the host's own deadlines
// (the invocation's maximum duration) never extend them.
func (h *Host) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	now := time.Now() // the one wall clock read: the invocation's deadline is taken from it
	w = boundByServer(w, r, now)
	if r.ContentLength != 0 {
		// After the access log's entry: what is left of the body is
		// not the request's duration.
		defer closeUnreadBody(w, r)
	}
	var id string
	if aw := h.startAccess(w, r, now); aw != nil {
		defer h.endAccess(aw, r)
		id = aw.setID(h.appendID(aw.idBuf[:0], now))
		w.Header()[HeaderRequestID] = aw.idValue[:] // a canonical name: no Set
		w = aw
	} else {
		id = h.newID(now)
		w.Header()[HeaderRequestID] = []string{id}
	}
	if r.ContentLength != 0 {
		// A body that the response does not read (a static file, a
		// redirect, a 404, a platform error): net/http would read it
		// before sending the head, and after the response, without a
		// bound (wfn serve sets no ReadTimeout), so a client that
		// announces a body and sends none would get no answer and hold
		// its connection for good. The head goes at once, and the rest
		// of the body is awaited unreadBodyWait at most. A function's
		// invocation reads it under its own deadline (invoke), a proxied
		// rewrite without one.
		rc := http.NewResponseController(w)
		_ = rc.EnableFullDuplex()
		_ = rc.SetReadDeadline(now.Add(unreadBodyWait))
	}
	if h.closing.Load() {
		writeShuttingDown(w, r, id)
		return
	}
	if urlTooLong(r) {
		writeError(w, r, http.StatusRequestURITooLong, CodeURLTooLong, id, "The URL is over 14 KB.")
		return
	}
	if headerTooLarge(r) {
		writeError(w, r, http.StatusRequestHeaderFieldsTooLarge, CodeHeaderTooLarge, id, "A request header is over 16 KB, or all of them over 32 KB.")
		return
	}
	if rb := h.rebuilding.Load(); rb != nil && rb.added != nil {
		if _, _, ok := rb.added.Match(r.URL.EscapedPath()); ok && !rb.wait(r.Context()) {
			return // wfn dev: a request for a function being added waits for it
		}
	}
	st := h.st.Load()
	w, r, done, m := h.route(w, r, id, st)
	if done {
		return
	}
	i, params, ok := m.i, m.params, m.ok
	if m.path == "" {
		i, params, ok = st.table.Match(r.URL.EscapedPath())
	}
	if rb := h.rebuilding.Load(); ok && rb != nil && rb.paths[st.fns[i].src.Path] {
		// wfn dev: the function's files changed and it is being rebuilt;
		// the request waits for the new code.
		if !rb.wait(r.Context()) {
			return
		}
		st = h.st.Load()
		i, params, ok = st.table.Match(r.URL.EscapedPath())
	}
	if !ok {
		writeError(w, r, http.StatusNotFound, CodeNotFound, id, "The page could not be found.")
		return
	}
	fn := st.fns[i]
	aw, _ := w.(*accessWriter)
	if aw != nil {
		// Before the wait: a client that leaves during its function's
		// load is logged under the function.
		aw.entry.Function = fn.src.Path
	}
	select {
	case <-fn.ready:
	default: // at start, a request waits for its own function only
		fn.hurry()
		select {
		case <-fn.ready:
		case <-r.Context().Done():
			return
		}
	}
	if fn.err != nil {
		h.writeLoadError(w, r, id, fn)
		return
	}
	export := fn.exports.HandlerFor(r.Method)
	if export == "" && r.Method == http.MethodHead {
		// HEAD is answered from GET (RFC 9110 sections 9.1 and 9.3.2): the same
		// headers, and the server drops the body.
		export = fn.exports.HandlerFor(http.MethodGet)
	}
	if export == "" {
		writeError(w, r, http.StatusMethodNotAllowed, CodeMethodNotAllowed, id, "Method "+r.Method+" is not allowed.", "Allow", fn.allow)
		return
	}
	var origin *fnOrigin
	if aw != nil {
		origin = &aw.origin
	} else {
		origin = new(fnOrigin)
	}
	*origin = fnOrigin{h: h, fn: fn, export: export, id: id, arrived: now, params: params, aw: aw}
	if c := h.cdnCache(r.Context()); c != nil {
		var key [256]byte // most keys fit: they are made strings only when the cache needs them
		c.ServeKeyAt(w, r, appendCDNKey(key[:0], h.scope(st, fn), r), origin, now)
		if vs := w.Header()[HeaderCache]; len(vs) > 0 { // a canonical name: no Get
			h.counters.countCDN(vs[0])
		}
		return
	}
	origin.ServeOrigin(w, r)
}

// allowHeader is the Allow header of a 405 for a guest with these method
// exports: HEAD is answered from GET (ServeHTTP), right after it.
func allowHeader(methods []string) string {
	if slices.Contains(methods, http.MethodGet) && !slices.Contains(methods, http.MethodHead) {
		methods = slices.Insert(slices.Clone(methods), slices.Index(methods, http.MethodGet)+1, http.MethodHead)
	}
	return strings.Join(methods, ", ")
}

// fnOrigin is the CDN cache's origin for one request to a function: each
// call runs an invocation. It lives in the request's accessWriter when
// there is one, and is not changed once made: the cache may call it again
// in the background after the response (a revalidation).
type fnOrigin struct {
	h          *Host
	fn         *function
	export, id string
	arrived    time.Time // ServeHTTP's clock read
	params     []hostcall.Param
	aw         *accessWriter // nil without an access entry
	pass       cdn.PassWriter
}

// PassWriter gives the CDN cache o's room for the writer of a response it
// passes through (cdn.PassOrigin): one Serve call uses o.
func (o *fnOrigin) PassWriter() *cdn.PassWriter { return &o.pass }

// ServeOrigin runs the function for r, unless the host is shutting down
// or the function was reloaded since the request was routed (503).
func (o *fnOrigin) ServeOrigin(w http.ResponseWriter, r *http.Request) []string {
	h, fn, id, params := o.h, o.fn, o.id, o.params
	h.mu.RLock()
	if h.closed {
		h.mu.RUnlock()
		writeShuttingDown(w, r, id)
		return nil
	}
	if !fn.acquire() {
		h.mu.RUnlock()
		// A Reload replaced it since the request was routed.
		writeError(w, r, http.StatusServiceUnavailable, CodeThrottled, id, "The function was reloaded.", "Retry-After", "1")
		return nil
	}
	defer fn.release()
	h.inflight.Add(1) // invoke calls Done when the invocation and its tasks end
	h.mu.RUnlock()
	if len(params) > 0 {
		r = withParamQuery(r, fn.src, params)
	}
	if fn.fluid != nil {
		return h.invokeFluid(withRouteHeaders(w, r), r, fn, id, params, o.aw)
	}
	return h.invoke(withRouteHeaders(w, r), r, fn, o.export, id, o.arrived, params, o.aw)
}

// withParamQuery returns r with the route's params in its query, as Vercel
// appends name=value to the query for each [name] segment (shared/VERCEL.md
// section 4.2): a param replaces the client's pairs of that name, and a
// catch-all gives one pair per segment, as Next.js passes it (query.slug
// = ["a", "b"]).
func withParamQuery(r *http.Request, src *route.Source, params []hostcall.Param) *http.Request {
	names := make(map[string]bool, len(params))
	for _, p := range params {
		names[p.Name] = true
	}
	var b strings.Builder
	pair := func(s string) {
		if b.Len() > 0 {
			b.WriteByte('&')
		}
		b.WriteString(s)
	}
	for _, kv := range strings.Split(r.URL.RawQuery, "&") {
		k, _, _ := strings.Cut(kv, "=")
		if name, err := url.QueryUnescape(k); kv == "" || err == nil && names[name] {
			continue
		}
		pair(kv)
	}
	for _, p := range params {
		values := []string{p.Value}
		if src.CatchAll(p.Name) {
			values = src.CatchAllSegments(r.URL.EscapedPath())
		}
		for _, v := range values {
			pair(url.QueryEscape(p.Name) + "=" + url.QueryEscape(v))
		}
	}
	r2 := new(http.Request)
	*r2 = *r
	u := *r.URL
	u.RawQuery = b.String()
	r2.URL = &u
	return r2
}

// writeShuttingDown answers a request that came after Close began.
func writeShuttingDown(w http.ResponseWriter, r *http.Request, id string) {
	writeError(w, r, http.StatusServiceUnavailable, CodeThrottled, id, "The server is shutting down.", "Retry-After", "1")
}

func writeThrottled(w http.ResponseWriter, r *http.Request, id string) {
	writeError(w, r, http.StatusServiceUnavailable, CodeThrottled, id, "Too many requests are waiting for this function.", "Retry-After", "1")
}

// newID returns a request id in Vercel's shape: region::instance-ms-seq,
// ms being now's Unix time in milliseconds.
func (h *Host) newID(now time.Time) string {
	var buf [maxIDLen]byte
	return string(h.appendID(buf[:0], now))
}

// maxIDLen bounds the length of a request id in bytes: the region and
// instance of the prefix, 20 digits of milliseconds, a dash and 12 hex
// digits of sequence.
const maxIDLen = 96

// appendID appends a new request id (newID's) to b.
func (h *Host) appendID(b []byte, now time.Time) []byte {
	b = append(b, h.idPrefix...)
	b = strconv.AppendInt(b, now.UnixMilli(), 10)
	b = append(b, '-')
	n := h.idSeq.Add(1)
	const digits = "0123456789abcdef"
	for shift := 44; shift >= 0; shift -= 4 {
		b = append(b, digits[(n>>uint(shift))&0xf])
	}
	return b
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// Close shuts the host down as Vercel shuts a function down. From the
// call on, ServeHTTP answers every request 503 FUNCTION_THROTTLED with
// Retry-After: 1, so an embedding server stops taking requests first
// (http.Server.Shutdown) and closes the host after. The invocations in
// flight, with their waitUntil tasks, may finish until ctx is done. Past
// that Close aborts them (abort_signaled turns 1, waiting imports return
// ECANCELED, a wait for the client's request body ends), and 500 ms later
// cuts the responses still waiting for their client and stops the guests
// still running. Then it calls wfn_on_sigterm on every idle instance, with
// 500 ms to finish, and releases everything: Close may return a second or
// two after ctx is done.
//
// The error wraps ctx.Err() (errors.Is(err, context.DeadlineExceeded))
// when invocations had to be aborted, joined with any error of releasing
// the host's resources. A second call returns ErrClosed at once, while the
// first may still be draining.
func (h *Host) Close(ctx context.Context) error {
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		return ErrClosed
	}
	h.closed = true
	h.closing.Store(true)
	h.mu.Unlock()
	// No invocation starts from now on (ServeOrigin checks closed under
	// mu): the drain is awaited from here, so that it is seen done when
	// the loads below took past ctx's deadline.
	drained := make(chan struct{})
	go func() {
		h.inflight.Wait()
		close(drained)
	}()
	h.stopLoading()
	h.tiering.Wait()
	h.stopCrons()
	if h.stopUnload != nil {
		close(h.stopUnload)
		h.unloading.Wait()
	}
	var waitErr error
	select {
	case <-drained:
	case <-ctx.Done():
	}
	select {
	case <-drained:
		// Drained, also when the deadline passed too, while the loads
		// stopped (a compilation runs to its end): nothing was cut.
	default:
		waitErr = ctx.Err()
		h.abortingAll.Store(true)
		h.live.Range(func(k, _ any) bool {
			li := k.(*liveInstance)
			li.closeMu.Lock()
			defer li.closeMu.Unlock()
			if c := li.running.Load(); c != nil {
				// As a client that leaves does with supportsCancellation:
				// signalled, its outbound requests and connections ended;
				// and its wait for the client's body.
				c.abort()
				c.stopClient(false)
			} else if inv := li.cur.Load(); inv != nil {
				li.fn.counters.aborted.Add(1)
				inv.Abort()
				li.wakeUp()
				li.conns.Abort()
			}
			return true
		})
		if st := h.st.Load(); st != nil {
			// Version 2 invocations in flight: EventAbort, shutdown.
			for _, fn := range st.fns {
				if fn.fluid != nil {
					fn.fluid.pool.Abort(abi.AbortShutdown)
				}
			}
		}
		select {
		case <-drained:
		case <-time.After(abortGrace):
			// Handlers still waiting for a client to take their
			// response's bytes: the responses are cut.
			h.live.Range(func(k, _ any) bool {
				li := k.(*liveInstance)
				li.closeMu.Lock()
				defer li.closeMu.Unlock()
				if c := li.running.Load(); c != nil {
					c.stopClient(true)
				}
				return true
			})
		}
	}
	h.sigterm()
	var err error
	st := h.st.Load()
	if st != nil {
		// At once: closing a pool's idle instances runs their
		// wfn_on_suspend, up to 500 ms each (the pools bound how many
		// run together).
		errs := make([]error, len(st.fns))
		var wg sync.WaitGroup
		for i, fn := range st.fns {
			wg.Go(func() { errs[i] = fn.retire() })
		}
		wg.Wait()
		err = errors.Join(errs...)
	}
	// Closing the engine stops any guest still running.
	err = errors.Join(err, h.engine.Close(context.Background()))
	if h.quick != nil {
		err = errors.Join(err, h.quick.Close(context.Background()))
	}
	h.waitCrons()
	err = errors.Join(err, h.closeCache(context.Background()))
	if h.geoDB != nil {
		err = errors.Join(err, h.geoDB.Close())
	}
	if st != nil {
		st.routing.close()
	}
	for _, rt := range h.retired {
		rt.close()
	}
	return errors.Join(waitErr, err)
}

// sigtermGrace is how long wfn_on_sigterm may run, as on Vercel.
const sigtermGrace = 500 * time.Millisecond

// sigterm calls wfn_on_sigterm on every idle live instance at once, with
// sigtermGrace to finish.
func (h *Host) sigterm() {
	ctx, cancel := context.WithTimeout(context.Background(), sigtermGrace)
	defer cancel()
	var wg sync.WaitGroup
	h.live.Range(func(k, _ any) bool {
		li := k.(*liveInstance)
		if li.cur.Load() != nil {
			return true // still busy: it is stopped with the engine
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			li.oob.Lock() // after a wfn_on_suspend in progress
			defer li.oob.Unlock()
			li.stdout.inv, li.stderr.inv = nil, nil
			li.ctx = ctx
			if err := li.OnSigterm(ctx); err != nil {
				h.log.Warn("wfn_on_sigterm failed", "fn", li.stdout.fn, "err", err)
			}
			li.stdout.flush()
			li.stderr.flush()
		}()
		return true
	})
	wg.Wait()
}

var crcTable = crc64.MakeTable(crc64.ECMA)
