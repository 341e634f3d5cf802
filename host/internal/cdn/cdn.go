// Package cdn is the response cache in front of wfn's functions, in the
// style of Vercel's CDN cache: it answers a request from a [cache.Store]
// or from the origin (the function invocation), and says which in the
// x-vercel-cache response header.
//
// # What is cached
//
// Only GET and HEAD requests are answered from the cache; HEAD is answered
// from the GET entry, without a body. A request with an Authorization or
// Range header, or a _vercel_no_cache=1 cookie or query parameter, and any
// other method, goes to the origin and nothing is stored (BYPASS). A
// request of an unsafe method (POST, PUT, DELETE, PATCH...) answered with
// a 2xx or 3xx status deletes what is stored for its URL, every variant
// included (RFC 9111 section 4.4).
//
// A response is stored when its status is 200, 404, 301 or 308, it has no
// Set-Cookie (a shared cache must not hand one client's cookie to another),
// no Vary: Cookie or Vary: *, its body is at most Options.MaxBody bytes and
// its cache header gives it a positive lifetime. The cache header is the
// first present of Vercel-CDN-Cache-Control, CDN-Cache-Control and
// Cache-Control; only that one is read, and the first two are read as
// structured-field dictionaries (RFC 9213 section 2.1): one that does not
// parse is ignored, as if absent. Its s-maxage (in the two CDN headers also
// max-age; in Cache-Control max-age is for browsers and does not count) is
// the lifetime, at most a year, and stale-while-revalidate the time after
// it during which the entry is served stale (a year when the directive has
// no value, as on Vercel). stale-if-error is the time after the lifetime
// during which a failing function is answered by the entry (RFC 5861).
// private, no-store or no-cache in it prevent storing. Under
// Options.Rules RulesRFC9111 the cache is an RFC 9111 shared cache
// instead: in Cache-Control max-age counts after s-maxage, and without
// either Expires minus Date gives the lifetime (sections 4.2.1 and 5.3);
// the CDN-targeted fields still come first. Any final status but 206 and
// 304 is then stored (section 3), only those RFC 9110 defines with
// must-understand (section 5.2.2.3), and a successful unsafe request
// also invalidates the same-origin URLs of its response's Location and
// Content-Location (section 4.4). A response that
// arrives with an Age is that old already (RFC 9111 section 4.2.3): the Age
// counts against its lifetime and adds to the Age of hits, and one whose
// Age reaches its lifetime is not stored. A Date the function set is kept
// and replayed; hop-by-hop fields (Connection and those it names,
// Keep-Alive, TE, Upgrade...) are not stored.
//
// # Revalidation
//
// An entry with an ETag or a Last-Modified stays stored Options.KeepStale
// (1 h) past its lifetime and its stale windows. A GET or a HEAD that
// finds it expired (past stale-while-revalidate) asks the origin whether
// it is still good (a HEAD with a GET, so that a 200 can replace the
// entry): the request goes on with If-None-Match set to the stored
// ETag and If-Modified-Since to the stored Last-Modified, in place of the
// client's own preconditions (RFC 9111 section 4.3.1). A 304 refreshes the
// entry (section 4.3.4): its fields replace the stored ones of the same
// name, except Content-Length, Content-Encoding, Content-Range,
// Content-MD5, ETag and Vary; its cache header, when it has one, gives the
// new lifetimes, otherwise the stored ones start again. The refreshed
// entry is stored and answers the client, with a 304 when the client's own
// preconditions match it. Any other response replaces the entry as a miss
// would. Concurrent requests wait for one validation, as for a miss;
// within stale-if-error a failed one is answered by the entry. A request
// with Cache-Control: no-cache, and the background revalidation of a
// STALE entry, are conditional in the same way.
//
// # Variants (Vary)
//
// A response with Vary is stored as one variant of its URL, keyed by the
// values the request had for the headers Vary names, and is reused only
// for a request whose values match (RFC 9111 section 4.1). Values are
// compared normalised: field lines combined, whitespace around commas and
// at the ends dropped, runs of whitespace reduced to one space, letters
// lowered in Accept, Accept-Charset and Accept-Language, quoted strings
// kept as they are; Accept-Encoding compares as the set of codings it
// accepts. An absent header matches only an absent header. Vary: * and
// Vary: Cookie are never stored (Vercel does not cache Vary: Cookie).
//
// A body the function encoded itself (Content-Encoding) varies on
// Accept-Encoding whether or not Vary says so, and is stored only when the
// request accepts its coding: it never reaches a client from the cache
// that did not ask for it. The cache's own compression (below) does not
// split the key.
//
// The URL's entry key then holds an index: the header names and the
// variants, most recently stored first. At most Options.MaxVariants
// variants are kept per URL; storing another deletes the oldest. Each
// variant carries the entry's tags, so purges by tag and by path reach
// every variant. The index, variants and markers live in the store, so
// hosts sharing a Redis store share the variants.
//
// # What the client receives
//
// Vercel-CDN-Cache-Control, CDN-Cache-Control and Vercel-Cache-Tag are
// consumed, cached or not (whether Vercel forwards CDN-Cache-Control to
// clients is unconfirmed; we follow Vercel-CDN-Cache-Control). s-maxage and
// stale-while-revalidate are removed from Cache-Control; a Cache-Control
// left without a directive for the browser (none, or only public) becomes
// [DefaultCacheControl], Vercel's default, so a cached response reaches the
// client as "public, max-age=0, must-revalidate" unless the function gave
// the browser its own directives (max-age=60 stays).
//
// # States
//
//   - MISS: no entry; the origin answered (and the entry was stored if the
//     response can be). Concurrent misses of one key are collapsed: one
//     origin call, the others wait and receive the same response, also
//     labelled MISS (Vercel's "request collapsed" reason).
//   - HIT: the entry's age is below its lifetime. Age is set.
//   - STALE: the age is past the lifetime but within
//     stale-while-revalidate, or a tag of the entry was invalidated, or
//     deleted with a revalidation deadline that has not passed. The entry is
//     served at once and one background revalidation per key (an in-flight
//     set) stores the new response. Age is set. A failed revalidation (a
//     response that cannot be stored) keeps the stale entry.
//   - REVALIDATED: the request had Cache-Control: no-cache or Pragma:
//     no-cache, or its entry was deleted by a tag, or it was expired and
//     had validators (see Revalidation): the origin answered in the
//     foreground. A deletion is told from a cold miss by a marker key,
//     stored without tags and with the entry's TTL beside every entry.
//   - BYPASS: see above.
//
// Entries are stored with ttl = lifetime + stale-while-revalidate and with
// their tags: those of the Vercel-Cache-Tag header, those the origin
// returns (cdn_add_cache_tag), and an implicit tag for the URL path
// ([SrcTag]) that [Cache.InvalidateSrcImages] and [Cache.DeleteSrcImages]
// use. The implicit tag counts against cache.MaxTags, so 127 tags remain
// for the function. A response whose tag set breaks the limits (too many
// tags, a tag over cache.MaxTagSize bytes, a comma) is served but not
// stored, with a warning in the log.
//
// # Choices where Vercel's behaviour is unconfirmed
//
//   - A HEAD request without an entry goes to the origin as HEAD; its
//     response is not stored (it has no body to serve a GET with).
//   - Conditional requests: an entry with an ETag or Last-Modified answers
//     If-None-Match and If-Modified-Since with 304 Not Modified, and
//     If-Match and If-Unmodified-Since with 412 when they fail (RFC 9110
//     section 13.2.2), whatever its state. A request that goes to the
//     function (a miss, a pass, a bypass) keeps its conditional headers;
//     the function's 304 reaches the client and is neither stored nor a
//     reason to stop caching the key, which the next unconditional request
//     fills. A background revalidation sends none of the client's, only
//     the entry's validators.
//   - A response that cannot be stored is remembered for the key for
//     Options.HitForMiss (10 s) or until a storable response is seen, and
//     requests in that time do not wait for each other.
//   - The origin of a collapsed miss runs with a context detached from the
//     leader's client: it is cancelled only when the leader's client and
//     every waiting follower have gone, or when the response turns out not
//     storable and the leader's client has gone.
//   - A storable response is buffered until it ends and then sent from
//     its entry, unless the function flushes it: from the first flush on
//     it streams to the client that caused the miss as it is written, while
//     it is buffered and then stored (that client gets it as written,
//     without the cache's compression). Collapsed followers wait for the
//     stored entry. A response past MaxBody keeps streaming and is not
//     stored. One that is not storable is streamed through as it is
//     written.
//   - Compression: a stored response with a textual Content-Type, no
//     Content-Encoding and at least 1 KiB of body is compressed once, with
//     gzip and zstd, when it is stored; hits send the stored form chosen by
//     Accept-Encoding (zstd first, q=0 honoured) with Vary: Accept-Encoding.
//     When an entry does not fit in one store value (cache.MaxValueSize)
//     the identity body is dropped, and clients without zstd or gzip get it
//     decompressed. Responses that are not stored are sent as the origin
//     wrote them.
//   - A cache store that fails (cache.ErrUnavailable) never fails a
//     request: the origin answers (MISS) and the failure is logged at most
//     every 10 s.
package cdn

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/wfn-dev/wfn/cache"
)

// Values of the x-vercel-cache response header.
const (
	Miss        = "MISS"
	Hit         = "HIT"
	Stale       = "STALE"
	Revalidated = "REVALIDATED"
	Bypass      = "BYPASS"
)

// DefaultMaxBody is the largest body the cache stores unless
// Options.MaxBody says otherwise.
const DefaultMaxBody = 10 << 20

// DefaultMaxVariants is how many variants of one URL the cache keeps
// unless Options.MaxVariants says otherwise.
const DefaultMaxVariants = 32

// DefaultKeepStale is how long an entry with a validator stays stored past
// its lifetime unless Options.KeepStale says otherwise.
const DefaultKeepStale = time.Hour

// Options configures New. The zero value is usable.
type Options struct {
	// Logger receives why responses are not stored and store failures
	// (default slog.Default()).
	Logger *slog.Logger
	// MaxBody is the largest response body stored (default 10 MB).
	// Entries must also fit in one store value (cache.MaxValueSize), once
	// compressed when their type allows.
	MaxBody int64
	// HitForMiss is how long a key whose response could not be stored
	// skips request collapsing (default 10 s).
	HitForMiss time.Duration
	// MaxVariants bounds the variants stored for one URL whose response
	// varies (default 32); storing one more evicts the least recently
	// stored.
	MaxVariants int
	// KeepStale is how long past its lifetime an entry with an ETag or
	// Last-Modified stays stored, to be revalidated with a conditional
	// request rather than fetched whole (RFC 9111 section 4.3.1; default
	// 1 h). It does not extend how long the entry is served without
	// asking the origin.
	KeepStale time.Duration
	// Rules decide which responses are stored and for how long:
	// RulesVercel (the default, "") or RulesRFC9111.
	Rules Rules
	// URLKey gives the key of a GET of u (absolute, with r's origin) from
	// the client of r, a request Serve had, or false when nothing can be
	// stored for u. Under RulesRFC9111 the URLs of Location and
	// Content-Location are invalidated under it: a host that routes
	// requests before keying them (rewrites) keys u as it keys the
	// request for u. Default: u's path and query in place of r's in r's
	// key.
	URLKey func(r *http.Request, u *url.URL) (key string, ok bool)
	// OnStoreError, if set, is called with the operation (get, set,
	// delete) of each store call that failed with the store unavailable,
	// one that made a request answered from the origin or a response
	// not stored; a value too large or invalid is no such failure.
	OnStoreError func(op string)
}

// Origin runs the function for r, writing its response to w, and returns
// the tags the function added with cdn_add_cache_tag. For a collapsed miss
// or a background revalidation r's context is detached from the client
// that triggered it; the background revalidation has no client at all.
//
// It is an interface, as http.Handler, so that a caller may keep it in a
// struct it allocates anyway: a closure would cost an allocation of its
// own on every request.
type Origin interface {
	ServeOrigin(w http.ResponseWriter, r *http.Request) (tags []string)
}

// PassOrigin is an Origin that gives the cache the PassWriter for the
// response of a request it passes through (BYPASS, hit-for-miss), so that
// the writer need not be allocated on its own: the origin keeps it in a
// struct it allocates anyway. The cache passes at most one response
// through per Serve call, and overwrites the PassWriter first: an origin
// used for one Serve call at a time, as one made per request is, may
// return the same one each time.
type PassOrigin interface {
	Origin
	PassWriter() *PassWriter
}

// OriginFunc is a function as an Origin, as http.HandlerFunc.
type OriginFunc func(w http.ResponseWriter, r *http.Request) (tags []string)

// ServeOrigin calls f(w, r).
func (f OriginFunc) ServeOrigin(w http.ResponseWriter, r *http.Request) []string { return f(w, r) }

// Cache answers requests from a cache.Store or from an origin. It is safe
// for concurrent use.
type Cache struct {
	store       cache.Store
	log         *slog.Logger
	maxBody     int64
	hitForMiss  time.Duration
	maxVariants int
	keepStale   time.Duration
	rules       Rules
	urlKey      func(r *http.Request, u *url.URL) (string, bool)

	mu      sync.Mutex
	flights map[string]*flight
	landed  map[string]landed // the last flight of each key that stored a response
	// hfm is hit-for-miss: key → until. Written under mu and hfmMu,
	// read under either: every request reads it (hitForMissNow) under
	// hfmMu's read lock, and a plain map lets it look up a key held in
	// bytes (ServeKeyAt) without making a string.
	hfmMu        sync.RWMutex
	hfm          map[string]time.Time
	revalidating map[string]bool
	closed       bool
	wg           sync.WaitGroup // background revalidations

	stop   context.Context // cancelled when Close gives up waiting
	cancel context.CancelFunc

	storeLog, tagLog limiter
	onStoreError     func(op string)
	compressions     atomic.Int64
}

// flight is one origin call for a missing key that other requests wait
// for. Its fields are guarded by Cache.mu; resp is set before done is
// closed and read after.
type flight struct {
	key        string // in Cache.flights: the URL key, or the variant's key when the URL's index was read
	url        string // the URL key
	done       chan struct{}
	resp       *entry // nil: not storable, call the origin yourself
	released   bool
	waiters    int
	leaderGone bool
	cancel     context.CancelFunc
}

// New returns a cache over store. The caller keeps ownership of store and
// closes it after Close.
func New(store cache.Store, opts Options) *Cache {
	c := &Cache{
		store:        store,
		log:          opts.Logger,
		maxBody:      opts.MaxBody,
		hitForMiss:   opts.HitForMiss,
		maxVariants:  opts.MaxVariants,
		keepStale:    opts.KeepStale,
		rules:        cmp.Or(opts.Rules, RulesVercel),
		urlKey:       opts.URLKey,
		onStoreError: opts.OnStoreError,
		flights:      make(map[string]*flight),
		landed:       make(map[string]landed),
		hfm:          make(map[string]time.Time),
		revalidating: make(map[string]bool),
	}
	if c.log == nil {
		c.log = slog.Default()
	}
	if c.maxBody <= 0 {
		c.maxBody = DefaultMaxBody
	}
	if c.hitForMiss <= 0 {
		c.hitForMiss = 10 * time.Second
	}
	if c.maxVariants <= 0 {
		c.maxVariants = DefaultMaxVariants
	}
	if c.keepStale <= 0 {
		c.keepStale = DefaultKeepStale
	}
	c.stop, c.cancel = context.WithCancel(context.Background())
	return c
}

// Key is a cache key for r without its method: scheme, host, path and
// query. The host prefixes it with what else separates caches (the
// deployment).
func Key(r *http.Request) string { return KeyIn("", r) }

// KeyIn is Key within a scope (such as a deployment): scope + "|" + Key.
func KeyIn(scope string, r *http.Request) string {
	var buf [256]byte
	return string(AppendKeyIn(buf[:0], scope, r))
}

// AppendKeyIn appends KeyIn(scope, r) to dst and returns the result, for
// ServeKeyAt: a key built in a buffer of the caller's.
func AppendKeyIn(dst []byte, scope string, r *http.Request) []byte {
	if scope != "" {
		dst = append(append(dst, scope...), '|')
	}
	if r.TLS != nil {
		dst = append(dst, "https://"...)
	} else {
		dst = append(dst, "http://"...)
	}
	dst = append(append(dst, r.Host...), r.URL.EscapedPath()...)
	return append(append(dst, '?'), r.URL.RawQuery...)
}

// Store keys: entries and their markers (see REVALIDATED in the package
// doc). The entry key of a URL whose response varies holds an index, and
// each variant is stored under variantKey.
func entryKey(key string) string  { return "cdn:e:" + key }
func markerKey(key string) string { return "cdn:m:" + key }

// variantKey is the key of the variant id of the URL key.
func variantKey(key, id string) string { return key + "|vary:" + id }

// lookup reads the entry that may answer r: the URL's own, or when the URL
// holds an index, the variant of r's selecting headers. skey is the key the
// entry is (or would be) stored under.
func (c *Cache) lookup(r *http.Request, key string) (se cache.Entry, skey string, err error) {
	se, err = c.store.Get(r.Context(), entryKey(key))
	if err != nil || !isIndex(se.Value) {
		return se, key, err
	}
	x, err := decodeIndex(se.Value)
	if err != nil {
		c.log.Warn("cdn: cannot read variant index; treating it as a miss", "key", key, "err", err)
		return se, key, fmt.Errorf("%w: %w", cache.ErrNotFound, err)
	}
	skey = variantKey(key, variantID(x.names, r.Header))
	se, err = c.store.Get(r.Context(), entryKey(skey))
	return se, skey, err
}

// matches reports whether the entry e, stored or received from a flight,
// may answer r: it does not vary, or r's selecting headers match those of
// the request it answered (RFC 9111 section 4.1).
func matches(e *entry, r *http.Request) bool {
	return len(e.names) == 0 || variantID(e.names, r.Header) == e.variant
}

// Serve answers r from the cache or from origin, and always sets
// x-vercel-cache. key is r's cache key (see [Key]); HEAD and GET of one URL
// must have the same key.
func (c *Cache) Serve(w http.ResponseWriter, r *http.Request, key string, origin Origin) {
	c.ServeAt(w, r, key, origin, time.Now())
}

// ServeAt is Serve for a request that arrived at start, a time read before
// it: a server that has read the clock for the request already saves a
// read.
func (c *Cache) ServeAt(w http.ResponseWriter, r *http.Request, key string, origin Origin, start time.Time) {
	c.serve(w, r, nil, key, origin, start)
}

// ServeKeyAt is ServeAt with the key in bytes (AppendKeyIn) that the
// cache does not keep: a request that hit-for-miss passes to the origin
// makes no key string, which is most requests of a function whose
// responses are not cacheable.
func (c *Cache) ServeKeyAt(w http.ResponseWriter, r *http.Request, key []byte, origin Origin, start time.Time) {
	c.serve(w, r, key, "", origin, start)
}

// serve is ServeAt with the key as a string, or when that is "", as
// bytes, made a string only when the request needs one.
func (c *Cache) serve(w http.ResponseWriter, r *http.Request, kb []byte, key string, origin Origin, start time.Time) {
	if bypass(r) != "" {
		key = keyString(key, kb)
		status := c.passthrough(w, r, origin, Bypass)
		if unsafeMethod(r.Method) && status >= 200 && status < 400 {
			ctx := context.WithoutCancel(r.Context())
			c.invalidateURL(ctx, key)
			if c.rules == RulesRFC9111 {
				for _, k := range c.locationKeys(r, key, w.Header()) {
					c.invalidateURL(ctx, k)
				}
			}
		}
		return
	}
	if requestNoCache(r) {
		key = keyString(key, kb)
		if r.Method == http.MethodHead {
			c.passthrough(w, r, origin, Revalidated)
			return
		}
		// A stored entry with validators is validated rather than
		// fetched whole (RFC 9111 section 5.2.1.4).
		c.fetch(w, r, key, origin, nil, Revalidated, c.validatable(r, key))
		return
	}
	// A key whose last response could not be stored goes straight to the
	// origin for a while (hit-for-pass), without reading or writing the
	// store: most functions' responses are never cacheable, and they
	// should not pay for the cache. A response that has become cacheable
	// is stored once the mark runs out.
	if c.hitForMissNow(key, kb, start) {
		c.passthrough(w, r, origin, Miss)
		return
	}
	key = keyString(key, kb)
	se, skey, err := c.lookup(r, key)
	switch {
	case err == nil:
		e, err := decode(se.Value)
		if err != nil {
			c.log.Warn("cdn: cannot read entry; treating it as a miss", "key", key, "err", err)
			break
		}
		// The response was already e.pol.age old when it was stored
		// (RFC 9111 section 4.2.3).
		age := max(time.Since(se.Created), 0) + e.pol.age
		switch {
		case !se.Stale && age < e.pol.fresh:
			c.write(w, r, e, Hit, age)
			return
		case age < e.pol.fresh || age < e.pol.fresh+e.pol.swr:
			var old *stale
			if e.validators {
				old = &stale{e: e, tags: se.Tags, validate: true}
			}
			c.revalidate(r, key, skey, origin, se.Created, old)
			c.write(w, r, e, Stale, age)
			return
		case (r.Method == http.MethodGet || r.Method == http.MethodHead) && e.validators:
			// The origin is asked whether the entry is still good (RFC
			// 9111 section 4.3.1); concurrent requests wait for one
			// answer, as misses do. A HEAD asks with a GET, so that a 200
			// has the body that replaces the entry; the server sends the
			// HEAD's client no body.
			old := &stale{e: e, age: age, tags: se.Tags, ifError: age < e.pol.fresh+e.pol.sie, validate: true}
			c.miss(w, asGet(r), key, skey, origin, Revalidated, start, old)
			return
		case r.Method == http.MethodGet && age < e.pol.fresh+e.pol.sie:
			// stale-if-error (RFC 5861 section 4): the origin answers,
			// and the stale entry stands in if it fails.
			c.fetch(w, r, key, origin, nil, Miss, &stale{e: e, age: age, ifError: true})
			return
		}
	case errors.Is(err, cache.ErrNotFound):
	case r.Context().Err() != nil:
		return // the client left
	default:
		c.storeFailed("get", key, err)
		c.passthrough(w, r, origin, Miss)
		return
	}
	label := Miss
	if _, err := c.store.Get(r.Context(), markerKey(skey)); err == nil {
		label = Revalidated
	}
	if r.Method == http.MethodHead {
		c.passthrough(w, r, origin, label)
		return
	}
	c.miss(w, r, key, skey, origin, label, start, nil)
}

// validatable returns the entry stored for r when it has validators, to be
// validated by fetch, else nil.
func (c *Cache) validatable(r *http.Request, key string) *stale {
	se, _, err := c.lookup(r, key)
	if err != nil {
		return nil
	}
	e, err := decode(se.Value)
	if err != nil || !e.validators {
		return nil
	}
	return &stale{e: e, tags: se.Tags, validate: true}
}

// keyString is key, or when that is "", kb as a string.
func keyString(key string, kb []byte) string {
	if key != "" {
		return key
	}
	return string(kb)
}

// hitForMissNow reports whether the key (key, or when that is "", kb) is
// marked hit-for-miss at now.
func (c *Cache) hitForMissNow(key string, kb []byte, now time.Time) bool {
	var until time.Time
	var ok bool
	c.hfmMu.RLock()
	if key != "" {
		until, ok = c.hfm[key]
	} else {
		until, ok = c.hfm[string(kb)] // a lookup makes no string
	}
	c.hfmMu.RUnlock()
	return ok && now.Before(until)
}

// unmarkLocked ends hit-for-miss for key.
func (c *Cache) unmarkLocked(key string) {
	if _, ok := c.hfm[key]; ok {
		c.hfmMu.Lock()
		delete(c.hfm, key)
		c.hfmMu.Unlock()
	}
}

// miss answers a GET without an entry, collapsing concurrent misses of one
// key into one origin call.
//
// This is a flight of our own rather than singleflight.Group: followers
// must be released as soon as the leader's response head shows it cannot
// be stored (singleflight only returns when the function does, which for a
// streaming response is when the stream ends), they must be able to leave
// on their own context, and the origin must be cancelled when nobody is
// left to receive it.
//
// fkey is the flight's key: the URL key, or the variant's key when the
// URL's index was read. A follower is only given the leader's response when
// its selecting headers match; otherwise it calls the origin itself. old is
// the stale entry being revalidated, or nil (see fetch).
func (c *Cache) miss(w http.ResponseWriter, r *http.Request, key, fkey string, origin Origin, label string, start time.Time, old *stale) {
	c.mu.Lock()
	// A request that read the store before a flight's response was stored
	// there, and comes here after the flight ended, is one of its
	// followers: it gets that response rather than a second origin call.
	if l, ok := c.landed[fkey]; ok && l.at.After(start) && matches(l.resp, r) {
		c.mu.Unlock()
		c.write(w, r, l.resp, Miss, l.resp.pol.age)
		return
	}
	if until, ok := c.hfm[key]; ok {
		if time.Now().Before(until) {
			c.mu.Unlock()
			c.fetch(w, r, key, origin, nil, label, old)
			return
		}
		c.unmarkLocked(key)
	}
	if f := c.flights[fkey]; f != nil {
		f.waiters++
		c.mu.Unlock()
		select {
		case <-f.done:
		case <-r.Context().Done():
			c.leave(f)
			return
		}
		if f.resp != nil && matches(f.resp, r) {
			c.write(w, r, f.resp, Miss, f.resp.pol.age)
			return
		}
		c.fetch(w, r, key, origin, nil, label, old)
		return
	}
	f := &flight{key: fkey, url: key, done: make(chan struct{})}
	ctx, cancel := context.WithCancel(context.WithoutCancel(r.Context()))
	defer cancel()
	f.cancel = cancel
	c.flights[fkey] = f
	c.mu.Unlock()

	stop := context.AfterFunc(r.Context(), func() {
		c.mu.Lock()
		defer c.mu.Unlock()
		f.leaderGone = true
		if f.released || f.waiters == 0 {
			f.cancel()
		}
	})
	defer stop()
	c.fetch(w, r.WithContext(ctx), key, origin, f, label, old)
}

// leave takes a follower that gave up off f, cancelling the origin when
// nobody is left to receive it.
func (c *Cache) leave(f *flight) {
	c.mu.Lock()
	defer c.mu.Unlock()
	f.waiters--
	if f.waiters == 0 && f.leaderGone && !f.released {
		f.cancel()
	}
}

// release hands f's followers resp, or nil to make them call the origin
// themselves. A flight released without a response leaves the map at once
// (with hit-for-miss of its URL when notCacheable); one with a response
// stays until finish, so that requests arriving before its entry is stored
// are served from it too. release is idempotent.
func (c *Cache) release(f *flight, resp *entry, notCacheable bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if f.released {
		return
	}
	f.released, f.resp = true, resp
	close(f.done)
	if resp == nil {
		c.finishLocked(f)
		if f.leaderGone {
			f.cancel()
		}
	}
	if notCacheable {
		c.markLocked(f.url)
	}
}

func (c *Cache) finish(f *flight) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.finishLocked(f)
}

func (c *Cache) finishLocked(f *flight) {
	key := f.key
	if c.flights[key] != f {
		return
	}
	delete(c.flights, key)
	if f.resp == nil {
		return
	}
	now := time.Now()
	if len(c.landed) >= 4096 {
		for k, l := range c.landed {
			if now.Sub(l.at) > time.Minute {
				delete(c.landed, k)
			}
		}
	}
	c.landed[key] = landed{resp: f.resp, at: now}
}

// landed is a flight that ended with a stored response.
type landed struct {
	resp *entry
	at   time.Time // when it ended: after its response was stored
}

// markLocked starts hit-for-miss for key.
func (c *Cache) markLocked(key string) {
	now := time.Now()
	c.hfmMu.Lock()
	defer c.hfmMu.Unlock()
	if len(c.hfm) >= 4096 {
		maps.DeleteFunc(c.hfm, func(_ string, until time.Time) bool { return now.After(until) })
	}
	c.hfm[key] = now.Add(c.hitForMiss)
}

// passthrough runs the origin for a request that does not use the cache.
//
// It returns the response's status.
func (c *Cache) passthrough(w http.ResponseWriter, r *http.Request, origin Origin, label string) int {
	// The origin writes the client's header map itself: nothing to copy.
	var pw *PassWriter
	if po, ok := origin.(PassOrigin); ok {
		pw = po.PassWriter()
		*pw = PassWriter{w: w, label: label}
	} else {
		pw = &PassWriter{w: w, label: label}
	}
	origin.ServeOrigin(pw, r)
	if pw.status == 0 {
		pw.WriteHeader(http.StatusOK)
	}
	return pw.status
}

// stale is a stored entry past its lifetime that the origin is asked to
// replace.
type stale struct {
	e    *entry
	age  time.Duration
	tags []string // the stored entry's
	// ifError: within stale-if-error, the entry stands in for a failed
	// origin. validate: the origin is asked with the entry's validators,
	// and its 304 refreshes the entry.
	ifError, validate bool
}

// fetch runs the origin for r, leading f if not nil, and stores the
// response if it can. w is nil in a background revalidation.
//
// old is nil or the stale entry the response replaces. With old.validate
// the origin receives r with the entry's validators in place of the
// client's preconditions (RFC 9111 section 4.3.1), and a 304 from it
// refreshes the entry (section 4.3.4), which answers the client. With
// old.ifError, when the origin fails (a status of 500 or more, or a panic,
// before anything reached the client), the client gets the stale entry,
// labelled STALE.
func (c *Cache) fetch(w http.ResponseWriter, r *http.Request, key string, origin Origin, f *flight, label string, old *stale) {
	fallback := old != nil && old.ifError
	validate := old != nil && old.validate
	rw := &recorder{c: c, w: w, r: r, key: key, f: f, label: label, header: make(http.Header), fallback: fallback, validating: validate}
	if fallback {
		defer func() {
			if v := recover(); v != nil {
				if rw.pass || rw.tee {
					panic(v) // the client has part of the response
				}
				c.log.Warn("cdn: function failed; serving the stale entry (stale-if-error)", "key", key, "panic", v)
				c.write(w, r, old.e, Stale, old.age)
			}
		}()
	}
	if f != nil {
		// Runs on a panic of the origin too (http.ErrAbortHandler for a
		// cut response): the followers must not wait forever.
		defer c.release(f, nil, false)
	}
	or := r
	if validate {
		or = conditional(r, old.e)
	}
	tags := origin.ServeOrigin(rw, or)
	if !rw.wrote {
		rw.WriteHeader(http.StatusOK)
	}
	if rw.failed {
		c.log.Warn("cdn: function failed; serving the stale entry (stale-if-error)", "key", key, "status", rw.status)
		c.write(w, r, old.e, Stale, old.age)
		return
	}
	if rw.pass {
		return
	}
	var e *entry
	var value []byte
	var all []string
	if rw.notModified {
		e, value, all = c.refresh(rw, old, tags)
		if value == nil {
			// Not to be revalidated again and again.
			c.remove(context.WithoutCancel(r.Context()), storeKey(key, e))
		}
	} else {
		e, value, all = c.build(rw, tags)
	}
	if f != nil {
		c.release(f, e, value == nil)
	}
	switch {
	case value != nil:
		c.mu.Lock()
		c.unmarkLocked(key)
		c.mu.Unlock()
		// Stored before the leader's client has its response, so that
		// the client's next request is a HIT.
		c.put(context.WithoutCancel(r.Context()), key, e, value, all)
	case f == nil && rw.status < 500:
		c.mu.Lock()
		c.markLocked(key)
		c.mu.Unlock()
	}
	if f != nil {
		c.finish(f)
	}
	if w != nil && !rw.tee {
		c.write(w, r, e, label, e.pol.age)
	}
}

// dropUnstored deletes the fields of h that are not stored: hop-by-hop
// fields, those Connection names among them (RFC 9110 section 7.6.1),
// Content-Length (the cache sets its own), Age and X-Vercel-Cache. A Date
// the origin set is kept and replayed (RFC 9111 section 4); without one,
// the server dates each response, as for a function's own responses.
func dropUnstored(h http.Header) {
	for _, d := range parseDirectives(h.Values("Connection")) {
		delete(h, http.CanonicalHeaderKey(d.name))
	}
	for _, k := range []string{"Content-Length", "Age", hXVercelCache, "Transfer-Encoding", "Connection", "Trailer", "Keep-Alive", "Proxy-Connection", "Te", "Upgrade"} {
		delete(h, k)
	}
}

// build makes the entry of a complete buffered response, and its store
// value and tags; value is nil when the entry cannot be stored.
func (c *Cache) build(rw *recorder, originTags []string) (e *entry, value []byte, tags []string) {
	h := rw.header.Clone()
	clientHeader(h)
	dropUnstored(h)
	e = &entry{status: rw.status, pol: rw.pol, names: varyNames(h)}
	if e.names != nil {
		e.variant = variantID(e.names, rw.r.Header)
	}
	e.body[encIdentity] = rw.buf.Bytes()
	if e.body[encIdentity] == nil {
		// An empty body (a 204, say) is stored as one: an entry without
		// a body does not decode.
		e.body[encIdentity] = []byte{}
	}
	if (e.compress(h) || originEncoding(h) != "") && !varies(h, "Accept-Encoding") {
		h["Vary"] = append(h["Vary"], "Accept-Encoding")
	}
	if e.negotiated {
		c.compressions.Add(1)
	}
	e.header = fields(h)
	e.setValidators()
	tags, reason := entryTags(rw.r.URL.Path, rw.tags, originTags)
	if reason != "" {
		if c.tagLog.allow() {
			c.log.Warn("cdn: response served but not cached", "key", rw.key, "reason", reason)
		}
		return e, nil, nil
	}
	if value = e.fit(); value == nil {
		c.log.Debug("cdn: response not cached", "key", rw.key, "reason", "entry over cache.MaxValueSize")
	}
	return e, value, tags
}

func varies(h http.Header, name string) bool {
	for _, d := range parseDirectives(h.Values("Vary")) {
		if d.name == strings.ToLower(name) {
			return true
		}
	}
	return false
}

// asGet is r as a GET: r itself, or for a HEAD a copy without a body.
func asGet(r *http.Request) *http.Request {
	if r.Method == http.MethodGet {
		return r
	}
	g := r.Clone(r.Context())
	g.Method = http.MethodGet
	g.Body, g.ContentLength = http.NoBody, 0
	return g
}

// unsafeMethod reports a method that is not safe (RFC 9110 section 9.2.1):
// its success invalidates what is stored for the URL (RFC 9111 section
// 4.4).
func unsafeMethod(m string) bool {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodTrace:
		return false
	}
	return true
}

// storeKey is the key the entry e of the URL key is stored under.
func storeKey(key string, e *entry) string {
	if e.names != nil {
		return variantKey(key, e.variant)
	}
	return key
}

// remove deletes the entry stored under skey and its marker.
func (c *Cache) remove(ctx context.Context, skey string) {
	if err := errors.Join(c.store.Delete(ctx, entryKey(skey)), c.store.Delete(ctx, markerKey(skey))); err != nil {
		c.storeFailed("delete", skey, err)
	}
}

// locationKeys returns the cache keys of the URLs in the Location and
// Content-Location fields of h, the response to r whose key is key, that
// have r's origin (RFC 9111 section 4.4: a cache may invalidate them, and
// must not when their origin differs), keyed by Options.URLKey. Relative
// references resolve against r's URL.
func (c *Cache) locationKeys(r *http.Request, key string, h http.Header) []string {
	urlKey := c.urlKey
	if urlKey == nil {
		own := r.URL.EscapedPath() + "?" + r.URL.RawQuery
		prefix, ok := strings.CutSuffix(key, own)
		if !ok {
			return nil
		}
		urlKey = func(_ *http.Request, u *url.URL) (string, bool) {
			return prefix + u.EscapedPath() + "?" + u.RawQuery, true
		}
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	base := &url.URL{Scheme: scheme, Host: r.Host, Path: r.URL.Path, RawPath: r.URL.RawPath, RawQuery: r.URL.RawQuery}
	var keys []string
	for _, name := range []string{"Location", "Content-Location"} {
		v := h.Get(name)
		if v == "" {
			continue
		}
		ref, err := url.Parse(v)
		if err != nil {
			continue
		}
		u := base.ResolveReference(ref)
		if !strings.EqualFold(u.Scheme, scheme) || !strings.EqualFold(u.Host, r.Host) {
			continue
		}
		u.Fragment, u.RawFragment = "", ""
		if k, ok := urlKey(r, u); ok && k != key && !slices.Contains(keys, k) {
			keys = append(keys, k)
		}
	}
	return keys
}

// invalidateURL deletes what is stored for the URL key: its entry, or its
// index and every variant the index lists, and their markers.
func (c *Cache) invalidateURL(ctx context.Context, key string) {
	keys := []string{key}
	if se, err := c.store.Get(ctx, entryKey(key)); err == nil && isIndex(se.Value) {
		if x, err := decodeIndex(se.Value); err == nil {
			for _, id := range x.variants {
				keys = append(keys, variantKey(key, id))
			}
		}
	}
	for _, k := range keys {
		c.remove(ctx, k)
	}
}

// put stores the entry e of the URL key, encoded as value, and its marker;
// a variant is stored under its own key and added to the URL's index.
func (c *Cache) put(ctx context.Context, key string, e *entry, value []byte, tags []string) {
	var keep time.Duration
	if e.validators {
		keep = c.keepStale
	}
	ttl := e.pol.ttl(keep)
	skey := storeKey(key, e)
	// The marker goes first, so that it expires first.
	if err := c.store.Set(ctx, markerKey(skey), []byte{}, ttl, nil); err != nil {
		c.storeFailed("set", key, err)
		return
	}
	if err := c.store.Set(ctx, entryKey(skey), value, ttl, tags); err != nil {
		c.storeFailed("set", key, err)
		return
	}
	if e.names != nil {
		c.addVariant(ctx, key, e.names, e.variant, ttl)
	}
}

// addVariant records the variant id of the URL key in its index, which
// lives as long as its longest-lived variant, and evicts the least
// recently stored variants beyond MaxVariants. An index of other names
// (the response's Vary changed) is replaced: its variants can no longer be
// found and expire. Two hosts updating one index at once may each drop the
// other's id from the list; that variant stays reachable and expires with
// its TTL, but escapes the bound meanwhile.
func (c *Cache) addVariant(ctx context.Context, key string, names []string, id string, ttl time.Duration) {
	x := index{names: names}
	if se, err := c.store.Get(ctx, entryKey(key)); err == nil && isIndex(se.Value) {
		if old, err := decodeIndex(se.Value); err == nil && slices.Equal(old.names, names) {
			x.variants = slices.DeleteFunc(old.variants, func(v string) bool { return v == id })
			if !se.Expires.IsZero() {
				ttl = max(ttl, time.Until(se.Expires).Truncate(time.Second)+time.Second)
			}
		}
	}
	x.variants = slices.Insert(x.variants, 0, id)
	if len(x.variants) > c.maxVariants {
		for _, old := range x.variants[c.maxVariants:] {
			c.remove(ctx, variantKey(key, old))
		}
		x.variants = x.variants[:c.maxVariants]
	}
	if err := c.store.Set(ctx, entryKey(key), x.encode(), ttl, nil); err != nil {
		c.storeFailed("set", key, err)
	}
}

// write sends the entry e to the client. age is the entry's age: sent as
// Age on a HIT or STALE, and on a response from the origin when it
// arrived with an Age (RFC 9111 section 5.1).
func (c *Cache) write(w http.ResponseWriter, r *http.Request, e *entry, label string, age time.Duration) {
	h := w.Header()
	for _, f := range e.header {
		h[f.name] = f.values
	}
	h[hXVercelCache] = labels[label]
	if label == Hit || label == Stale || age > 0 {
		h["Age"] = []string{strconv.FormatInt(int64(age/time.Second), 10)}
	}
	if e.validators {
		if status := precondition(r, e); status != 0 {
			if status == http.StatusPreconditionFailed {
				for _, f := range e.header {
					delete(h, f.name)
				}
				h[hCacheControl] = defaultCacheControl
			}
			w.WriteHeader(status)
			return
		}
	}
	body := e.body[encIdentity]
	if e.negotiated {
		gz, zs := acceptable(r)
		switch {
		case zs && e.body[encZstd] != nil:
			body = e.body[encZstd]
			h["Content-Encoding"] = []string{"zstd"}
		case gz && e.body[encGzip] != nil:
			body = e.body[encGzip]
			h["Content-Encoding"] = []string{"gzip"}
		case body == nil:
			var err error
			if body, err = e.identity(); err != nil {
				c.log.Error("cdn: cannot serve entry", "url", r.URL.String(), "err", err)
				http.Error(w, "cannot read cached response", http.StatusBadGateway)
				return
			}
		}
	}
	h["Content-Length"] = []string{strconv.Itoa(len(body))}
	w.WriteHeader(e.status)
	if r.Method != http.MethodHead {
		_, _ = w.Write(body)
	}
}

// revalidate starts a background revalidation of key unless one is
// running. seen is the Created of the stale entry the request found, and
// old that entry when it has validators (see fetch), else nil.
//
// skey is the key of the stale entry (the variant's for a URL that varies).
func (c *Cache) revalidate(r *http.Request, key, skey string, origin Origin, seen time.Time, old *stale) {
	c.mu.Lock()
	if c.closed || c.revalidating[skey] {
		c.mu.Unlock()
		return
	}
	c.revalidating[skey] = true
	c.wg.Add(1)
	c.mu.Unlock()

	ctx, cancel := context.WithCancel(context.WithoutCancel(r.Context()))
	req := r.Clone(ctx)
	req.Method = http.MethodGet
	req.Body, req.ContentLength = http.NoBody, 0
	// Nobody is there to receive a 304: the client's validators stay with
	// the client.
	for _, h := range []string{hIfMatch, hIfNoneMatch, hIfModifiedSince, hIfUnmodifiedSince, "If-Range"} {
		delete(req.Header, h)
	}
	go func() {
		defer c.wg.Done()
		defer func() {
			c.mu.Lock()
			delete(c.revalidating, skey)
			c.mu.Unlock()
		}()
		defer cancel()
		defer func() {
			if v := recover(); v != nil && v != http.ErrAbortHandler {
				c.log.Error("cdn: background revalidation panicked", "key", key, "panic", v)
			}
		}()
		stop := context.AfterFunc(c.stop, cancel)
		defer stop()
		// A request that found the entry stale just before another
		// revalidation stored its result must not start a second one:
		// a newer entry, even one already stale again, is someone
		// else's to revalidate.
		if se, err := c.store.Get(ctx, entryKey(skey)); err == nil && se.Created.After(seen) {
			return
		}
		c.fetch(nil, req, key, origin, nil, "", old)
	}()
}

// InvalidateTags marks the entries carrying any of tags stale: the next
// request for each is served stale and revalidates it in the background
// (invalidateByTag).
func (c *Cache) InvalidateTags(ctx context.Context, tags ...string) error {
	if err := c.store.InvalidateTags(ctx, tags...); err != nil {
		return fmt.Errorf("cannot invalidate tags: %w", err)
	}
	return nil
}

// DeleteTags deletes the entries carrying any of tags: until deadline has
// passed they are served stale and revalidated in the background, after it
// the next request revalidates in the foreground (dangerouslyDeleteByTag
// with revalidationDeadlineSeconds; 0 deletes at once).
func (c *Cache) DeleteTags(ctx context.Context, deadline time.Duration, tags ...string) error {
	if err := c.store.DeleteTags(ctx, deadline, tags...); err != nil {
		return fmt.Errorf("cannot delete tags: %w", err)
	}
	return nil
}

// InvalidateSrcImages is InvalidateTags for the entries stored for
// requests to the URL paths srcs (invalidateBySrcImage); see [SrcTag].
func (c *Cache) InvalidateSrcImages(ctx context.Context, srcs ...string) error {
	if err := c.store.InvalidateTags(ctx, srcTags(srcs)...); err != nil {
		return fmt.Errorf("cannot invalidate source images: %w", err)
	}
	return nil
}

// DeleteSrcImages is DeleteTags for the entries stored for requests to the
// URL paths srcs (dangerouslyDeleteBySrcImage); see [SrcTag].
func (c *Cache) DeleteSrcImages(ctx context.Context, deadline time.Duration, srcs ...string) error {
	if err := c.store.DeleteTags(ctx, deadline, srcTags(srcs)...); err != nil {
		return fmt.Errorf("cannot delete source images: %w", err)
	}
	return nil
}

func srcTags(srcs []string) []string {
	tags := make([]string, len(srcs))
	for i, s := range srcs {
		tags[i] = SrcTag(s)
	}
	return tags
}

// Close stops starting background revalidations and waits for those
// running. When ctx ends first, their contexts are cancelled and Close
// returns an error wrapping ctx.Err() without waiting further. Serve keeps
// working after Close, serving stale entries without revalidating them.
// Close does not close the store.
func (c *Cache) Close(ctx context.Context) error {
	c.mu.Lock()
	c.closed = true
	c.mu.Unlock()
	done := make(chan struct{})
	go func() {
		c.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
		c.cancel()
		return nil
	case <-ctx.Done():
		c.cancel()
		return fmt.Errorf("cannot close cdn cache: %w", ctx.Err())
	}
}

// storeFailed logs a failure of the store, at most every 10 s.
func (c *Cache) storeFailed(op, key string, err error) {
	switch {
	case errors.Is(err, cache.ErrTooLarge), errors.Is(err, cache.ErrInvalid):
		c.log.Debug("cdn: response not cached", "key", key, "err", err)
		return
	}
	if c.onStoreError != nil {
		c.onStoreError(op)
	}
	if c.storeLog.allow() {
		c.log.Warn("cdn: cache store failed; answering from the origin", "op", op, "key", key, "err", err)
	}
}

// limiter allows one event every 10 s.
type limiter struct{ next atomic.Int64 }

func (l *limiter) allow() bool {
	now := time.Now().UnixNano()
	n := l.next.Load()
	return now >= n && l.next.CompareAndSwap(n, now+int64(10*time.Second))
}
