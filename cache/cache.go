// Package cache stores the entries of wfn's caches: the Runtime Cache that
// guests call (get, set with a TTL and tags, delete, expireTag) and the CDN
// response cache in front of functions (tag invalidation and tag deletion
// with a revalidation deadline).
//
// A Store is either embedded, in one file on disk ([OpenDisk], built on
// bbolt, crash safe), or shared by many host processes through Redis
// ([OpenRedis]). Both keep a bounded in-memory front for hot keys that stays
// coherent with Set, Delete and every tag operation.
//
// Tags are not found by scanning entries. Every tag operation records, per
// tag, the position of the operation in a store-wide sequence; every entry
// records the position of its Set. Get compares the two:
//
//   - [Store.ExpireTags]: entries set before the call become misses
//     (Runtime Cache expireTag).
//   - [Store.InvalidateTags]: entries set before the call are returned with
//     [Entry.Stale] set (CDN invalidateByTag: serve stale, revalidate in the
//     background).
//   - [Store.DeleteTags]: entries set before the call are returned stale
//     until the deadline passes and are misses after it (CDN
//     dangerouslyDeleteByTag with revalidationDeadlineSeconds).
//
// A Set after a tag operation stores a fresh entry. Values over 1 KiB are
// compressed with S2 when that makes them smaller; callers always see the
// bytes they stored.
//
// The CDN cache decides freshness itself from [Entry.Created]: it stores the
// response with ttl = s-maxage + stale-while-revalidate and compares the age
// with s-maxage.
package cache

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/wfn-dev/wfn/abi"
)

// Limits of what a Store accepts. They are those of Vercel's Runtime Cache
// and CDN cache.
const (
	MaxValueSize = abi.MaxCacheValue   // bytes in one value
	MaxTags      = abi.MaxCacheTags    // tags on one entry
	MaxTagSize   = abi.MaxCacheTagSize // bytes in one tag
)

// Errors returned by every Store. Callers check them with [errors.Is]; the
// returned errors wrap them with the cause.
var (
	// ErrNotFound is returned by Get for a key that was never set, was
	// deleted, has expired, or lost its entry to a tag operation.
	ErrNotFound = errors.New("wfn: cache: not found")
	// ErrTooLarge is returned by Set for a value over MaxValueSize bytes,
	// more than MaxTags tags or a tag over MaxTagSize bytes, and by the tag
	// operations for a tag over MaxTagSize bytes.
	ErrTooLarge = errors.New("wfn: cache: too large")
	// ErrInvalid is returned for an empty key, an empty tag, a tag that
	// contains a comma, a negative TTL or deadline.
	ErrInvalid = errors.New("wfn: cache: invalid argument")
	// ErrUnavailable is returned by every method when the backend cannot be
	// reached (Redis down or timing out) or refuses the call (Redis full),
	// or the store is closed, and by
	// OpenDisk when another process holds the file.
	ErrUnavailable = errors.New("wfn: cache: unavailable")
)

// Entry is what Get returns.
type Entry struct {
	Value   []byte    // never nil on a hit: a stored empty value is []byte{}
	Tags    []string  // as given to Set
	Created time.Time // when Set stored the entry, in this process's clock
	Expires time.Time // when the TTL runs out; zero: never
	// Stale reports that a tag of the entry was invalidated after the
	// entry was set, or deleted with a revalidation deadline that has not
	// passed yet.
	Stale bool
}

// Store is a cache shared by the functions of one deployment. All methods
// are safe for concurrent use.
type Store interface {
	// Get returns the entry stored under key, or an error wrapping
	// ErrNotFound.
	Get(ctx context.Context, key string) (Entry, error)
	// Set stores value under key, replacing any entry. A ttl of 0 means no
	// expiry. The store keeps its own copy of value and tags.
	Set(ctx context.Context, key string, value []byte, ttl time.Duration, tags []string) error
	// Delete removes the entry under key; deleting a missing key is not an
	// error.
	Delete(ctx context.Context, key string) error
	// ExpireTags turns every entry carrying any of tags, set before the
	// call, into a miss.
	ExpireTags(ctx context.Context, tags ...string) error
	// InvalidateTags marks every entry carrying any of tags, set before the
	// call, stale.
	InvalidateTags(ctx context.Context, tags ...string) error
	// DeleteTags marks every entry carrying any of tags, set before the
	// call, stale until deadline has passed, and a miss after that. A
	// deadline of 0 is ExpireTags. When a tag is deleted again before an
	// earlier deadline passed, the earlier deadline is kept if it comes
	// first: content is never served longer than any call allowed.
	DeleteTags(ctx context.Context, deadline time.Duration, tags ...string) error
	// Close releases the store. Calls after Close return ErrUnavailable.
	Close(ctx context.Context) error
}

// Option configures OpenDisk and OpenRedis.
type Option func(*config)

type config struct {
	frontBytes    int64
	timeout       time.Duration
	sweepInterval time.Duration
	prefix        string
	logger        *slog.Logger
}

func newConfig(opts []Option) config {
	c := config{
		frontBytes:    32 << 20,
		timeout:       500 * time.Millisecond,
		sweepInterval: time.Minute,
		prefix:        "wfn:",
		logger:        slog.Default(),
	}
	for _, o := range opts {
		o(&c)
	}
	return c
}

// WithFrontSize bounds the in-memory front of hot entries to n bytes of
// values (default 32 MiB). 0 disables the front.
func WithFrontSize(n int64) Option {
	return func(c *config) { c.frontBytes = max(n, 0) }
}

// WithTimeout bounds how long a call waits for the backend (default 500 ms):
// each call of an OpenRedis store, and OpenDisk waiting for the file lock.
func WithTimeout(d time.Duration) Option {
	return func(c *config) {
		if d > 0 {
			c.timeout = d
		}
	}
}

// WithSweepInterval sets how often OpenDisk's store removes expired entries
// and entries of expired tags from the file (default 1 minute). Get treats
// them as misses before the sweep.
func WithSweepInterval(d time.Duration) Option {
	return func(c *config) {
		if d > 0 {
			c.sweepInterval = d
		}
	}
}

// WithPrefix sets the prefix of every Redis key and channel of an OpenRedis
// store (default "wfn:"), so that several deployments can share one Redis.
func WithPrefix(p string) Option {
	return func(c *config) { c.prefix = p }
}

// WithLogger sets where the store logs backend failures and recoveries
// (default slog.Default()).
func WithLogger(l *slog.Logger) Option {
	return func(c *config) {
		if l != nil {
			c.logger = l
		}
	}
}

// CheckSet returns the error, wrapping ErrInvalid or ErrTooLarge, that
// every Store's Set returns for these arguments whatever the state of its
// backend, or nil: for a caller that must refuse what a Store would
// refuse while it has none to ask (its Redis down since the start).
func CheckSet(key string, value []byte, ttl time.Duration, tags []string) error {
	if err := checkSet(key, value, ttl, tags); err != nil {
		return fmt.Errorf("cannot set: %w", err)
	}
	return nil
}

// CheckTags is CheckSet for the tags of ExpireTags, InvalidateTags and
// DeleteTags.
func CheckTags(tags []string) error {
	if err := checkTags(tags); err != nil {
		return fmt.Errorf("cannot change tags: %w", err)
	}
	return nil
}

func checkKey(key string) error {
	if key == "" {
		return fmt.Errorf("empty key: %w", ErrInvalid)
	}
	return nil
}

func checkTags(tags []string) error {
	for _, t := range tags {
		switch {
		case t == "":
			return fmt.Errorf("empty tag: %w", ErrInvalid)
		case len(t) > MaxTagSize:
			return fmt.Errorf("tag of %d bytes, over %d: %w", len(t), MaxTagSize, ErrTooLarge)
		case strings.Contains(t, ","):
			return fmt.Errorf("tag %q contains a comma: %w", t, ErrInvalid)
		}
	}
	return nil
}

func checkSet(key string, value []byte, ttl time.Duration, tags []string) error {
	if err := checkKey(key); err != nil {
		return err
	}
	if len(value) > MaxValueSize {
		return fmt.Errorf("value of %d bytes, over %d: %w", len(value), MaxValueSize, ErrTooLarge)
	}
	if len(tags) > MaxTags {
		return fmt.Errorf("%d tags, over %d: %w", len(tags), MaxTags, ErrTooLarge)
	}
	if ttl < 0 {
		return fmt.Errorf("negative ttl %v: %w", ttl, ErrInvalid)
	}
	return checkTags(tags)
}
