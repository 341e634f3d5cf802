package wfntest

import (
	"bytes"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/wfn-dev/wfn/abi"
)

// The limits of the Runtime Cache and the CDN cache, as Vercel's.
const (
	// MaxCacheValue is the most bytes one Runtime Cache value may have.
	MaxCacheValue = abi.MaxCacheValue
	// MaxCacheTags is the most tags one entry (a Runtime Cache entry or a
	// cached response) may carry.
	MaxCacheTags = abi.MaxCacheTags
	// MaxCacheTagSize is the most bytes one tag may have.
	MaxCacheTagSize = abi.MaxCacheTagSize
)

// The operations a [Purge] records, named after the functions of
// @vercel/functions.
const (
	OpExpireTag                   = "expireTag"
	OpInvalidateByTag             = "invalidateByTag"
	OpDangerouslyDeleteByTag      = "dangerouslyDeleteByTag"
	OpInvalidateBySrcImage        = "invalidateBySrcImage"
	OpDangerouslyDeleteBySrcImage = "dangerouslyDeleteBySrcImage"
)

// Cache is a deployment's caches as the host keeps them: the Runtime
// Cache that wfncache reaches (cache_get, cache_set, cache_delete,
// cache_expire_tag) and a record of what functions asked of the CDN
// (cdn_add_cache_tag and the purges). Give one to several invocations
// with [SharedCache] to share it, as the instances of a deployment do;
// inspect and seed it from the test. Its clock is the real one plus what
// [Cache.Advance] added, so tests of a TTL need not sleep. It is safe for
// concurrent use.
//
// The Runtime Cache stores the keys it is given (wfncache hashes them
// first: look entries up with wfncache.GetCache().Key(key)) and enforces
// the host's limits: abi.ETOOLARGE for a value over [MaxCacheValue]
// bytes, more than [MaxCacheTags] tags or a tag over [MaxCacheTagSize]
// bytes; abi.EINVAL for an empty key, an empty tag (tags travel joined
// with commas: "a,,b" or "a," has one), no tags for a tag operation, a
// negative TTL or deadline, an empty image source. An entry expires when
// its TTL has passed. expireTag removes the entries carrying one of its
// tags. As on Vercel, a purge by tag reaches the Runtime Cache too:
// invalidateByTag marks its entries stale, dangerouslyDeleteByTag removes
// them at once, or marks them stale until the revalidation deadline and
// removes them after. As in the host, cache_get misses a stale entry (the
// function makes the value anew); [Cache.Get] still shows it, with Stale
// set.
type Cache struct {
	mu       sync.Mutex
	offset   time.Duration
	entries  map[string]*cacheEntry
	purges   []Purge
	respTags []string
}

type cacheEntry struct {
	CacheEntry
	deleteAt time.Time // zero: not deleted by tag
}

// CacheEntry is one entry of the Runtime Cache.
type CacheEntry struct {
	Value   []byte
	Tags    []string
	Name    string    // the name given with the entry, "" for none
	Created time.Time // on the cache's clock
	Expires time.Time // zero: never
	// Stale reports that a tag of the entry was invalidated, or deleted
	// with a revalidation deadline that has not passed, after it was set.
	Stale bool
}

// Purge is one purge a function asked for.
type Purge struct {
	Op       string   // one of the Op constants
	Tags     []string // for the tag operations
	SrcImage string   // for the image operations
	// RevalidationDeadline is the revalidationDeadlineSeconds of the
	// dangerouslyDelete operations.
	RevalidationDeadline time.Duration
}

// NewCache returns empty caches.
func NewCache() *Cache {
	return &Cache{entries: map[string]*cacheEntry{}}
}

// SharedCache runs the invocation with the caches c. Without this option
// each invocation has caches of its own, empty at its start, so that
// tests do not share state by accident.
func SharedCache(c *Cache) Option {
	return func(cfg *config) { cfg.cache = c }
}

// Now is the cache's clock: the time plus what Advance added.
func (c *Cache) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now()
}

func (c *Cache) now() time.Time { return time.Now().Add(c.offset) }

// Advance moves the cache's clock forward by d, so that TTLs and
// revalidation deadlines pass without waiting.
func (c *Cache) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.offset += d
}

// Set stores value under key, as cache_set does with the key as given
// (not hashed) and no name. A ttl of 0 means no expiry. It returns the
// abi.Errno the host would.
func (c *Cache) Set(key string, value []byte, ttl time.Duration, tags ...string) error {
	if e := c.set(key, value, ttl, slices.Clone(tags), ""); e != 0 {
		return e
	}
	return nil
}

// Get returns the entry stored under key (not hashed): false when there
// is none or it expired. Unlike cache_get it returns stale entries, with
// Stale set. The entry is a copy.
func (c *Cache) Get(key string) (CacheEntry, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.lookup(key)
	if !ok {
		return CacheEntry{}, false
	}
	out := e.CacheEntry
	out.Value = slices.Clone(out.Value)
	out.Tags = slices.Clone(out.Tags)
	return out, true
}

// Keys returns the keys of the entries that have not expired, stale ones
// included, sorted.
func (c *Cache) Keys() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var keys []string
	for k := range c.entries {
		if _, ok := c.lookup(k); ok {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	return keys
}

// Purges returns the purges functions asked for, in order: the Runtime
// Cache's expireTag and the CDN's invalidations and deletions.
func (c *Cache) Purges() []Purge {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]Purge, len(c.purges))
	for i, p := range c.purges {
		p.Tags = slices.Clone(p.Tags)
		out[i] = p
	}
	return out
}

// ResponseTags returns the tags the last invocation run with these caches
// added to its response with cdn_add_cache_tag (wfn.AddCacheTag), in the
// order added. As in the host, a tag added twice counts twice toward
// [MaxCacheTags].
func (c *Cache) ResponseTags() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.respTags)
}

// begin starts an invocation: its response has no tags yet.
func (c *Cache) begin() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.respTags = nil
}

// lookup returns the live entry of key, removing it if it expired; c.mu
// is held.
func (c *Cache) lookup(key string) (*cacheEntry, bool) {
	e, ok := c.entries[key]
	if !ok {
		return nil, false
	}
	now := c.now()
	if (!e.Expires.IsZero() && !now.Before(e.Expires)) || (!e.deleteAt.IsZero() && !now.Before(e.deleteAt)) {
		delete(c.entries, key)
		return nil, false
	}
	return e, true
}

func (c *Cache) get(key string, buf []byte) int32 {
	if key == "" {
		return int32(abi.EINVAL)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.lookup(key)
	if !ok || e.Stale {
		return int32(abi.ENOTFOUND)
	}
	if len(e.Value) <= len(buf) {
		copy(buf, e.Value)
	}
	return int32(len(e.Value))
}

func (c *Cache) set(key string, value []byte, ttl time.Duration, tags []string, name string) abi.Errno {
	switch {
	case key == "":
		return abi.EINVAL
	case len(value) > MaxCacheValue, len(tags) > MaxCacheTags:
		return abi.ETOOLARGE
	case ttl < 0:
		return abi.EINVAL
	}
	if e := checkTags(tags); e != 0 {
		return e
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.now()
	e := &cacheEntry{CacheEntry: CacheEntry{
		Value:   bytes.Clone(value),
		Tags:    tags,
		Name:    name,
		Created: now,
	}}
	if e.Value == nil {
		e.Value = []byte{}
	}
	if ttl > 0 {
		e.Expires = now.Add(ttl)
	}
	c.entries[key] = e
	return 0
}

func (c *Cache) delete(key string) int32 {
	if key == "" {
		return int32(abi.EINVAL)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.entries, key)
	return 0
}

// purgeTags records op and applies it to the Runtime Cache: expire and
// delete with no deadline remove the entries, invalidate marks them
// stale, delete with a deadline marks them stale until it.
func (c *Cache) purgeTags(op string, list []byte, deadline int64) int32 {
	if deadline < 0 {
		return int32(abi.EINVAL)
	}
	tags, e := parseTagOp(list)
	if e != 0 {
		return int32(e)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	p := Purge{Op: op, Tags: tags}
	if op == OpDangerouslyDeleteByTag {
		p.RevalidationDeadline = time.Duration(deadline) * time.Second
	}
	c.purges = append(c.purges, p)
	now := c.now()
	for key := range c.entries {
		e, ok := c.lookup(key)
		if !ok || !slices.ContainsFunc(e.Tags, func(t string) bool { return slices.Contains(tags, t) }) {
			continue
		}
		switch {
		case op == OpExpireTag || (op == OpDangerouslyDeleteByTag && deadline == 0):
			delete(c.entries, key)
		case op == OpInvalidateByTag:
			e.Stale = true
		case op == OpDangerouslyDeleteByTag:
			e.Stale = true
			at := now.Add(time.Duration(deadline) * time.Second)
			if e.deleteAt.IsZero() || at.Before(e.deleteAt) {
				e.deleteAt = at // an earlier deadline wins
			}
		}
	}
	return 0
}

func (c *Cache) purgeImage(op, src string, deadline int64) int32 {
	if src == "" || deadline < 0 {
		return int32(abi.EINVAL)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	p := Purge{Op: op, SrcImage: src}
	if op == OpDangerouslyDeleteBySrcImage {
		p.RevalidationDeadline = time.Duration(deadline) * time.Second
	}
	c.purges = append(c.purges, p)
	return 0
}

func (c *Cache) addResponseTags(list []byte) int32 {
	tags, e := parseTagOp(list)
	if e != 0 {
		return int32(e)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.respTags)+len(tags) > MaxCacheTags {
		return int32(abi.ETOOLARGE)
	}
	c.respTags = append(c.respTags, tags...)
	return 0
}

// parseTags splits a tag list, the tags joined with commas, and checks
// them as the host does. An empty list is no tags.
func parseTags(list []byte) ([]string, abi.Errno) {
	if len(list) == 0 {
		return nil, 0
	}
	if bytes.Count(list, []byte{','}) >= MaxCacheTags {
		return nil, abi.ETOOLARGE
	}
	tags := strings.Split(string(list), ",")
	if e := checkTags(tags); e != 0 {
		return nil, e
	}
	return tags, 0
}

// parseTagOp is parseTags for the tag operations, which need a tag.
func parseTagOp(list []byte) ([]string, abi.Errno) {
	tags, e := parseTags(list)
	if e == 0 && len(tags) == 0 {
		e = abi.EINVAL
	}
	return tags, e
}

// checkTags checks each tag as the host does.
func checkTags(tags []string) abi.Errno {
	for _, t := range tags {
		switch {
		case t == "":
			return abi.EINVAL
		case len(t) > MaxCacheTagSize:
			return abi.ETOOLARGE
		case strings.Contains(t, ","):
			return abi.EINVAL
		}
	}
	return 0
}

// The hostcall.Host methods of the caches. cdn_add_cache_tag belongs to
// the response: it returns abi.ECLOSED once the response is complete.

func (h *host) CacheGet(key string, buf []byte) int32 { return h.cfg.cache.get(key, buf) }

func (h *host) CacheSet(key string, value []byte, ttlSeconds int64, tags []byte, name string) int32 {
	if ttlSeconds < 0 {
		return int32(abi.EINVAL)
	}
	list, e := parseTags(tags)
	if e != 0 {
		return int32(e)
	}
	return int32(h.cfg.cache.set(key, value, time.Duration(ttlSeconds)*time.Second, list, name))
}

func (h *host) CacheDelete(key string) int32 { return h.cfg.cache.delete(key) }

func (h *host) CacheExpireTag(tags []byte) int32 {
	return h.cfg.cache.purgeTags(OpExpireTag, tags, 0)
}

func (h *host) CDNAddCacheTag(tags []byte) int32 {
	h.mu.Lock()
	closed := h.closed
	h.mu.Unlock()
	if closed {
		return int32(abi.ECLOSED)
	}
	return h.cfg.cache.addResponseTags(tags)
}

func (h *host) CDNInvalidateByTag(tags []byte) int32 {
	return h.cfg.cache.purgeTags(OpInvalidateByTag, tags, 0)
}

func (h *host) CDNDeleteByTag(tags []byte, deadline int64) int32 {
	return h.cfg.cache.purgeTags(OpDangerouslyDeleteByTag, tags, deadline)
}

func (h *host) CDNInvalidateBySrcImage(src string) int32 {
	return h.cfg.cache.purgeImage(OpInvalidateBySrcImage, src, 0)
}

func (h *host) CDNDeleteBySrcImage(src string, deadline int64) int32 {
	return h.cfg.cache.purgeImage(OpDangerouslyDeleteBySrcImage, src, deadline)
}

// Outside an invocation there is no request, and wfntest has no caches.

func (idle) CacheGet(string, []byte) int32                        { return badHandle }
func (idle) CacheSet(string, []byte, int64, []byte, string) int32 { return badHandle }
func (idle) CacheDelete(string) int32                             { return badHandle }
func (idle) CacheExpireTag([]byte) int32                          { return badHandle }
func (idle) CDNAddCacheTag([]byte) int32                          { return badHandle }
func (idle) CDNInvalidateByTag([]byte) int32                      { return badHandle }
func (idle) CDNDeleteByTag([]byte, int64) int32                   { return badHandle }
func (idle) CDNInvalidateBySrcImage(string) int32                 { return badHandle }
func (idle) CDNDeleteBySrcImage(string, int64) int32              { return badHandle }
