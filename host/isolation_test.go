package host_test

import (
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wfn-dev/wfn/host"
)

// servedGoAndWAT is a served directory with the Go test guests and some
// WAT fixtures side by side, and config.
func servedGoAndWAT(t *testing.T, wats []string, config string) string {
	t.Helper()
	dir := watDir(t, wats...)
	for _, name := range []string{"membomb", "count"} {
		src := filepath.Join("..", "testdata", "guests", "api", name, "main.go")
		mustCopy(t, src, filepath.Join(dir, "api", name, "main.go"))
	}
	// The Go guests need their module: point a go.mod at this one.
	root, _ := filepath.Abs("..")
	mod := "module wfntest/served\n\ngo 1.26.0\n\nrequire github.com/wfn-dev/wfn v0.0.0\n\nreplace github.com/wfn-dev/wfn => " + root + "\n"
	if err := os.WriteFile(filepath.Join(dir, "go.mod"), []byte(mod), 0o644); err != nil {
		t.Fatal(err)
	}
	writeConfig(t, dir, "vercel.json", config)
	return dir
}

func TestMemoryBombFailsAlone(t *testing.T) {
	requireGo(t)
	dir := servedGoAndWAT(t, nil, `{"functions": {"api/membomb": {"memory": 128}}}`)
	_, srv, logs := serve(t, host.Config{Dir: dir})
	r := get(t, srv.URL+"/api/membomb")
	wantError(t, r, 500, host.CodeInvocationFailed)
	eventually(t, "the guest's own out-of-memory report in the log", func() bool {
		return logHas(logs, "out of memory", r.header.Get("X-Vercel-Id"))
	})
	if r := get(t, srv.URL+"/api/count"); r.body != "1" {
		t.Errorf("count after a memory bomb = %q", r.body)
	}
}

// One invocation's trap, timeout or memory blow-up never disturbs another
// in flight, in the same function or another.
func TestIsolation(t *testing.T) {
	requireGo(t)
	dir := servedGoAndWAT(t, []string{"hold", "trap", "loop"}, `{"functions": {
		"api/membomb": {"memory": 128},
		"api/loop.wasm": {"maxDuration": 1}
	}}`)
	_, srv, _ := serve(t, host.Config{Dir: dir})
	// In flight throughout: two held invocations of one function.
	releases := []func() string{hold(t, srv.URL), hold(t, srv.URL)}
	var wg sync.WaitGroup
	for _, path := range []string{"/api/trap", "/api/trap", "/api/loop", "/api/membomb", "/api/hold"} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if path == "/api/hold" {
				// The same function: one more that fails (its client
				// sends a body over the limit after the head went out).
				doStreamed(t, srv.URL+path, strings.NewReader(strings.Repeat("x", 4_600_000)))
				return
			}
			if r := get(t, srv.URL+path); r.status < 500 {
				t.Errorf("%s = %d, want a failure", path, r.status)
			}
		}()
	}
	wg.Wait()
	for i, release := range releases {
		if body := release(); body != "done" {
			t.Errorf("held invocation %d = %q, want done", i, body)
		}
	}
	if r := get(t, srv.URL+"/api/count"); r.status != 200 {
		t.Errorf("count = %d", r.status)
	}
}

func TestRestartReusesBuildsAndCompiledCode(t *testing.T) {
	requireGo(t)
	dir := servedGoAndWAT(t, []string{"hello"}, `{"functions": {"api/count": {}}}`)
	cache := t.TempDir()
	_, _, logs := serve(t, host.Config{Dir: dir, CacheDir: cache})
	if !logHas(logs, "msg=built", "fn=api/count") {
		t.Fatalf("first start did not build api/count:\n%s", logs)
	}
	compiled, _ := os.ReadDir(filepath.Join(cache, "compiled"))
	if len(compiled) == 0 {
		t.Fatal("no compiled code cached on disk")
	}
	start := time.Now()
	_, srv, logs2 := serve(t, host.Config{Dir: dir, CacheDir: cache})
	if logHas(logs2, "msg=built") {
		t.Errorf("the restart rebuilt a guest:\n%s", logs2)
	}
	if r := get(t, srv.URL+"/api/count"); r.body != "1" {
		t.Errorf("count after restart = %q", r.body)
	}
	t.Logf("restart with warm caches took %v", time.Since(start))
}
