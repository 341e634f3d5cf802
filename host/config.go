package host

import (
	"cmp"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"net/url"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/wfn-dev/wfn/host/internal/cronjob"
	"github.com/wfn-dev/wfn/host/internal/project"
)

// Config configures a Host. The zero value of every field but Dir means
// its default, the value DefaultConfig gives it; a negative count, size
// or duration is an ErrConfig.
type Config struct {
	// Dir is the served directory: its api/ tree holds the functions,
	// and public/ the static files (without public/, its other files
	// are static files). Required: New returns ErrDir when it is empty.
	Dir string
	// Engine runs the guests: "wazero" (the default, pure Go) or
	// "wasmtime" (in builds with the wasmtime tag). Engines lists them.
	Engine string
	// CacheDir holds built guests and compiled code, so that a restart
	// neither rebuilds nor recompiles. Default: Dir/.wfn, or a directory
	// under the user cache directory when Dir is not writable.
	CacheDir string
	// Logger receives the host's log lines and the guests' output, one
	// line per line written, with the request id. Default: slog.Default().
	Logger *slog.Logger
	// Env is the environment every guest sees (WASI environ_get). The
	// host's own environment never reaches a guest.
	Env map[string]string
	// Region names this host: request ids, VERCEL_REGION, geolocation.
	// Default "dev1". It is an id such as Vercel's (iad1, cdg1): lower-case
	// letters, digits and '-', at most 32 bytes; New returns ErrConfig for
	// another (a ':' would break the request id, region::id).
	Region string
	// Environment is VERCEL_ENV: development (the default), preview or
	// production. New returns ErrConfig for another value.
	Environment string
	// NodeEnv is NODE_ENV for JavaScript and TypeScript functions whose
	// environment (.env, vercel.json's env, Env) does not set it:
	// "production" (the default), as Vercel sets it for deployed
	// functions, or "development", as vercel dev sets it (wfn dev does).
	// Other guests get no NODE_ENV.
	NodeEnv string
	// URL is VERCEL_URL: the host and port clients use, without a scheme.
	URL string
	// DeploymentID is VERCEL_DEPLOYMENT_ID. Default: a new one per New.
	DeploymentID string
	// TrustedProxies are the peers whose forwarding headers (x-vercel-*,
	// x-forwarded-*, x-real-ip, forwarded, x-middleware-subrequest) reach
	// guests and are believed. From any other peer those headers are
	// hidden from guests and the client address is the socket's.
	// Default: none.
	TrustedProxies []netip.Prefix
	// Cache is where the Runtime Cache and the CDN cache keep their
	// entries: empty for files in CacheDir (runtime-cache.db and
	// cdn-cache.db, which survive a restart), or redis://HOST:PORT/DB for
	// a Redis that several hosts share (rediss:// for TLS). The hosts of
	// one database share one Runtime Cache and one set of tags, whatever
	// they serve: give each project and environment a database of its
	// own. New returns ErrConfig for another value. A Redis that cannot
	// be reached is not an error of New: it is tried again, at most once
	// a second, when the caches are used (a guest's cache call gets EIO
	// meanwhile); the log says so when it first fails, then at most every
	// 10 s, and says "cache opened" once it is reached. Logs and errors
	// show the URL without its password.
	Cache string
	// PurgeFrom are the peers allowed to purge the caches through
	// POST /_wfn/cache/purge (wfn cache purge), by socket address.
	// Default: loopback only.
	PurgeFrom []netip.Prefix
	// PurgeToken, when set, is required of every purge request as
	// "Authorization: Bearer TOKEN" (RFC 6750, section 2.1): without it,
	// or with another, the request gets 401. With it, a request that came
	// through a proxy may purge too. It must be a bearer token's form:
	// letters, digits and -._~+/, then any '=' (New returns ErrConfig
	// otherwise). It is compared in constant time.
	PurgeToken string
	// PurgeForwarded lets a request that came through a proxy purge
	// without a token: one from a TrustedProxies peer, or one carrying
	// forwarding headers (x-forwarded-*, forwarded, x-real-ip, x-vercel-*,
	// via). By default such a request gets 403, because PurgeFrom sees the
	// proxy, not the client behind it. Set it only when the proxy itself
	// guards /_wfn/.
	PurgeForwarded bool
	// CDNRules is the CDN cache's rule set: "vercel" (the default, "":
	// only s-maxage and the CDN-targeted fields, CDN-Cache-Control and
	// Vercel-CDN-Cache-Control, make a response cacheable, as on Vercel)
	// or "rfc9111" (an RFC 9111 shared cache: s-maxage, then max-age, then
	// Expires minus Date, the CDN-targeted fields still first, any final
	// status but 206 and 304; RFC 9111 sections 3 and 4.2.1, RFC 9213
	// section 2.2), for guests not written for
	// Vercel's CDN. New returns ErrConfig for another value.
	CDNRules string
	// GeoIPDB is a MaxMind city database (.mmdb) for geolocation by client
	// address, used when a trusted proxy sent no x-vercel-ip-* headers.
	GeoIPDB string

	// MaxInstances bounds the live instances of all functions together.
	// Default 1000.
	MaxInstances int
	// MaxInstancesPerFunction bounds the live instances of one function,
	// and so its concurrent invocations. Default 100.
	MaxInstancesPerFunction int
	// MaxQueue bounds the invocations of one function waiting for an
	// instance; past it, requests get 503 FUNCTION_THROTTLED. Default 1000.
	MaxQueue int
	// QueueTimeout bounds how long an invocation waits for an instance
	// before it gets 503 FUNCTION_THROTTLED. Default 10s.
	QueueTimeout time.Duration
	// MaxDuration bounds one invocation; a guest still running then is
	// stopped and its instance discarded. Default 300s, as Vercel's.
	// Unlike vercel.json's maxDuration, it is not bound by MaxDurationMax.
	MaxDuration time.Duration
	// MemoryLimitMB caps each instance's linear memory, in MB. Default
	// 2048. Unlike vercel.json's memory, it is not bound to MemoryMinMB
	// and MemoryMaxMB: a guest that needs more fails (Functions reports
	// it, or its invocations get 500).
	MemoryLimitMB int
	// TmpSizeMB is the size of the writable /tmp each instance gets, in
	// MB. Default 500, as Vercel gives its functions ("a read-only
	// filesystem with writable /tmp scratch space up to 500 MB",
	// vercel.com/docs/functions/runtimes#file-system-support).
	TmpSizeMB int

	// Isolation is IsolationInstance (the default: invocations reuse warm
	// instances, one at a time each) or IsolationInvocation (every
	// invocation gets a fresh instance, which snapshots make cheap).
	Isolation string
	// DisableSnapshots starts every instance by running its
	// initialisation. By default an instance starts from an image of
	// memory and globals taken once after _initialize and wfn_init (the
	// Wizer idea), when the engine and the guest allow it.
	DisableSnapshots bool
	// MinInstances of each function are created when the host starts and
	// kept idle in reserve: when an invocation takes one, another is made
	// in the background. Default 0.
	MinInstances int
	// IdleTimeout closes an instance that stayed idle this long, down to
	// the reserve. Default 5 minutes.
	IdleTimeout time.Duration
	// DisableIdleTimeout keeps idle instances until the host closes
	// (IdleTimeout is then unused), as "idleTimeout": 0 in vercel.json
	// does for one function.
	DisableIdleTimeout bool
	// UnloadAfter unloads a function that has taken no invocation for
	// this long: its idle instances, the MinInstances reserve included,
	// are closed, and its compiled code, its data image and its snapshot
	// are released, leaving the function a few hundred bytes. The next
	// request loads the compiled code again from the compile cache in
	// CacheDir (tens of milliseconds for a Go guest, BENCHMARKS.md) and
	// starts an instance, and the reserve is made again. The idle time is
	// checked every UnloadAfter/4. Default 5 minutes, as IdleTimeout.
	UnloadAfter time.Duration
	// DisableUnload keeps every function loaded until the host closes
	// (UnloadAfter is then unused).
	DisableUnload bool
	// MaxInvocations retires an instance after this many invocations.
	// Default 0: no limit.
	MaxInvocations int
	// SuspendAfter is how long an instance stays idle before it counts as
	// suspended and the host calls its wfn_on_suspend, once per idle
	// period, so that the guest releases its pools' idle connections
	// (abi/SPEC.md section 5c). Default 10 seconds, the default idle time
	// of a pg pool, which Vercel's attachDatabasePool waits for.
	SuspendAfter time.Duration

	// RunCrons invokes the "crons" of vercel.json on schedule, as Vercel
	// does (GET path with user-agent vercel-cron/1.0, and Authorization:
	// Bearer $CRON_SECRET when the project's environment sets
	// CRON_SECRET; vercel.com/docs/cron-jobs). Default false; wfn serve
	// sets it unless --crons=false.
	RunCrons bool

	// LoadInBackground makes New return once the directory is scanned and
	// its configuration read, with the functions built and compiled in the
	// background: a request waits for its own function only, and
	// Functions reports those not done yet as Loading. By default New
	// returns when every function is loaded.
	LoadInBackground bool
	// ShowBuildErrors answers a request to a function that failed to build
	// with the build's output (the compiler's messages), as JSON to
	// clients that accept it, instead of a pointer to the log. For
	// development: the output names the project's files. Default false.
	ShowBuildErrors bool
	// TieredReload makes Reload serve a function whose code is new (not
	// compiled by this host before; not a JavaScript function, whose
	// runtime is compiled once) from wazero's interpreter, ready
	// about ten times sooner, while wazero's compiler compiles it in the
	// background; then the compiled version takes its place as a Reload
	// would: invocations in flight end on the interpreter, later ones
	// run compiled. For development (wfn dev): the first response after a
	// change comes sooner, and runs slower. Only with the wazero engine;
	// New and the functions found at start compile as without it.
	// Default false.
	TieredReload bool
	// AccessLog logs one line per request to Logger at level INFO, with
	// the message "request" and the fields of AccessEntry: method, path,
	// status (499 when the client left before the response's head was
	// sent), duration_ms, bytes, fn, id, fresh, cache, client (the
	// client's IP address as the function gets it: behind one of
	// TrustedProxies, the client the proxy names, not the proxy) and
	// user_agent. The path and the user agent show their first 1,024 and
	// 512 bytes at most, with "..." and path_bytes or user_agent_bytes,
	// their whole length, when cut; a response whose body did not reach
	// the client whole after its head adds cut=true (AccessEntry.Cut).
	// Default false; wfn serve sets it.
	AccessLog bool
	// OnAccess, when set, receives the entry of every request once its
	// response is complete, on the request's goroutine: it must not block.
	OnAccess func(AccessEntry)

	cronClock cronjob.Clock   // tests move time; nil: the wall clock
	tierGate  <-chan struct{} // tests hold TieredReload's swaps until it closes; nil: none
	// reloadGate, when set, is called by Reload once its functions are
	// built, before it swaps them in (tests hold the swap in it).
	reloadGate func()
	// loadGate, when set, is called with a function's source before it
	// is loaded (at start or by Reload): tests hold a load with it.
	loadGate func(source string)
	// interpretAll runs every function on TieredReload's interpreter, for
	// tests of its behaviour (WFN_TEST_ENGINE=wazero-interpreter).
	interpretAll bool
}

// defaultUnloadAfter is Config.UnloadAfter's default: as long as an idle
// instance is kept (project.Defaults' idleTimeout), so that a function
// used every few minutes stays warm, and one that is not costs little.
const defaultUnloadAfter = 5 * time.Minute

// defaultSuspendAfter is Config.SuspendAfter's default (abi/SPEC.md
// section 5c).
const defaultSuspendAfter = 10 * time.Second

// Vercel's limits of a function's memory and maxDuration
// (vercel.com/docs/functions/configuring-functions), which vercel.json's
// "functions" values must meet, and wfn's --memory and --max-duration.
const (
	MemoryMinMB    = 128                // MB
	MemoryMaxMB    = 10240              // MB
	MaxDurationMax = 1800 * time.Second // with "maxDuration": "max"
)

// The values are written out for go doc, which shows a constant's
// expression: the compiler checks that they are package project's, which
// applies them (a constant index other than 0 does not compile here).
var (
	_ = [1]struct{}{}[MemoryMinMB-project.MemoryMin]
	_ = [1]struct{}{}[MemoryMaxMB-project.MemoryMax]
	_ = [1]struct{}{}[MaxDurationMax-project.MaxDurationMax]
)

// Isolation modes.
const (
	// IsolationInstance lets invocations reuse warm instances.
	IsolationInstance = "instance"
	// IsolationInvocation gives every invocation a fresh instance.
	IsolationInvocation = "invocation"
)

// DefaultConfig is the configuration the zero fields of a Config stand
// for: the host-wide defaults, and the per-function ones that
// vercel.json's "functions" can override (maxDuration 300 s and memory
// 2048 MB as Vercel's, vercel.com/docs/functions/configuring-functions).
// Dir, CacheDir and the fields whose zero value is their meaning are
// left zero. wfn serve's flags take their defaults from it.
func DefaultConfig() Config {
	d := project.Defaults()
	return Config{
		Engine:                  "wazero",
		Region:                  "dev1",
		Environment:             "development",
		NodeEnv:                 "production",
		CDNRules:                "vercel",
		MaxInstances:            1000,
		MaxInstancesPerFunction: *d.MaxConcurrency,
		MaxQueue:                *d.MaxQueue,
		QueueTimeout:            *d.QueueTimeout,
		MaxDuration:             *d.MaxDuration,
		MemoryLimitMB:           *d.MemoryMB,
		TmpSizeMB:               500,
		Isolation:               *d.Isolation,
		MinInstances:            *d.MinInstances,
		IdleTimeout:             *d.IdleTimeout,
		UnloadAfter:             defaultUnloadAfter,
		SuspendAfter:            defaultSuspendAfter,
		MaxInvocations:          *d.MaxInvocations,
	}
}

// withDefaults sets the host-wide defaults of DefaultConfig. The
// per-function ones stay unset here: functionSettings leaves them to
// project.Defaults, under vercel.json's rules.
func (c Config) withDefaults() Config {
	d := DefaultConfig()
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	c.Engine = cmp.Or(c.Engine, d.Engine)
	c.Region = cmp.Or(c.Region, d.Region)
	c.Environment = cmp.Or(c.Environment, d.Environment)
	c.NodeEnv = cmp.Or(c.NodeEnv, d.NodeEnv)
	c.CDNRules = cmp.Or(c.CDNRules, d.CDNRules)
	c.MaxInstances = cmp.Or(c.MaxInstances, d.MaxInstances)
	c.TmpSizeMB = cmp.Or(c.TmpSizeMB, d.TmpSizeMB)
	c.UnloadAfter = cmp.Or(c.UnloadAfter, d.UnloadAfter)
	c.SuspendAfter = cmp.Or(c.SuspendAfter, d.SuspendAfter)
	return c
}

// validate checks the host-wide limits and the per-function settings.
func (c Config) validate() error {
	if c.MaxInstances < 0 {
		return fmt.Errorf("%w: MaxInstances %d: want 0 (the default) or more", ErrConfig, c.MaxInstances)
	}
	if c.UnloadAfter < 0 {
		return fmt.Errorf("%w: UnloadAfter %v: want 0 (the default) or more", ErrConfig, c.UnloadAfter)
	}
	if c.SuspendAfter < 0 {
		return fmt.Errorf("%w: SuspendAfter %v: want 0 (the default) or more", ErrConfig, c.SuspendAfter)
	}
	if c.TmpSizeMB < 0 {
		return fmt.Errorf("%w: TmpSizeMB %d: want 0 (the default) or more", ErrConfig, c.TmpSizeMB)
	}
	if !validRegion(c.Region) {
		return fmt.Errorf("%w: Region %q: want an id such as iad1 (lower-case letters, digits and '-', at most 32 bytes)", ErrConfig, c.Region)
	}
	if c.MaxInstancesPerFunction > 0 && c.MinInstances > c.MaxInstancesPerFunction {
		return fmt.Errorf("%w: MinInstances %d is more than MaxInstancesPerFunction %d", ErrConfig, c.MinInstances, c.MaxInstancesPerFunction)
	}
	switch c.Environment {
	case "development", "preview", "production":
	default:
		return fmt.Errorf("%w: Environment %q: want development (the default), preview or production", ErrConfig, c.Environment)
	}
	if err := validCache(c.Cache); err != nil {
		return err
	}
	if err := c.functionSettings().Validate(); err != nil {
		return invalidConfig(err)
	}
	return nil
}

// validRegion reports whether s is a region id such as Vercel's: 1 to 32
// bytes of a-z, 0-9 and '-'.
func validRegion(s string) bool {
	if s == "" || len(s) > 32 {
		return false
	}
	for _, c := range []byte(s) {
		if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

// validCache checks Config.Cache: "" or a Redis URL that go-redis
// accepts. The error shows the URL without its password.
func validCache(s string) error {
	if s == "" {
		return nil
	}
	u, err := url.Parse(s)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // without the URL, which may hold a password
		}
		return fmt.Errorf("%w: Cache: not a URL: %w", ErrConfig, err)
	}
	if _, err := redis.ParseURL(s); err != nil {
		return fmt.Errorf("%w: Cache %s: want redis://HOST:PORT/DB or rediss://..., or nothing for files in the cache directory: %w", ErrConfig, u.Redacted(), err)
	}
	return nil
}

// functionSettings are the per-function settings of c: a zero field is
// unset (project.Defaults then applies), DisableSnapshots and
// DisableIdleTimeout set theirs.
func (c Config) functionSettings() project.Settings {
	s := project.Settings{
		MaxDuration:    nonZero(c.MaxDuration),
		MemoryMB:       nonZero(c.MemoryLimitMB),
		MaxConcurrency: nonZero(c.MaxInstancesPerFunction),
		MaxQueue:       nonZero(c.MaxQueue),
		QueueTimeout:   nonZero(c.QueueTimeout),
		Isolation:      nonZero(c.Isolation),
		MinInstances:   nonZero(c.MinInstances),
		IdleTimeout:    nonZero(c.IdleTimeout),
		MaxInvocations: nonZero(c.MaxInvocations),
	}
	if c.DisableSnapshots {
		s.Snapshot = new(false)
	}
	if c.DisableIdleTimeout {
		s.IdleTimeout = new(time.Duration(0))
	}
	return s
}

// nonZero is nil for the zero value, else a pointer to v.
func nonZero[T comparable](v T) *T {
	var zero T
	if v == zero {
		return nil
	}
	return &v
}
