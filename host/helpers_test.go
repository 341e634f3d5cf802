package host_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
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

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "wfn-host-test")
	if err != nil {
		panic(err)
	}
	sharedCache = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// serve starts a host over cfg on a real loopback server. Logs go to the
// returned buffer.
func serve(t testing.TB, cfg host.Config) (*host.Host, *httptest.Server, *syncBuffer) {
	t.Helper()
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
		t.Fatalf("host.New: %v", err)
	}
	// The operators' endpoints (/_wfn/healthz, /_wfn/cache/purge) are
	// package admin's, mounted as wfn serve mounts them.
	a, err := admin.New(h, admin.Options{})
	if err != nil {
		t.Fatalf("admin.New: %v", err)
	}
	srv := httptest.NewServer(a.Mount(h))
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("host log:\n%s", logs)
		}
		srv.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := h.Close(ctx); err != nil && !errors.Is(err, host.ErrClosed) {
			t.Errorf("Close: %v", err)
		}
	})
	return h, srv, logs
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
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
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
