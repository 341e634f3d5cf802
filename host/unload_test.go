package host_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wfn-dev/wfn/host"
)

// fnStats returns the Stats of the function served from source.
func fnStats(t *testing.T, h *host.Host, source string) host.FunctionStats {
	t.Helper()
	for _, fs := range h.Stats().Functions {
		if fs.Source == source {
			return fs
		}
	}
	t.Fatalf("no function %s in Stats", source)
	return host.FunctionStats{}
}

// TestUnloadIdle: a function idle past UnloadAfter loses its reserve and
// its compiled code, and the next request loads it again and is answered
// as before, from an instance in the same state after initialisation
// (its snapshot is taken again). (pool's TestDrain: the reserve comes
// back with the next request.)
func TestUnloadIdle(t *testing.T) {
	h, srv, logs := serve(t, host.Config{Dir: watDir(t, "snapinit"), UnloadAfter: 50 * time.Millisecond, MinInstances: 1})
	const src = "api/snapinit.wasm"
	first := getSnapState(t, srv.URL+"/api/snapinit")
	eventually(t, "the idle function to be unloaded", func() bool {
		fs := fnStats(t, h, src)
		return fs.Unloaded && fs.Live == 0
	})
	if n := h.Stats().LoadedModules; n != 0 {
		t.Errorf("LoadedModules = %d after unloading the only function, want 0", n)
	}
	before := fnStats(t, h, src)
	for i := range 3 {
		// The function may unload again between requests on a slow
		// machine: each answer is a new instance's or a reused one's.
		got := getSnapState(t, srv.URL+"/api/snapinit")
		want := first
		want.Calls, want.MemCalls = got.Calls, got.Calls
		if got != want || got.Calls == 0 {
			t.Fatalf("request %d after unloading: %+v, want %+v", i, got, want)
		}
	}
	if fs := fnStats(t, h, src); fs.Loads < 1 || fs.ColdStarts <= before.ColdStarts {
		t.Errorf("after requests to an unloaded function: Loads %d, ColdStarts %d (%d before); want a load and a cold start", fs.Loads, fs.ColdStarts, before.ColdStarts)
	}
	if !strings.Contains(logs.String(), "function loaded again") {
		t.Errorf("no log line for the load")
	}
}

// TestUnloadNeverUnderAnInvocation: a function whose invocation runs past
// UnloadAfter keeps its compiled code until the invocation ends, and
// loads and unloads interleaved with concurrent requests never fail one.
func TestUnloadNeverUnderAnInvocation(t *testing.T) {
	h, srv, _ := serve(t, host.Config{Dir: watDir(t, "hold", "hello"), UnloadAfter: 20 * time.Millisecond})
	release := hold(t, srv.URL)
	// hello, asked after hold and then idle, unloads: the unloader went
	// past the bound of hold too, whose last Get came before.
	if r := get(t, srv.URL+"/api/hello"); r.status != 200 {
		t.Fatalf("GET /api/hello = %d", r.status)
	}
	eventually(t, "hello to be unloaded", func() bool { return fnStats(t, h, "api/hello.wasm").Unloaded })
	if fs := fnStats(t, h, "api/hold.wasm"); fs.Unloaded || fs.Live != 1 {
		t.Fatalf("hold while its invocation runs: Unloaded %v, Live %d; want loaded, 1 live", fs.Unloaded, fs.Live)
	}
	if body := release(); body != "done" {
		t.Fatalf("held invocation answered %q, want done", body)
	}
	eventually(t, "hold to be unloaded once idle", func() bool { return fnStats(t, h, "api/hold.wasm").Unloaded })
	release = hold(t, srv.URL)
	if body := release(); body != "done" {
		t.Fatalf("hold after its unload answered %q, want done", body)
	}

	// Bursts of concurrent requests, each after an unload.
	for round := range 4 {
		eventually(t, "hello to be unloaded", func() bool { return fnStats(t, h, "api/hello.wasm").Unloaded })
		var wg sync.WaitGroup
		for range 8 {
			wg.Go(func() {
				for range 5 {
					if r := get(t, srv.URL+"/api/hello"); r.status != 200 || r.body != "Hello from wfn!" {
						t.Errorf("round %d: GET /api/hello = %d %q", round, r.status, r.body)
					}
				}
			})
		}
		wg.Wait()
	}
	if fs := fnStats(t, h, "api/hello.wasm"); fs.Loads < 4 {
		t.Errorf("hello loaded again %d times, want 4 or more", fs.Loads)
	}
}

// TestReloadFreesReplacedCode: the compiled code of a function that a
// Reload replaced or removed is released once the invocation running on
// it ends, not at Close.
func TestReloadFreesReplacedCode(t *testing.T) {
	dir := t.TempDir()
	wat := func(name string) string { return filepath.Join("..", "testdata", "wat", name+".wasm") }
	mustCopy(t, wat("hold"), filepath.Join(dir, "api", "hold.wasm"))
	mustCopy(t, wat("hello"), filepath.Join(dir, "api", "hello.wasm"))
	h, srv, _ := serve(t, host.Config{Dir: dir, DisableUnload: true})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if n := h.Stats().LoadedModules; n != 2 {
		t.Fatalf("LoadedModules = %d at start, want 2", n)
	}
	release := hold(t, srv.URL)
	mustCopy(t, wat("drain"), filepath.Join(dir, "api", "hold.wasm"))
	if err := h.Reload(ctx, "api/hold.wasm"); err != nil {
		t.Fatal(err)
	}
	if r := get(t, srv.URL+"/api/hold"); r.status != 200 || r.body != "drained" {
		t.Errorf("the new hold.wasm answered %d %q, want drained", r.status, r.body)
	}
	if n := h.Stats().LoadedModules; n != 3 {
		t.Errorf("LoadedModules = %d while the replaced code still runs, want 3", n)
	}
	if body := release(); body != "done" {
		t.Fatalf("the replaced code's invocation answered %q, want done", body)
	}
	eventually(t, "the replaced code to be freed", func() bool { return h.Stats().LoadedModules == 2 })

	if err := os.Remove(filepath.Join(dir, "api", "hello.wasm")); err != nil {
		t.Fatal(err)
	}
	if err := h.Reload(ctx, "api/hello.wasm"); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the removed function's code to be freed", func() bool { return h.Stats().LoadedModules == 1 })
}
