// Package wfncache is the Runtime Cache of a wfn function, as getCache()
// is in @vercel/functions: a key-value store shared by every instance of
// the deployment's functions in a region, with a time to live and tags
// per entry.
//
//	cache := wfncache.GetCache(wfncache.Namespace("posts"))
//	var post Post
//	hit, err := cache.Get("post:42", &post)
//	if err == nil && !hit {
//		post = load(42)
//		err = cache.Set("post:42", post, wfncache.TTL(3600), wfncache.Tags("posts"))
//	}
//
// Values are JSON, as in @vercel/functions, so functions in other
// languages share entries with Go ones. [Cache.GetBytes] and
// [Cache.SetBytes] skip the encoding. This package imports encoding/json;
// a function that does not import it does not link it, nor the cache_*
// host imports.
//
// # Keys
//
// Keys are hashed, as getCache hashes them: the host stores
// [Hash](key), or namespace + separator + Hash(key) with a [Namespace].
// The same key in the same namespace reaches the same entry from a
// JavaScript function using @vercel/functions.
//
// # Errors
//
// Errors wrap the host's abi.Errno, so errors.Is(err, abi.ETOOLARGE)
// works:
//
//   - abi.ETOOLARGE: a value over 2 MB, more than 128 tags, a tag over
//     256 bytes.
//   - abi.ENOTFOUND never: a miss is reported as false.
//   - abi.EINVAL: an empty tag or a tag with a comma (refused before the
//     host is asked: tags travel joined with commas), a negative TTL, an
//     empty key from a custom hash function.
//   - abi.EIO: the cache's backend is down.
//
// A miss is not an error: Get reports it with false.
package wfncache

import (
	"encoding/json"
	"fmt"
	"strconv"
	"unicode/utf16"

	"github.com/wfn-dev/wfn/abi"
	"github.com/wfn-dev/wfn/guests/sdk/go/wfn/internal/hostcall"
	"github.com/wfn-dev/wfn/guests/sdk/go/wfn/internal/taglist"
)

// DefaultNamespaceSeparator separates the namespace from the hashed key,
// as in @vercel/functions.
const DefaultNamespaceSeparator = "$"

// Cache is the Runtime Cache seen through one set of options. It holds no
// state beyond them: make one per set of options, at package level or in
// the handler.
type Cache struct {
	namespace string
	separator string
	hash      func(string) string
}

// An Option configures [GetCache].
type Option func(*Cache)

// Namespace prefixes every key with ns and the namespace separator. The
// empty string means no namespace.
func Namespace(ns string) Option { return func(c *Cache) { c.namespace = ns } }

// NamespaceSeparator sets the separator between the namespace and the
// hashed key; the default (and the empty string) is
// [DefaultNamespaceSeparator], "$".
func NamespaceSeparator(sep string) Option {
	return func(c *Cache) {
		if sep == "" {
			sep = DefaultNamespaceSeparator
		}
		c.separator = sep
	}
}

// KeyHashFunction replaces [Hash], the function that turns a key into the
// stored one. nil means Hash.
func KeyHashFunction(f func(key string) string) Option {
	return func(c *Cache) {
		if f == nil {
			f = Hash
		}
		c.hash = f
	}
}

// GetCache returns the Runtime Cache with the options given, as getCache
// does.
func GetCache(opts ...Option) *Cache {
	c := &Cache{separator: DefaultNamespaceSeparator, hash: Hash}
	for _, o := range opts {
		o(c)
	}
	return c
}

// Key returns the key the host stores for key: the hashed key, after the
// namespace and its separator when there is a namespace.
func (c *Cache) Key(key string) string {
	h := c.hash(key)
	if c.namespace == "" {
		return h
	}
	return c.namespace + c.separator + h
}

// Hash is the default key hash of @vercel/functions: djb2 with XOR over
// the key's UTF-16 code units (h = 5381; h = h*33 ^ c, in uint32
// arithmetic), in lower-case hexadecimal without padding. Hash("hello")
// is "a9cede7". Invalid UTF-8 counts as U+FFFD, as it would reach
// JavaScript.
func Hash(key string) string {
	h := uint32(5381)
	for _, r := range key {
		if r1, r2 := utf16.EncodeRune(r); r1 != '\uFFFD' {
			h = h*33 ^ uint32(r1)
			h = h*33 ^ uint32(r2)
		} else {
			h = h*33 ^ uint32(r)
		}
	}
	return strconv.FormatUint(uint64(h), 16)
}

// scratch is the first buffer cache_get gets: under ABI version 1 an
// instance serves one invocation at a time; under version 2
// (hostcall.Concurrent) each get has its own.
var scratch = make([]byte, 4096)

// get fetches the stored bytes of key; the slice is valid until the next
// get.
func (c *Cache) get(key string) ([]byte, bool, error) {
	k := c.Key(key)
	buf := scratch
	if hostcall.Concurrent {
		buf = make([]byte, 4096)
	}
	for {
		n := hostcall.CacheGet(k, buf)
		switch {
		case n == int32(abi.ENOTFOUND):
			return nil, false, nil
		case n < 0:
			return nil, false, fmt.Errorf("wfncache: cannot get %q: %w", key, abi.Errno(n))
		case int(n) <= len(buf):
			return buf[:n], true, nil
		}
		buf = make([]byte, n)
		if n <= 1<<20 && !hostcall.Concurrent {
			scratch = buf
		}
	}
}

// Get reads the entry of key into v with json.Unmarshal and reports
// whether there was one. A miss (no entry, or one that expired, was
// deleted, or was expired or purged by one of its tags) returns false and leaves v alone; a stored JSON null is a hit, which
// sets a pointer v points to to nil and leaves other values alone.
func (c *Cache) Get(key string, v any) (bool, error) {
	b, ok, err := c.get(key)
	if !ok || err != nil {
		return false, err
	}
	if err := json.Unmarshal(b, v); err != nil {
		return true, fmt.Errorf("wfncache: cannot decode %q: %w", key, err)
	}
	return true, nil
}

// GetBytes returns the stored bytes of key (JSON, unless a function
// stored something else with SetBytes) and reports whether there was an
// entry. The slice is the caller's.
func (c *Cache) GetBytes(key string) ([]byte, bool, error) {
	b, ok, err := c.get(key)
	if !ok || err != nil {
		return nil, false, err
	}
	return append([]byte{}, b...), true, nil
}

// A SetOption configures [Cache.Set] and [Cache.SetBytes].
type SetOption func(*setConfig)

type setConfig struct {
	ttl     int64
	tags    []string
	name    string
	hasName bool
}

// TTL sets the entry's time to live in seconds; 0 (the default) means
// that it does not expire. A negative TTL fails with abi.EINVAL.
func TTL(seconds int) SetOption { return func(c *setConfig) { c.ttl = int64(seconds) } }

// Tags sets the entry's tags, which [Cache.ExpireTag] (and
// wfn.InvalidateByTag, wfn.DangerouslyDeleteByTag) acts on. Tags are not
// hashed. Tags given more than once add up.
func Tags(tags ...string) SetOption {
	return func(c *setConfig) { c.tags = append(c.tags, tags...) }
}

// Name sets the name the entry shows under in Vercel's dashboard and the
// host's logs. Without it the name is the key as given, before hashing,
// as @vercel/functions sends it; Name("") sends none.
func Name(name string) SetOption {
	return func(c *setConfig) { c.name, c.hasName = name, true }
}

// Set stores value, encoded with json.Marshal (nil is stored as null),
// under key, replacing any entry.
func (c *Cache) Set(key string, value any, opts ...SetOption) error {
	b, err := json.Marshal(value)
	if err != nil {
		return fmt.Errorf("wfncache: cannot encode %q: %w", key, err)
	}
	return c.SetBytes(key, b, opts...)
}

// SetBytes stores value as it is under key, replacing any entry. Store
// JSON to share entries with functions in other languages and with
// [Cache.Get].
func (c *Cache) SetBytes(key string, value []byte, opts ...SetOption) error {
	var cfg setConfig
	for _, o := range opts {
		o(&cfg)
	}
	if !cfg.hasName {
		cfg.name = key
	}
	tags, err := taglist.Encode(cfg.tags)
	if err == nil {
		err = errno(hostcall.CacheSet(c.Key(key), value, cfg.ttl, tags, cfg.name))
	}
	if err != nil {
		return fmt.Errorf("wfncache: cannot set %q: %w", key, err)
	}
	return nil
}

// Delete removes the entry of key. Deleting a missing entry is not an
// error.
func (c *Cache) Delete(key string) error {
	if err := errno(hostcall.CacheDelete(c.Key(key))); err != nil {
		return fmt.Errorf("wfncache: cannot delete %q: %w", key, err)
	}
	return nil
}

// ExpireTag turns every entry that carries one of tags into a miss, as
// expireTag does. It acts on the Runtime Cache only (wfn.InvalidateByTag
// reaches the CDN too), on every namespace: tags are not hashed or
// namespaced. No tags is a no-op.
func (c *Cache) ExpireTag(tags ...string) error {
	b, err := taglist.Encode(tags)
	if err == nil && b != nil {
		err = errno(hostcall.CacheExpireTag(b))
	}
	if err != nil {
		return fmt.Errorf("wfncache: cannot expire tags: %w", err)
	}
	return nil
}

// errno is nil for a result that is not negative, else its abi.Errno.
func errno(n int32) error {
	if n >= 0 {
		return nil
	}
	return abi.Errno(n)
}
