package cache_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/wfn-dev/wfn/cache"
)

func ExampleOpenDisk() {
	dir, _ := os.MkdirTemp("", "wfn-example-")
	defer os.RemoveAll(dir)
	ctx := context.Background()

	s, err := cache.OpenDisk(filepath.Join(dir, ".wfn", "cache.db"))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer s.Close(ctx)

	// The Runtime Cache: set with a TTL and tags, get, expireTag.
	s.Set(ctx, "user:123", []byte(`{"name":"Ada"}`), time.Hour, []string{"users"})
	e, _ := s.Get(ctx, "user:123")
	fmt.Printf("%s stale=%v\n", e.Value, e.Stale)

	s.ExpireTags(ctx, "users")
	_, err = s.Get(ctx, "user:123")
	fmt.Println(errors.Is(err, cache.ErrNotFound))
	// Output:
	// {"name":"Ada"} stale=false
	// true
}

// The CDN cache: invalidating a tag keeps its entries, marked stale, so the
// host can serve them while it revalidates; deleting it with a deadline
// does the same until the deadline, and they are misses after it.
func ExampleStore_InvalidateTags() {
	dir, _ := os.MkdirTemp("", "wfn-example-")
	defer os.RemoveAll(dir)
	ctx := context.Background()
	s, err := cache.OpenDisk(filepath.Join(dir, "cache.db"))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer s.Close(ctx)

	s.Set(ctx, "GET /blog", []byte("<h1>Blog</h1>"), 0, []string{"blog"})
	s.InvalidateTags(ctx, "blog")
	e, _ := s.Get(ctx, "GET /blog")
	fmt.Printf("%s stale=%v\n", e.Value, e.Stale)

	// The revalidated response replaces it, fresh.
	s.Set(ctx, "GET /blog", []byte("<h1>Blog v2</h1>"), 0, []string{"blog"})
	e, _ = s.Get(ctx, "GET /blog")
	fmt.Printf("%s stale=%v\n", e.Value, e.Stale)

	s.DeleteTags(ctx, 0, "blog") // dangerouslyDeleteByTag, no deadline
	_, err = s.Get(ctx, "GET /blog")
	fmt.Println(errors.Is(err, cache.ErrNotFound))
	// Output:
	// <h1>Blog</h1> stale=true
	// <h1>Blog v2</h1> stale=false
	// true
}
