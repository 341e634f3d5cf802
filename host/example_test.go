package host_test

import (
	"context"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"

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
