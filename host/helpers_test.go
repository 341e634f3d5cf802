package host_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wfn-dev/wfn/host"
	"github.com/wfn-dev/wfn/host/admin"
	"github.com/wfn-dev/wfn/internal/testkit"
)

// requireGo skips a test that builds Go guests when the go command is
// missing, except under CI=true, where it fails.
func requireGo(t testing.TB) {
	t.Helper()
	if _, err := exec.LookPath("go"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("the go command is needed to build Go guests: %v", err)
		}
		t.Skipf("skipping: the go command is needed to build Go guests: %v", err)
	}
}

// syncBuffer is an output destination safe for concurrent writers.
type syncBuffer = testkit.SyncBuffer

// sharedCache is one build and compilation cache for the whole test
// binary: both are keyed by content, so tests that serve copies of one
// guest build and compile it once.
var sharedCache string

// testCacheEnv names a directory that the test binary uses as its
// sharedCache, and whose builds and compiled code outlive it (.ci/run sets
// it): the suite's runs on each engine and mode, one after another, then
// build and compile each guest once. Everything else in it (the Runtime
// Cache and CDN cache files) is removed when the binary starts, so each
// run starts with empty caches. One test binary at a time may use it. The
// directory is used as it is, not through links: handler builds keep
// generated files in it, whose paths go into the build's key.
const testCacheEnv = "WFN_TEST_CACHE"

// codeDirs are the subdirectories of a cache directory holding builds
// and compiled code, each keyed by content and written by rename.
var codeDirs = []string{"build", "build-c", "build-js", "compiled"}

func TestMain(m *testing.M) {
	kept := os.Getenv(testCacheEnv)
	dir := kept
	if kept != "" {
		if err := keepOnlyCode(kept); err != nil {
			panic(err)
		}
	} else {
		var err error
		if dir, err = os.MkdirTemp("", "wfn-host-test"); err != nil {
			panic(err)
		}
	}
	sharedCache = dir
	code := m.Run()
	if err := closeShared(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		code = 1
	}
	if kept == "" {
		os.RemoveAll(dir)
	}
	os.Exit(code)
}

// keepOnlyCode removes from cache directory dir all but its builds and
// compiled code.
func keepOnlyCode(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	for _, e := range entries {
		if !slices.Contains(codeDirs, e.Name()) {
			if err := os.RemoveAll(filepath.Join(dir, e.Name())); err != nil {
				return err
			}
		}
	}
	return nil
}

// linkCodeDirs makes the builds and compiled code of cache directory dir
// those of cache directory from, by symbolic links.
func linkCodeDirs(dir, from string) error {
	for _, sub := range codeDirs {
		target := filepath.Join(from, sub)
		if err := os.MkdirAll(target, 0o755); err != nil {
			return err
		}
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return err
		}
		if err := os.Symlink(target, filepath.Join(dir, sub)); err != nil {
			return err
		}
	}
	return nil
}

// serve starts a host over cfg on a real loopback server. Logs go to the
// returned buffer.
func serve(t testing.TB, cfg host.Config) (*host.Host, *httptest.Server, *syncBuffer) {
	t.Helper()
	h, handler, logs, err := newHost(cfg)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(handler)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("host log:\n%s", logs)
		}
		srv.Close()
		if err := closeHost(h); err != nil {
			t.Error(err)
		}
	})
	return h, srv, logs
}

// newHost makes a host over cfg as the tests run it, with the
// operators' endpoints (/_wfn/healthz, /_wfn/cache/purge) mounted as wfn
// serve mounts them. Logs go to the returned buffer.
func newHost(cfg host.Config) (*host.Host, http.Handler, *syncBuffer, error) {
	if cfg.CacheDir == "" {
		cfg.CacheDir = sharedCache
	}
	if cfg.Engine == "" {
		// WFN_TEST_ENGINE=wasmtime (with -tags wasmtime) runs the suite
		// on the second engine; wazero-interpreter on TieredReload's
		// first tier.
		cfg.Engine = os.Getenv("WFN_TEST_ENGINE")
		if cfg.Engine == "wazero-interpreter" {
			cfg.Engine, cfg = "", host.WithInterpreter(cfg)
		}
	}
	if cfg.DeploymentID == "" {
		// A deployment of its own: tests that share the cache directory
		// never see each other's CDN entries.
		cfg.DeploymentID = "dpl_" + strconv.FormatInt(time.Now().UnixNano(), 36)
	}
	if os.Getenv("WFN_TEST_SNAPSHOT") == "off" {
		// The suite passes with instances started from snapshots (the
		// default) and with every instance initialising.
		cfg.DisableSnapshots = true
	}
	logs := &syncBuffer{}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	h, err := host.New(context.Background(), cfg)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("host.New: %w", err)
	}
	a, err := admin.New(h, admin.Options{})
	if err != nil {
		_ = closeHost(h)
		return nil, nil, nil, fmt.Errorf("admin.New: %w", err)
	}
	return h, a.Mount(h), logs, nil
}

func closeHost(h *host.Host) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := h.Close(ctx); err != nil && !errors.Is(err, host.ErrClosed) {
		return fmt.Errorf("Close: %w", err)
	}
	return nil
}

// shared holds the hosts of serveShared, one per directory, closed when
// the test binary ends.
var shared struct {
	sync.Mutex
	hosts map[string]*sharedHost
}

type sharedHost struct {
	h       *host.Host
	handler http.Handler
	logs    *syncBuffer
	err     error
}

// serveShared is serve(t, host.Config{Dir: dir}) for tests whose requests
// a host answers the same whatever it served before: stateless functions,
// or state under keys of the test's own (fresh ids in the Runtime Cache).
// Such tests share one host per directory, which loads the directory's
// functions once per test binary instead of once per test (about a second
// of CPU per Go guest under -race). Each test still has a loopback server
// of its own, so the CDN keys, which hold the request's host and port, are
// its own. The returned logs are the shared host's.
func serveShared(t testing.TB, dir string) (*host.Host, *httptest.Server, *syncBuffer) {
	t.Helper()
	shared.Lock()
	s, ok := shared.hosts[dir]
	if !ok {
		s = &sharedHost{}
		s.h, s.handler, s.logs, s.err = newHost(host.Config{Dir: dir})
		if shared.hosts == nil {
			shared.hosts = map[string]*sharedHost{}
		}
		shared.hosts[dir] = s
	}
	shared.Unlock()
	if s.err != nil {
		t.Fatal(s.err)
	}
	srv := httptest.NewServer(s.handler)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("host log (shared with other tests):\n%s", s.logs)
		}
		srv.Close()
	})
	return s.h, srv, s.logs
}

// closeShared closes the hosts of serveShared.
func closeShared() error {
	shared.Lock()
	defer shared.Unlock()
	var errs []error
	for dir, s := range shared.hosts {
		if s.h != nil {
			if err := closeHost(s.h); err != nil {
				errs = append(errs, fmt.Errorf("shared host of %s: %w", dir, err))
			}
		}
	}
	return errors.Join(errs...)
}

// watDir makes a served directory holding the named WAT fixtures of
// testdata/wat as api/NAME.wasm.
func watDir(t testing.TB, names ...string) string {
	t.Helper()
	return testkit.WatDir(t, names...)
}

type response struct {
	status int
	header http.Header
	body   string
}

func do(t testing.TB, method, url string, body io.Reader, header ...string) response {
	t.Helper()
	req, err := http.NewRequest(method, url, body)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: reading body: %v", method, url, err)
	}
	return response{resp.StatusCode, resp.Header, string(b)}
}

func get(t testing.TB, url string) response { return do(t, http.MethodGet, url, nil) }

// wantError checks a platform error response.
func wantError(t testing.TB, r response, status int, code string) {
	t.Helper()
	if r.status != status {
		t.Errorf("status = %d, want %d (body %q)", r.status, status, r.body)
	}
	if got := r.header.Get("X-Wfn-Error"); got != code {
		t.Errorf("x-wfn-error = %q, want %q", got, code)
	}
	if !strings.Contains(r.body, code) {
		t.Errorf("body %q does not name %s", r.body, code)
	}
	if id := r.header.Get("X-Vercel-Id"); id == "" || !strings.Contains(r.body, id) {
		t.Errorf("request id %q missing from header or body %q", id, r.body)
	}
}

// eventually polls cond until it holds or a generous deadline passes.
func eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	testkit.Eventually(t, 30*time.Second, what, cond)
}

func itoa(n int) string { return strconv.Itoa(n) }

func mustCopy(t testing.TB, from, to string) {
	t.Helper()
	data, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(to), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

func newLogger(w io.Writer) *slog.Logger {
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug}))
}
