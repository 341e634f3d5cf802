package host_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"time"

	"github.com/wfn-dev/wfn/host"
)

// A Go server mounts the host next to its own handlers.
func Example() {
	ctx := context.Background()
	cache, err := os.MkdirTemp("", "wfn-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(cache)

	// ../testdata/example/api/hello.wasm becomes /api/hello.
	h, err := host.New(ctx, host.Config{
		Dir:      "../testdata/example",
		CacheDir: cache,
		Logger:   slog.New(slog.DiscardHandler),
	})
	if err != nil {
		log.Fatal(err)
	}
	defer h.Close(ctx)

	mux := http.NewServeMux()
	mux.Handle("/api/", h)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "the rest of the site")
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()

	resp, err := http.Get(srv.URL + "/api/hello")
	if err != nil {
		log.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	fmt.Println(resp.StatusCode, string(body))
	// Output: 200 Hello from wfn!
}

func ExampleHost_Functions() {
	ctx := context.Background()
	cache, _ := os.MkdirTemp("", "wfn-example")
	defer os.RemoveAll(cache)
	h, err := host.New(ctx, host.Config{Dir: "../testdata/example", CacheDir: cache, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		log.Fatal(err)
	}
	defer h.Close(ctx)
	for _, fn := range h.Functions() {
		fmt.Println(fn.Route, fn.Source, fn.Err)
	}
	// Output: /api/hello api/hello.wasm <nil>
}

// Two projects served by one Go server, each under a path prefix of its
// own, then a shutdown. A host routes paths from its own root: the prefix
// is stripped before it. The server stops taking requests first; then each
// host drains its invocations within one deadline. A request that still
// reaches a closed host gets 503.
func Example_twoProjects() {
	ctx := context.Background()
	cache, err := os.MkdirTemp("", "wfn-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(cache)
	newHost := func(dir string) *host.Host {
		h, err := host.New(ctx, host.Config{Dir: dir, CacheDir: cache, Logger: slog.New(slog.DiscardHandler)})
		if err != nil {
			log.Fatal(err)
		}
		return h
	}
	shop, blog := newHost("../testdata/example"), newHost("../testdata/example")

	mux := http.NewServeMux()
	mux.Handle("/shop/", http.StripPrefix("/shop", shop))
	mux.Handle("/blog/", http.StripPrefix("/blog", blog))
	srv := httptest.NewServer(mux)
	for _, path := range []string{"/shop/api/hello", "/blog/api/hello", "/blog/api/nothing"} {
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			log.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			body = []byte(resp.Header.Get(host.HeaderError))
		}
		fmt.Println(path, resp.StatusCode, string(body))
	}

	srv.Close() // an http.Server: Shutdown(ctx)
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	fmt.Println("Close:", errors.Join(shop.Close(ctx), blog.Close(ctx)))
	fmt.Println("again:", errors.Is(shop.Close(ctx), host.ErrClosed))

	rec := httptest.NewRecorder()
	shop.ServeHTTP(rec, httptest.NewRequest("GET", "/api/hello", nil))
	fmt.Println("after Close:", rec.Code, rec.Header().Get(host.HeaderError), rec.Header().Get("Retry-After"))
	// Output:
	// /shop/api/hello 200 Hello from wfn!
	// /blog/api/hello 200 Hello from wfn!
	// /blog/api/nothing 404 NOT_FOUND
	// Close: <nil>
	// again: true
	// after Close: 503 FUNCTION_THROTTLED 1
}
