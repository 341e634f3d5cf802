package admin_test

import (
	"context"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"

	"github.com/wfn-dev/wfn/host"
	"github.com/wfn-dev/wfn/host/admin"
)

// A program that embeds the host mounts the operator endpoints beside it,
// as wfn serve does.
func Example() {
	ctx := context.Background()
	cache, err := os.MkdirTemp("", "wfn-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(cache)

	mon := admin.NewMonitor(slog.DiscardHandler)
	h, err := host.New(ctx, host.Config{
		Dir:       "../../testdata/example",
		CacheDir:  cache,
		Logger:    slog.New(mon),
		AccessLog: true,
		OnAccess:  mon.Access,
	})
	if err != nil {
		log.Fatal(err)
	}
	defer h.Close(ctx)
	a, err := admin.New(h, admin.Options{Monitor: mon})
	if err != nil {
		log.Fatal(err)
	}
	defer a.Close()

	srv := httptest.NewServer(a.Mount(h))
	defer srv.Close()
	for _, path := range []string{"/api/hello", "/_wfn/healthz", "/_wfn/metrics"} {
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			log.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		for _, line := range strings.Split(strings.TrimSpace(string(body)), "\n") {
			if path != "/_wfn/metrics" || strings.HasPrefix(line, "wfn_requests_total") {
				fmt.Println(path, resp.StatusCode, line)
			}
		}
	}
	// Output:
	// /api/hello 200 Hello from wfn!
	// /_wfn/healthz 200 ok
	// /_wfn/metrics 200 wfn_requests_total{fn="api/hello.wasm",status="200"} 1
}
