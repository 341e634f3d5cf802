package host_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/wfn-dev/wfn/host"
	"github.com/wfn-dev/wfn/internal/testkit"
)

// testdata/fluid serves api/sleep, a Go guest built for ABI v2 (its
// "fluid": true: the Go SDK's build tag wfn_fluid), beside api/hello.wasm,
// a version 1 guest. 200 requests to api/sleep, each sleeping 200 ms in
// its handler, all answer right from one instance, far sooner than the
// 40 s they would take one after another; the version 1 guest answers as
// before.
func TestFluidManyInvocationsOneInstance(t *testing.T) {
	requireGo(t)
	h, srv, _ := serve(t, host.Config{Dir: "../testdata/fluid"})
	fetch := func(path string) (int, string, error) { return testkit.Get(t.Context(), srv.URL+path) }
	if code, body, err := fetch("/api/sleep?n=first"); err != nil || code != 200 || body != "hello first" {
		t.Fatalf("first request: %d %q %v", code, body, err)
	}
	const n = 200
	start := time.Now()
	var wg sync.WaitGroup
	errs := make(chan error, n+1)
	for i := range n {
		wg.Go(func() {
			code, body, err := fetch(fmt.Sprintf("/api/sleep?ms=200&n=%d", i))
			if want := fmt.Sprintf("hello %d", i); err != nil || code != 200 || body != want {
				errs <- fmt.Errorf("request %d: %d %q %v, want 200 %q", i, code, body, err, want)
			}
		})
	}
	wg.Go(func() {
		if code, body, err := fetch("/api/hello"); err != nil || code != 200 || body != "Hello from wfn!" {
			errs <- fmt.Errorf("the v1 guest: %d %q %v", code, body, err)
		}
	})
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if elapsed := time.Since(start); elapsed > 20*time.Second {
		t.Errorf("%d sleeps of 200 ms took %v: they did not run at once", n, elapsed)
	}
	// Outbound HTTP through the host: wfn.json lets api/sleep reach
	// loopback.
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "ok")
	}))
	defer backend.Close()
	if code, body, err := fetch("/api/sleep?backend=" + backend.URL); err != nil || code != 200 || body != "backend 200 ok" {
		t.Errorf("outbound: %d %q %v", code, body, err)
	}
	for _, fs := range h.Stats().Functions {
		if fs.Source == "api/sleep" && fs.ColdStarts != 1 {
			t.Errorf("api/sleep: %d instances made, want 1", fs.ColdStarts)
		}
	}
}
