package cdn_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"

	"github.com/wfn-dev/wfn/cache"
	"github.com/wfn-dev/wfn/host/internal/cdn"
)

// The host puts the cache in front of a function: the first request runs
// it, the second is served from the store.
func ExampleCache_Serve() {
	dir, _ := os.MkdirTemp("", "wfn-cdn-example-")
	defer os.RemoveAll(dir)
	store, err := cache.OpenDisk(filepath.Join(dir, "cache.db"))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer store.Close(context.Background())
	c := cdn.New(store, cdn.Options{})
	defer c.Close(context.Background())

	function := cdn.OriginFunc(func(w http.ResponseWriter, r *http.Request) []string {
		w.Header().Set("Cache-Control", "s-maxage=60")
		w.Header().Set("Vercel-Cache-Tag", "products")
		fmt.Fprintln(w, "hello")
		return []string{"product:1"} // from cdn_add_cache_tag
	})
	for range 2 {
		r := httptest.NewRequest(http.MethodGet, "http://example.com/api/hello", nil)
		w := httptest.NewRecorder()
		c.Serve(w, r, "deployment-1|"+cdn.Key(r), function)
		fmt.Println(w.Header().Get("X-Vercel-Cache"), w.Header().Get("Cache-Control"), w.Body.String() == "hello\n")
	}
	// Output:
	// MISS public, max-age=0, must-revalidate true
	// HIT public, max-age=0, must-revalidate true
}
