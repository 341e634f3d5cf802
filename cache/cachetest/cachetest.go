// Package cachetest is the conformance suite of cache.Store: every store
// runs it, so they all answer the same way.
package cachetest

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wfn-dev/wfn/cache"
)

// Open returns a new, empty store for one test. Run closes it.
type Open func(t *testing.T) cache.Store

// Run runs the suite against the stores open returns, one per subtest.
func Run(t *testing.T, open Open) {
	tests := []struct {
		name string
		run  func(t *testing.T, s cache.Store)
	}{
		{"SetGetDelete", testSetGetDelete},
		{"Overwrite", testOverwrite},
		{"EmptyValue", testEmptyValue},
		{"Copies", testCopies},
		{"TTL", testTTL},
		{"ExpireTags", testExpireTags},
		{"InvalidateTags", testInvalidateTags},
		{"DeleteTagsNow", testDeleteTagsNow},
		{"DeleteTagsDeadline", testDeleteTagsDeadline},
		{"DeleteTagsKeepsEarlierDeadline", testDeleteTagsKeepsEarlierDeadline},
		{"Limits", testLimits},
		{"LargeValues", testLargeValues},
		{"Concurrent", testConcurrent},
		{"Closed", testClosed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := open(t)
			t.Cleanup(func() {
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				defer cancel()
				s.Close(ctx)
			})
			tt.run(t, s)
		})
	}
}

// Eventually polls cond every 10 ms until it returns nil or timeout passes,
// then fails with cond's last error.
func Eventually(t testing.TB, timeout time.Duration, cond func() error) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		err := cond()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("not true after %v: %v", timeout, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// MustGet returns the entry under key, failing the test on an error.
func MustGet(t testing.TB, s cache.Store, key string) cache.Entry {
	t.Helper()
	e, err := s.Get(context.Background(), key)
	if err != nil {
		t.Fatalf("Get(%q): %v", key, err)
	}
	return e
}

// MustSet stores value under key, failing the test on an error.
func MustSet(t testing.TB, s cache.Store, key, value string, ttl time.Duration, tags ...string) {
	t.Helper()
	if err := s.Set(context.Background(), key, []byte(value), ttl, tags); err != nil {
		t.Fatalf("Set(%q): %v", key, err)
	}
}

// WantMiss fails the test unless key is a miss.
func WantMiss(t testing.TB, s cache.Store, key string) {
	t.Helper()
	if err := Miss(s, key); err != nil {
		t.Fatal(err)
	}
}

// Miss returns nil if key is a miss, and an error saying what Get returned
// otherwise.
func Miss(s cache.Store, key string) error {
	e, err := s.Get(context.Background(), key)
	switch {
	case errors.Is(err, cache.ErrNotFound):
		return nil
	case err != nil:
		return fmt.Errorf("Get(%q): want ErrNotFound, got %w", key, err)
	default:
		return fmt.Errorf("Get(%q): want ErrNotFound, got %q (stale %v)", key, e.Value, e.Stale)
	}
}

// WantHit fails the test unless key holds value with the given staleness.
func WantHit(t testing.TB, s cache.Store, key, value string, stale bool) {
	t.Helper()
	e := MustGet(t, s, key)
	if string(e.Value) != value || e.Stale != stale {
		t.Fatalf("Get(%q) = %q stale %v, want %q stale %v", key, e.Value, e.Stale, value, stale)
	}
}

func testSetGetDelete(t *testing.T, s cache.Store) {
	ctx := t.Context()
	WantMiss(t, s, "k")
	before := time.Now()
	MustSet(t, s, "k", "v", 0, "a", "b")
	after := time.Now()
	e := MustGet(t, s, "k")
	if string(e.Value) != "v" || e.Stale || !e.Expires.IsZero() {
		t.Fatalf("Get = %+v, want v, fresh, no expiry", e)
	}
	if strings.Join(e.Tags, ",") != "a,b" {
		t.Errorf("Tags = %q, want [a b]", e.Tags)
	}
	// The backend's clock may differ a little from ours.
	if e.Created.Before(before.Add(-time.Second)) || e.Created.After(after.Add(time.Second)) {
		t.Errorf("Created = %v, want between %v and %v", e.Created, before, after)
	}
	MustGet(t, s, "k") // twice: the second may come from the front
	if err := s.Delete(ctx, "k"); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	WantMiss(t, s, "k")
	if err := s.Delete(ctx, "k"); err != nil {
		t.Fatalf("Delete of a missing key: %v", err)
	}
	if err := s.Delete(ctx, "never"); err != nil {
		t.Fatalf("Delete of a key never set: %v", err)
	}
}

func testOverwrite(t *testing.T, s cache.Store) {
	MustSet(t, s, "k", "one", time.Second, "a")
	WantHit(t, s, "k", "one", false)
	MustSet(t, s, "k", "two", 0)
	e := MustGet(t, s, "k")
	if string(e.Value) != "two" || len(e.Tags) != 0 || !e.Expires.IsZero() {
		t.Fatalf("Get after overwrite = %+v, want two, no tags, no expiry", e)
	}
	// The first tags must not apply to the second value.
	if err := s.ExpireTags(t.Context(), "a"); err != nil {
		t.Fatal(err)
	}
	WantHit(t, s, "k", "two", false)
}

func testEmptyValue(t *testing.T, s cache.Store) {
	ctx := t.Context()
	for _, v := range [][]byte{{}, nil} {
		if err := s.Set(ctx, "empty", v, 0, nil); err != nil {
			t.Fatal(err)
		}
		for range 2 {
			e, err := s.Get(ctx, "empty")
			if err != nil {
				t.Fatalf("Get of an empty value: %v, want a hit", err)
			}
			if e.Value == nil || len(e.Value) != 0 {
				t.Fatalf("Get of an empty value = %#v, want []byte{}", e.Value)
			}
		}
	}
	WantMiss(t, s, "absent")
}

func testCopies(t *testing.T, s cache.Store) {
	v := []byte("original")
	tags := []string{"a"}
	if err := s.Set(t.Context(), "k", v, 0, tags); err != nil {
		t.Fatal(err)
	}
	copy(v, "CHANGED!")
	tags[0] = "z"
	e := MustGet(t, s, "k")
	copy(e.Value, "CHANGED!")
	e.Tags[0] = "z"
	e = MustGet(t, s, "k")
	if string(e.Value) != "original" || e.Tags[0] != "a" {
		t.Fatalf("Get = %q %q: the store shares memory with its callers", e.Value, e.Tags)
	}
}

func testTTL(t *testing.T, s cache.Store) {
	MustSet(t, s, "short", "v", time.Second)
	MustSet(t, s, "forever", "v", 0)
	e := MustGet(t, s, "short")
	if d := e.Expires.Sub(e.Created); d < 900*time.Millisecond || d > 1100*time.Millisecond {
		t.Errorf("Expires - Created = %v, want 1s", d)
	}
	Eventually(t, 10*time.Second, func() error { return Miss(s, "short") })
	WantHit(t, s, "forever", "v", false)
	if e := MustGet(t, s, "forever"); !e.Expires.IsZero() {
		t.Errorf("Expires = %v for ttl 0, want zero", e.Expires)
	}
}

func testExpireTags(t *testing.T, s cache.Store) {
	ctx := t.Context()
	MustSet(t, s, "a", "a", 0, "t1")
	MustSet(t, s, "b", "b", 0, "t2")
	MustSet(t, s, "c", "c", 0, "t3", "t1")
	MustSet(t, s, "d", "d", 0)
	for _, k := range []string{"a", "b", "c", "d"} {
		WantHit(t, s, k, k, false) // fills the front
	}
	if err := s.ExpireTags(ctx, "t1", "unknown"); err != nil {
		t.Fatal(err)
	}
	WantMiss(t, s, "a")
	WantMiss(t, s, "c")
	WantHit(t, s, "b", "b", false)
	WantHit(t, s, "d", "d", false)
	// A Set after the expiry is fresh.
	MustSet(t, s, "a", "again", 0, "t1")
	WantHit(t, s, "a", "again", false)
	WantHit(t, s, "a", "again", false)
	if err := s.ExpireTags(ctx, "t2", "t1"); err != nil {
		t.Fatal(err)
	}
	WantMiss(t, s, "a")
	WantMiss(t, s, "b")
	if err := s.ExpireTags(ctx); err != nil {
		t.Fatalf("ExpireTags with no tags: %v", err)
	}
}

func testInvalidateTags(t *testing.T, s cache.Store) {
	ctx := t.Context()
	MustSet(t, s, "a", "a", 0, "t1")
	MustSet(t, s, "b", "b", 0, "t2")
	WantHit(t, s, "a", "a", false)
	WantHit(t, s, "b", "b", false)
	if err := s.InvalidateTags(ctx, "t1"); err != nil {
		t.Fatal(err)
	}
	WantHit(t, s, "a", "a", true)
	WantHit(t, s, "a", "a", true)
	WantHit(t, s, "b", "b", false)
	MustSet(t, s, "a", "new", 0, "t1") // revalidated
	WantHit(t, s, "a", "new", false)
	// Invalidating again marks the new entry stale too; expiring beats it.
	if err := s.InvalidateTags(ctx, "t1"); err != nil {
		t.Fatal(err)
	}
	WantHit(t, s, "a", "new", true)
	if err := s.ExpireTags(ctx, "t1"); err != nil {
		t.Fatal(err)
	}
	WantMiss(t, s, "a")
}

func testDeleteTagsNow(t *testing.T, s cache.Store) {
	MustSet(t, s, "a", "a", 0, "t1")
	MustSet(t, s, "b", "b", 0, "t2")
	WantHit(t, s, "a", "a", false)
	if err := s.DeleteTags(t.Context(), 0, "t1"); err != nil {
		t.Fatal(err)
	}
	WantMiss(t, s, "a")
	WantHit(t, s, "b", "b", false)
}

func testDeleteTagsDeadline(t *testing.T, s cache.Store) {
	MustSet(t, s, "a", "a", 0, "t1")
	MustSet(t, s, "b", "b", 0, "t2")
	WantHit(t, s, "a", "a", false)
	if err := s.DeleteTags(t.Context(), time.Second, "t1"); err != nil {
		t.Fatal(err)
	}
	WantHit(t, s, "a", "a", true)
	WantHit(t, s, "a", "a", true)
	Eventually(t, 10*time.Second, func() error { return Miss(s, "a") })
	WantHit(t, s, "b", "b", false)
	MustSet(t, s, "a", "new", 0, "t1")
	WantHit(t, s, "a", "new", false)
}

func testDeleteTagsKeepsEarlierDeadline(t *testing.T, s cache.Store) {
	ctx := t.Context()
	MustSet(t, s, "a", "a", 0, "t1")
	if err := s.DeleteTags(ctx, time.Second, "t1"); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteTags(ctx, time.Hour, "t1"); err != nil {
		t.Fatal(err)
	}
	WantHit(t, s, "a", "a", true)
	Eventually(t, 10*time.Second, func() error { return Miss(s, "a") })
	// After the first deadline passed, a later deletion has its own.
	MustSet(t, s, "b", "b", 0, "t1")
	if err := s.DeleteTags(ctx, time.Hour, "t1"); err != nil {
		t.Fatal(err)
	}
	WantHit(t, s, "b", "b", true)
	WantMiss(t, s, "a")
}

func testLimits(t *testing.T, s cache.Store) {
	ctx := t.Context()
	tags := func(n int) []string {
		ts := make([]string, n)
		for i := range ts {
			ts[i] = fmt.Sprintf("tag%d", i)
		}
		return ts
	}
	tests := []struct {
		name  string
		do    func() error
		want  error // nil: accepted
		check string
	}{
		{"value of MaxValueSize", func() error {
			return s.Set(ctx, "max", bytes.Repeat([]byte("x"), cache.MaxValueSize), 0, nil)
		}, nil, "max"},
		{"value over MaxValueSize", func() error {
			return s.Set(ctx, "over", make([]byte, cache.MaxValueSize+1), 0, nil)
		}, cache.ErrTooLarge, "over"},
		{"MaxTags tags", func() error { return s.Set(ctx, "tags", nil, 0, tags(cache.MaxTags)) }, nil, "tags"},
		{"too many tags", func() error { return s.Set(ctx, "tags+", nil, 0, tags(cache.MaxTags+1)) }, cache.ErrTooLarge, "tags+"},
		{"tag of MaxTagSize", func() error {
			return s.Set(ctx, "tag", nil, 0, []string{strings.Repeat("t", cache.MaxTagSize)})
		}, nil, "tag"},
		{"tag over MaxTagSize", func() error {
			return s.Set(ctx, "tag+", nil, 0, []string{strings.Repeat("t", cache.MaxTagSize+1)})
		}, cache.ErrTooLarge, "tag+"},
		{"empty tag", func() error { return s.Set(ctx, "e", nil, 0, []string{"a", ""}) }, cache.ErrInvalid, "e"},
		{"tag with a comma", func() error { return s.Set(ctx, "c", nil, 0, []string{"a,b"}) }, cache.ErrInvalid, "c"},
		{"negative ttl", func() error { return s.Set(ctx, "n", nil, -time.Second, nil) }, cache.ErrInvalid, "n"},
		{"Set empty key", func() error { return s.Set(ctx, "", nil, 0, nil) }, cache.ErrInvalid, ""},
		{"Get empty key", func() error { _, err := s.Get(ctx, ""); return err }, cache.ErrInvalid, ""},
		{"Delete empty key", func() error { return s.Delete(ctx, "") }, cache.ErrInvalid, ""},
		{"ExpireTags comma", func() error { return s.ExpireTags(ctx, "a,b") }, cache.ErrInvalid, ""},
		{"InvalidateTags empty", func() error { return s.InvalidateTags(ctx, "") }, cache.ErrInvalid, ""},
		{"DeleteTags long tag", func() error {
			return s.DeleteTags(ctx, 0, strings.Repeat("t", cache.MaxTagSize+1))
		}, cache.ErrTooLarge, ""},
		{"DeleteTags negative deadline", func() error { return s.DeleteTags(ctx, -time.Second, "a") }, cache.ErrInvalid, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.do()
			if tt.want == nil {
				if err != nil {
					t.Fatalf("want accepted, got %v", err)
				}
				MustGet(t, s, tt.check)
				return
			}
			if !errors.Is(err, tt.want) {
				t.Fatalf("got %v, want %v", err, tt.want)
			}
			if tt.check != "" {
				WantMiss(t, s, tt.check)
			}
		})
	}
}

func testLargeValues(t *testing.T, s cache.Store) {
	random := func(n int) []byte {
		b := make([]byte, n)
		rand.Read(b)
		return b
	}
	values := map[string][]byte{
		"1KiB text":        bytes.Repeat([]byte("a"), 1024),
		"1KiB+1 text":      bytes.Repeat([]byte("a"), 1025),
		"1KiB+1 random":    random(1025),
		"1MiB json":        bytes.Repeat([]byte(`{"id":12345,"name":"wfn","tags":["a","b"]},`), 1<<20/43),
		"2MiB random":      random(cache.MaxValueSize),
		"2MiB zeros":       make([]byte, cache.MaxValueSize),
		"mostly random 64": append(random(64<<10), make([]byte, 64<<10)...),
	}
	for name, v := range values {
		t.Run(name, func(t *testing.T) {
			if err := s.Set(t.Context(), name, v, 0, []string{"big"}); err != nil {
				t.Fatal(err)
			}
			for range 2 {
				if e := MustGet(t, s, name); !bytes.Equal(e.Value, v) {
					t.Fatalf("Get returned %d bytes, not the %d stored", len(e.Value), len(v))
				}
			}
		})
	}
}

func testConcurrent(t *testing.T, s cache.Store) {
	ctx := t.Context()
	const workers, rounds = 16, 100
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := range workers {
		wg.Go(func() {
			own := fmt.Sprintf("own%d", w)
			for i := range rounds {
				shared := fmt.Sprintf("shared%d", i%8)
				var err error
				switch i % 6 {
				case 0, 1:
					err = s.Set(ctx, shared, []byte("shared:"+own), 0, []string{"tag" + shared})
				case 2:
					var e cache.Entry
					e, err = s.Get(ctx, shared)
					if errors.Is(err, cache.ErrNotFound) {
						err = nil
					} else if err == nil && !strings.HasPrefix(string(e.Value), "shared:own") {
						err = fmt.Errorf("Get(%q) = %q, a value nobody stored", shared, e.Value)
					}
				case 3:
					err = s.Delete(ctx, shared)
				case 4:
					err = s.ExpireTags(ctx, "tag"+shared)
				case 5:
					err = s.InvalidateTags(ctx, "tag"+shared)
				}
				if err != nil {
					errs <- err
					return
				}
				want := fmt.Sprintf("%s:%d", own, i)
				if err := s.Set(ctx, own, []byte(want), 0, []string{"own"}); err != nil {
					errs <- err
					return
				}
				e, err := s.Get(ctx, own)
				if err != nil || string(e.Value) != want {
					errs <- fmt.Errorf("Get(%q) = %q, %v after setting %q", own, e.Value, err, want)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func testClosed(t *testing.T, s cache.Store) {
	MustSet(t, s, "k", "v", 0)
	MustGet(t, s, "k")
	if err := s.Close(t.Context()); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if _, err := s.Get(t.Context(), "k"); !errors.Is(err, cache.ErrUnavailable) {
		t.Errorf("Get after Close: %v, want ErrUnavailable", err)
	}
	if err := s.Set(t.Context(), "k", nil, 0, nil); !errors.Is(err, cache.ErrUnavailable) {
		t.Errorf("Set after Close: %v, want ErrUnavailable", err)
	}
	if err := s.Close(t.Context()); err != nil {
		t.Errorf("second Close: %v", err)
	}
}
