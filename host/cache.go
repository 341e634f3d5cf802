package host

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/netip"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/wfn-dev/wfn/abi"
	"github.com/wfn-dev/wfn/cache"
	"github.com/wfn-dev/wfn/host/internal/cdn"
	"github.com/wfn-dev/wfn/host/internal/hostcall"
)

// The Runtime Cache and the CDN cache keep their entries in two stores:
// files under the cache directory by default, or one Redis shared by many
// hosts (Config.Cache).

// stores are the two stores, opened on first use: a host that never
// caches opens nothing (wfn build beside a running wfn serve), and a Redis
// that is down when the host starts is tried again later.
type stores struct {
	runtime, cdn cache.Store
	cdnCache     *cdn.Cache // over cdn
}

type storeOpener struct {
	mu     sync.Mutex
	open   atomic.Pointer[stores]
	failed time.Time // when opening last failed
	err    error
	closed bool

	down     time.Time // when opening first failed, zero once open
	logged   time.Time // when a failure was last logged
	failures int       // since then

	// The CDN cache while the stores cannot be opened (cdnCache).
	failing     failingStore
	failingOnce sync.Once
	failingCDN  *cdn.Cache
}

// failingStore is a cache.Store whose every call fails with the error of
// the latest attempt to open the stores.
type failingStore struct{ err atomic.Pointer[error] }

var _ cache.Store = (*failingStore)(nil)

func (f *failingStore) fail() error {
	if err := f.err.Load(); err != nil {
		return *err
	}
	return cache.ErrUnavailable
}

func (f *failingStore) Get(context.Context, string) (cache.Entry, error) {
	return cache.Entry{}, f.fail()
}
func (f *failingStore) Set(context.Context, string, []byte, time.Duration, []string) error {
	return f.fail()
}
func (f *failingStore) Delete(context.Context, string) error                       { return f.fail() }
func (f *failingStore) ExpireTags(context.Context, ...string) error                { return f.fail() }
func (f *failingStore) InvalidateTags(context.Context, ...string) error            { return f.fail() }
func (f *failingStore) DeleteTags(context.Context, time.Duration, ...string) error { return f.fail() }
func (f *failingStore) Close(context.Context) error                                { return nil }

// retryOpen is how long after a failure the stores are not tried again;
// logOpenEvery, how often a failure to open them is logged again.
const (
	retryOpen    = time.Second
	logOpenEvery = 10 * time.Second
)

// stores returns the cache stores, opening them if need be.
func (h *Host) stores(ctx context.Context) (*stores, error) {
	if s := h.cacheStores.open.Load(); s != nil {
		return s, nil
	}
	o := &h.cacheStores
	o.mu.Lock()
	defer o.mu.Unlock()
	if s := o.open.Load(); s != nil {
		return s, nil
	}
	if o.closed {
		return nil, fmt.Errorf("%w: host closed", cache.ErrUnavailable)
	}
	if o.err != nil && time.Since(o.failed) < retryOpen {
		return nil, o.err
	}
	runtime, cdnStore, err := openStores(ctx, h.cfg, h.cacheDir)
	if err != nil {
		if !errors.Is(err, cache.ErrUnavailable) {
			err = fmt.Errorf("%w: %w", cache.ErrUnavailable, err)
		}
		t := time.Now()
		o.err, o.failed = err, t
		o.failures++
		// Tried at most once a second while requests come: logged when
		// it first fails, then at most every 10 s, as the stores log a
		// backend that goes away.
		switch {
		case o.down.IsZero():
			o.down, o.logged, o.failures = t, t, 0
			h.log.Error("cannot open the cache", "err", err)
		case t.Sub(o.logged) >= logOpenEvery:
			h.log.Error("cannot open the cache", "err", err, "for", t.Sub(o.down).Round(time.Millisecond), "failures", o.failures)
			o.logged, o.failures = t, 0
		}
		return nil, o.err
	}
	if !o.down.IsZero() {
		h.log.Info("cache opened", "after", time.Since(o.down).Round(time.Millisecond))
	}
	o.err, o.down = nil, time.Time{}
	s := &stores{runtime: runtime, cdn: cdnStore, cdnCache: cdn.New(cdnStore, h.cdnOptions())}
	o.open.Store(s)
	return s, nil
}

// cdnOptions are the CDN cache's options.
func (h *Host) cdnOptions() cdn.Options {
	return cdn.Options{Logger: h.log, Rules: cdn.Rules(h.cfg.CDNRules), URLKey: h.urlKey, OnStoreError: h.counters.countCDNStoreError}
}

// closeStores closes the stores, if they were opened.
func (h *Host) closeStores(ctx context.Context) error {
	o := &h.cacheStores
	o.mu.Lock()
	defer o.mu.Unlock()
	o.closed = true
	o.failingOnce.Do(func() {}) // cdnCache makes no failingCDN from now on
	if o.failingCDN != nil {
		_ = o.failingCDN.Close(ctx)
	}
	s := o.open.Swap(nil)
	if s == nil {
		return nil
	}
	// Background revalidations end before the stores close.
	return errors.Join(s.cdnCache.Close(ctx), s.runtime.Close(ctx), s.cdn.Close(ctx))
}

// openStores opens the Runtime Cache's and the CDN cache's stores.
func openStores(ctx context.Context, cfg Config, cacheDir string) (runtime, cdn cache.Store, err error) {
	opts := []cache.Option{cache.WithLogger(cfg.Logger)}
	switch {
	case cfg.Cache == "":
		runtime, err = openShared(filepath.Join(cacheDir, "runtime-cache.db"), opts)
		if err != nil {
			return nil, nil, err
		}
		cdn, err = openShared(filepath.Join(cacheDir, "cdn-cache.db"), opts)
		if err != nil {
			_ = runtime.Close(ctx)
			return nil, nil, err
		}
		return runtime, cdn, nil
	case strings.HasPrefix(cfg.Cache, "redis://"), strings.HasPrefix(cfg.Cache, "rediss://"):
		// New checked the URL (validCache): what fails here is Redis
		// (ErrUnavailable). The error names the URL without its password.
		runtime, err = cache.OpenRedis(ctx, cfg.Cache, append(opts, cache.WithPrefix("wfn:runtime:"))...)
		if err != nil {
			return nil, nil, fmt.Errorf("cache %s: %w", redactURL(cfg.Cache), err)
		}
		cdn, err = cache.OpenRedis(ctx, cfg.Cache, append(opts, cache.WithPrefix("wfn:cdn:"))...)
		if err != nil {
			_ = runtime.Close(ctx)
			return nil, nil, fmt.Errorf("cache %s: %w", redactURL(cfg.Cache), err)
		}
		return runtime, cdn, nil
	default:
		return nil, nil, fmt.Errorf("%w: cache %q: want a redis://HOST:PORT/DB URL, or nothing for files in the cache directory", ErrConfig, cfg.Cache)
	}
}

// redactURL is s without the password it may hold.
func redactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return "(an invalid URL)"
	}
	return u.Redacted()
}

// A store file can be opened by one process only (bbolt locks it). Hosts
// of one process that share a cache directory share its stores.
var shared = struct {
	sync.Mutex
	stores map[string]*sharedStore
}{stores: map[string]*sharedStore{}}

type sharedStore struct {
	cache.Store
	path string
	refs int
}

func openShared(path string, opts []cache.Option) (cache.Store, error) {
	shared.Lock()
	defer shared.Unlock()
	if s := shared.stores[path]; s != nil {
		s.refs++
		return s, nil
	}
	st, err := cache.OpenDisk(path, opts...)
	if errors.Is(err, cache.ErrUnavailable) {
		// Held by another process: retried, not a configuration error.
		return nil, fmt.Errorf("cache: %w", err)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: cache: %w", ErrConfig, err)
	}
	s := &sharedStore{Store: st, path: path, refs: 1}
	shared.stores[path] = s
	return s, nil
}

func (s *sharedStore) Close(ctx context.Context) error {
	shared.Lock()
	defer shared.Unlock()
	if s.refs--; s.refs > 0 {
		return nil
	}
	delete(shared.stores, s.path)
	return s.Store.Close(ctx)
}

// invocationCache is the hostcall.Cache of one invocation.
type invocationCache struct{ c *invocation }

var _ hostcall.Cache = invocationCache{}

// Cache implements hostcall.RequestContext.
func (c *invocation) Cache() hostcall.Cache { return invocationCache{c} }

// cacheTimeout bounds one cache call of a guest.
const cacheTimeout = 2 * time.Second

func (ic invocationCache) ctx() (context.Context, context.CancelFunc) {
	// The guest's call completes even if the client leaves; the store's
	// own timeouts and this bound keep it short.
	return context.WithTimeout(context.WithoutCancel(ic.c.req.Context()), cacheTimeout)
}

// errno maps a store's error to the ABI's, logging what the guest cannot
// be told.
func (ic invocationCache) errno(op string, err error) abi.Errno {
	ic.c.h.counters.countCacheOp(op, err != nil && !errors.Is(err, cache.ErrNotFound) && !errors.Is(err, cache.ErrTooLarge) && !errors.Is(err, cache.ErrInvalid))
	switch {
	case err == nil:
		return 0
	case errors.Is(err, cache.ErrNotFound):
		return abi.ENOTFOUND
	case errors.Is(err, cache.ErrTooLarge):
		return abi.ETOOLARGE
	case errors.Is(err, cache.ErrInvalid):
		return abi.EINVAL
	default:
		ic.c.h.log.Warn("cache unavailable", "op", op, "fn", ic.c.fn.src.Path, "id", ic.c.inv.ID, "err", err)
		return abi.EIO
	}
}

// runtime runs op on the Runtime Cache's store.
func (ic invocationCache) runtime(name string, op func(ctx context.Context, s cache.Store) error) abi.Errno {
	ctx, cancel := ic.ctx()
	defer cancel()
	s, err := ic.c.h.stores(ctx)
	if err == nil {
		err = op(ctx, s.runtime)
	}
	return ic.errno(name, err)
}

func (ic invocationCache) Get(key string) ([]byte, abi.Errno) {
	ctx, cancel := ic.ctx()
	defer cancel()
	s, err := ic.c.h.stores(ctx)
	if err != nil {
		return nil, ic.errno("get", err)
	}
	e, err := s.runtime.Get(ctx, key)
	if err != nil {
		return nil, ic.errno("get", err)
	}
	ic.errno("get", nil)
	if e.Stale {
		// Invalidated by tag: the function makes the value anew.
		return nil, abi.ENOTFOUND
	}
	return e.Value, 0
}

func (ic invocationCache) Set(key string, value []byte, ttl int64, tags []string, name string) abi.Errno {
	// Refused (ETOOLARGE, EINVAL) whether or not the store can be
	// reached: a cache that is down must not turn a refusal into EIO.
	if err := cache.CheckSet(key, value, time.Duration(ttl)*time.Second, tags); err != nil {
		return ic.errno("set", err)
	}
	return ic.runtime("set", func(ctx context.Context, s cache.Store) error {
		return s.Set(ctx, key, value, time.Duration(ttl)*time.Second, tags)
	})
}

func (ic invocationCache) Delete(key string) abi.Errno {
	return ic.runtime("delete", func(ctx context.Context, s cache.Store) error { return s.Delete(ctx, key) })
}

func (ic invocationCache) ExpireTags(tags []string) abi.Errno {
	if err := cache.CheckTags(tags); err != nil {
		return ic.errno("expireTag", err)
	}
	return ic.runtime("expireTag", func(ctx context.Context, s cache.Store) error { return s.ExpireTags(ctx, tags...) })
}

func (ic invocationCache) AddTags(tags []string) abi.Errno {
	for _, t := range tags {
		if len(t) > cache.MaxTagSize {
			return abi.ETOOLARGE
		}
	}
	c := ic.c
	c.tagsMu.Lock()
	defer c.tagsMu.Unlock()
	if c.tagsTaken {
		return abi.ECLOSED // the response is complete: too late to tag it
	}
	if len(c.cdnTags)+len(tags) > cache.MaxTags {
		return abi.ETOOLARGE
	}
	c.cdnTags = append(c.cdnTags, tags...)
	return 0
}

// takeTags returns the tags the guest added to its response; later ones
// are refused.
func (c *invocation) takeTags() []string {
	c.tagsMu.Lock()
	defer c.tagsMu.Unlock()
	c.tagsTaken = true
	return c.cdnTags
}

func (ic invocationCache) InvalidateTags(tags []string) abi.Errno {
	return ic.purge("invalidateByTag", Purge{Tags: tags})
}

func (ic invocationCache) DeleteTags(tags []string, deadline int64) abi.Errno {
	return ic.purge("dangerouslyDeleteByTag", Purge{Tags: tags, Delete: true, RevalidationDeadline: time.Duration(deadline) * time.Second})
}

func (ic invocationCache) InvalidateSrcImage(src string) abi.Errno {
	return ic.purge("invalidateBySrcImage", Purge{SrcImages: []string{src}})
}

func (ic invocationCache) DeleteSrcImage(src string, deadline int64) abi.Errno {
	return ic.purge("dangerouslyDeleteBySrcImage", Purge{SrcImages: []string{src}, Delete: true, RevalidationDeadline: time.Duration(deadline) * time.Second})
}

// purge applies a guest's purge to both caches.
func (ic invocationCache) purge(name string, p Purge) abi.Errno {
	ctx, cancel := ic.ctx()
	defer cancel()
	return ic.errno(name, ic.c.h.purge(ctx, p))
}

// Purge is an invalidation of cached content, by tag or by source image,
// as Vercel's invalidateByTag, dangerouslyDeleteByTag,
// invalidateBySrcImage and dangerouslyDeleteBySrcImage.
type Purge struct {
	// Tags and SrcImages select the content; at least one is needed.
	Tags      []string
	SrcImages []string
	// Delete deletes the content instead of marking it stale: the next
	// request fetches it in the foreground, unless RevalidationDeadline
	// has not passed yet, until when stale content is served and
	// refreshed in the background.
	Delete               bool
	RevalidationDeadline time.Duration
}

// Purge invalidates or deletes cached content in the CDN cache and the
// Runtime Cache, as a guest's purge imports do: from operators
// (wfn cache purge) and embedding programs. Its error wraps
// cache.ErrInvalid when p selects nothing, and cache.ErrUnavailable when
// a store cannot be reached or the host is closed.
func (h *Host) Purge(ctx context.Context, p Purge) error {
	if len(p.Tags) == 0 && len(p.SrcImages) == 0 {
		return fmt.Errorf("%w: purge: no tags and no source images", cache.ErrInvalid)
	}
	return h.purge(ctx, p)
}

// purge applies p to the Runtime Cache (tags) and the CDN cache.
func (h *Host) purge(ctx context.Context, p Purge) error {
	if err := cache.CheckTags(p.Tags); err != nil {
		return err // refused (400, ETOOLARGE) whether or not the store can be reached
	}
	s, err := h.stores(ctx)
	if err != nil {
		return err
	}
	if len(p.Tags) > 0 {
		if p.Delete {
			err = s.runtime.DeleteTags(ctx, p.RevalidationDeadline, p.Tags...)
		} else {
			err = s.runtime.InvalidateTags(ctx, p.Tags...)
		}
		if err != nil {
			return err
		}
	}
	return h.purgeCDN(ctx, s, p)
}

// PurgeRequest is the JSON body of POST /_wfn/cache/purge.
type PurgeRequest struct {
	Tags                        []string `json:"tags,omitempty"`
	SrcImages                   []string `json:"srcImages,omitempty"`
	Delete                      bool     `json:"delete,omitempty"`
	RevalidationDeadlineSeconds int64    `json:"revalidationDeadlineSeconds,omitempty"`
}

var loopback = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")}

// PurgeHandler serves POST /_wfn/cache/purge (wfn cache purge) with a
// JSON PurgeRequest, for the peers Config.PurgeFrom, PurgeToken and
// PurgeForwarded allow: 200 {"purged":true}, 400 for a bad body, 401 or
// 403 for a request that may not purge, 405 for another method, 503 when
// the cache is unavailable. Package admin mounts it.
func (h *Host) PurgeHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := h.newID(time.Now())
		w.Header().Set(HeaderRequestID, id)
		h.servePurge(w, r, id)
	})
}

// servePurge is POST /_wfn/cache/purge, for the requests purgeAllowed lets
// through.
func (h *Host) servePurge(w http.ResponseWriter, r *http.Request, id string) {
	if !h.purgeAllowed(w, r, id) {
		return
	}
	if r.Method != http.MethodPost {
		writeError(w, r, http.StatusMethodNotAllowed, CodeMethodNotAllowed, id, "Purge with POST.", "Allow", "POST")
		return
	}
	var req PurgeRequest
	dec := json.NewDecoder(io.LimitReader(r.Body, 1<<20))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil || req.RevalidationDeadlineSeconds < 0 {
		writeError(w, r, http.StatusBadRequest, CodeBadRequest, id, "The body must be a JSON object: tags, srcImages, delete, revalidationDeadlineSeconds.")
		return
	}
	err := h.Purge(r.Context(), Purge{Tags: req.Tags, SrcImages: req.SrcImages, Delete: req.Delete, RevalidationDeadline: time.Duration(req.RevalidationDeadlineSeconds) * time.Second})
	switch {
	case errors.Is(err, cache.ErrInvalid), errors.Is(err, cache.ErrTooLarge):
		writeError(w, r, http.StatusBadRequest, CodeBadRequest, id, err.Error())
		return
	case err != nil:
		h.log.Error("purge failed", "id", id, "err", err)
		writeError(w, r, http.StatusServiceUnavailable, CodeCacheUnavailable, id, "The cache is unavailable: "+err.Error())
		return
	}
	h.log.Info("purged", "id", id, "tags", req.Tags, "srcImages", req.SrcImages, "delete", req.Delete, "deadline", req.RevalidationDeadlineSeconds)
	w.Header().Set("Content-Type", "application/json")
	_, _ = io.WriteString(w, `{"purged":true}`+"\n")
}

// purgeAllowed answers the purge requests that may not purge, and reports
// whether r may. In order:
//   - the socket peer must be in Config.PurgeFrom (default loopback), else
//     403;
//   - with Config.PurgeToken set, r must carry it as a bearer token, else
//     401; with it, r may purge even through a proxy;
//   - without a token, a request that came through a proxy (from a
//     trusted proxy, or carrying forwarding headers) gets 403 unless
//     Config.PurgeForwarded: PurgeFrom saw only the proxy, not the client
//     behind it.
func (h *Host) purgeAllowed(w http.ResponseWriter, r *http.Request, id string) bool {
	allowed := h.cfg.PurgeFrom
	if len(allowed) == 0 {
		allowed = loopback
	}
	if !contains(allowed, peerOf(r)) {
		writeError(w, r, http.StatusForbidden, CodeForbidden, id, "Purging is allowed from "+prefixes(allowed)+" only.")
		return false
	}
	if h.cfg.PurgeToken != "" {
		token, given := bearerToken(r)
		if !given || !equalSecrets(token, h.cfg.PurgeToken) {
			// RFC 6750, section 3: the challenge, and invalid_token
			// for a token that is not the right one.
			challenge := `Bearer realm="wfn"`
			if given {
				challenge += `, error="invalid_token"`
			}
			h.log.Warn("purge refused: no or wrong token", "id", id, "peer", r.RemoteAddr)
			writeError(w, r, http.StatusUnauthorized, CodeUnauthorized, id, "Purging needs the purge token: Authorization: Bearer TOKEN.", "WWW-Authenticate", challenge)
			return false
		}
		return true
	}
	if !h.cfg.PurgeForwarded && h.forwardedRequest(r) {
		h.log.Warn("purge refused: forwarded by a proxy", "id", id, "peer", r.RemoteAddr)
		writeError(w, r, http.StatusForbidden, CodeForbidden, id, "A purge that came through a proxy needs the purge token (wfn serve --purge-token), or --purge-forwarded.")
		return false
	}
	return true
}

// forwardedRequest reports whether r came through a proxy, as far as the
// host can tell: its peer is a trusted proxy, or it carries a header that
// proxies set (those hidden from guests, and Via, RFC 9110, section
// 7.6.3). A proxy that adds none of them cannot be told from a client.
func (h *Host) forwardedRequest(r *http.Request) bool {
	if contains(h.cfg.TrustedProxies, peerOf(r)) {
		return true
	}
	for name := range r.Header {
		if isForwarded(name) || strings.EqualFold(name, "via") {
			return true
		}
	}
	return false
}

// bearerToken is the token of r's Authorization: Bearer header (RFC 6750,
// section 2.1; the scheme in any case, RFC 9110, section 11.1).
func bearerToken(r *http.Request) (string, bool) {
	scheme, token, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	return strings.TrimSpace(token), true
}

// equalSecrets compares two secrets in time that depends on neither's
// content nor length: it compares their SHA-256 digests.
func equalSecrets(a, b string) bool {
	da, db := sha256.Sum256([]byte(a)), sha256.Sum256([]byte(b))
	return subtle.ConstantTimeCompare(da[:], db[:]) == 1
}

// validToken checks a purge token against RFC 6750's b64token, the form a
// bearer token takes in an Authorization header: letters, digits and
// -._~+/, then any number of '='.
func validToken(t string) error {
	body := strings.TrimRight(t, "=")
	if body == "" {
		return fmt.Errorf("purge token: empty before any '='")
	}
	for i := 0; i < len(body); i++ {
		c := body[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("-._~+/", c) >= 0) {
			return fmt.Errorf("purge token: byte %d (%q) is not one of a bearer token's (RFC 6750: letters, digits, -._~+/, then '=')", i, c)
		}
	}
	return nil
}

func prefixes(ps []netip.Prefix) string {
	s := make([]string, len(ps))
	for i, p := range ps {
		s[i] = p.String()
	}
	return strings.Join(s, ", ")
}

// closeCache closes the CDN cache and the stores.
func (h *Host) closeCache(ctx context.Context) error {
	return h.closeStores(ctx)
}

// purgeCDN applies p to the CDN cache.
func (h *Host) purgeCDN(ctx context.Context, s *stores, p Purge) error {
	c := s.cdnCache
	var err error
	if len(p.Tags) > 0 {
		if p.Delete {
			err = c.DeleteTags(ctx, p.RevalidationDeadline, p.Tags...)
		} else {
			err = c.InvalidateTags(ctx, p.Tags...)
		}
	}
	if err == nil && len(p.SrcImages) > 0 {
		if p.Delete {
			err = c.DeleteSrcImages(ctx, p.RevalidationDeadline, p.SrcImages...)
		} else {
			err = c.InvalidateSrcImages(ctx, p.SrcImages...)
		}
	}
	return err
}

// cdnCache is the CDN cache. While its store cannot be opened (a Redis
// that is down since the host started), it is one over a store whose
// every call fails: responses come from the origin as a MISS, with the
// CDN's headers handled as when a store fails mid-run (the CDN-only
// headers kept from the client, the default Cache-Control). It is nil
// only once the host is closed.
func (h *Host) cdnCache(ctx context.Context) *cdn.Cache {
	s, err := h.stores(ctx)
	if err == nil {
		return s.cdnCache
	}
	o := &h.cacheStores
	o.failing.err.Store(&err)
	o.failingOnce.Do(func() {
		o.failingCDN = cdn.New(&o.failing, h.cdnOptions())
	})
	return o.failingCDN
}

// cdnKey is the CDN cache's key of r within scope (Host.scope): r is
// the request once vercel.json's routing applied, so a rewritten request
// is keyed by its destination, as Vercel's CDN routes before it looks in
// a cache (RATIONALE.md), and the path tag that purges by path names the
// destination's path. The route headers stored with the response
// (routeHeadersKey) are in the key too: two URLs rewritten to one
// destination share its entry only when vercel.json adds them the same
// headers.
func (h *Host) cdnKey(scope string, r *http.Request) string {
	var buf [256]byte
	return string(appendCDNKey(buf[:0], scope, r))
}

// appendCDNKey appends Host.cdnKey(scope, r) to dst and returns the
// result.
func appendCDNKey(dst []byte, scope string, r *http.Request) []byte {
	dst = cdn.AppendKeyIn(dst, scope, r)
	hdr, _ := r.Context().Value(routeHeadersKey{}).(http.Header)
	if len(hdr) == 0 {
		return dst
	}
	dst = append(dst, "|route headers"...)
	for _, k := range slices.Sorted(maps.Keys(hdr)) {
		for _, v := range hdr[k] {
			dst = append(append(append(append(dst, '|'), k...), ": "...), v...)
		}
	}
	return dst
}

// staticKey is the key of r when a static file serves it: without the
// query, as Vercel's CDN keys static files.
func (h *Host) staticKey(st *state, r *http.Request) string {
	keyed := r.Clone(r.Context())
	keyed.URL.RawQuery = ""
	return h.cdnKey(h.scope(st, nil), keyed)
}

// urlKey is cdn.Options.URLKey: the key of a GET of u from the client of
// r, routed as ServeHTTP routes requests (so that the Location of a
// response names the entry of the rewritten request), or false when
// nothing the cache keeps answers it (a redirect, an external rewrite,
// nothing found).
func (h *Host) urlKey(r *http.Request, u *url.URL) (string, bool) {
	st := h.st.Load()
	get := (&http.Request{Method: http.MethodGet, URL: u, Host: r.Host, Header: r.Header, TLS: r.TLS}).WithContext(r.Context())
	if st.routing != nil {
		res, routed, file := resolve(get, st)
		if res.Status != 0 || res.External != "" || !res.Found {
			return "", false
		}
		if len(res.Header) > 0 {
			routed = routed.WithContext(context.WithValue(routed.Context(), routeHeadersKey{}, res.Header))
		}
		if file != "" {
			return h.staticKey(st, routed), true
		}
		get = routed
	}
	i, _, ok := st.table.Match(get.URL.EscapedPath())
	if !ok {
		return "", false
	}
	return h.cdnKey(h.scope(st, st.fns[i]), get), true
}
