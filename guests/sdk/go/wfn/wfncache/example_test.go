package wfncache_test

import (
	"fmt"
	"net/http/httptest"

	"github.com/wfn-dev/wfn/guests/sdk/go/wfn"
	"github.com/wfn-dev/wfn/guests/sdk/go/wfn/wfncache"
	"github.com/wfn-dev/wfn/guests/sdk/go/wfn/wfntest"
)

// A handler reads an entry and stores it on a miss; under wfntest, two
// invocations given the same caches share it, as instances do.
func ExampleCache_Get() {
	cache := wfncache.GetCache(wfncache.Namespace("example"))
	h := wfn.HandlerFunc(func(w *wfn.ResponseWriter, r *wfn.Request) {
		var greeting string
		hit, err := cache.Get("greeting", &greeting)
		if err != nil {
			w.SetStatus(500)
			return
		}
		if !hit {
			greeting = "hello"
			cache.Set("greeting", greeting, wfncache.TTL(3600), wfncache.Tags("greetings"))
		}
		w.WriteString(fmt.Sprintf("%s hit=%v", greeting, hit))
	})

	caches := wfntest.NewCache()
	for range 2 {
		resp := wfntest.Do(h, httptest.NewRequest("GET", "/", nil), nil, wfntest.SharedCache(caches))
		var body [64]byte
		n, _ := resp.Body.Read(body[:])
		fmt.Println(string(body[:n]))
	}
	fmt.Println(caches.Keys())
	// Output:
	// hello hit=false
	// hello hit=true
	// [example$803a2684]
}

func ExampleHash() {
	fmt.Println(wfncache.Hash("hello"), wfncache.GetCache(wfncache.Namespace("blog")).Key("hello"))
	// Output: a9cede7 blog$a9cede7
}
