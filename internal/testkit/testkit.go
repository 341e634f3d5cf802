// Package testkit holds the helpers that the tests of several packages
// (host, host/admin, host/internal/fluid, cli, the examples) share: a log
// buffer safe for concurrent writers, a GET that returns its error, a
// served directory made of the WAT fixtures in testdata/wat, a project
// tree written from a map of files, and a poll for a condition with a
// deadline.
package testkit

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
	"time"
)

// SyncBuffer is an output destination safe for concurrent writers (a
// host's log, a command's stdout).
type SyncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

// Write appends p.
func (s *SyncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

// String returns everything written so far.
func (s *SyncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// WriteFiles writes files into dir: each key is a slash-separated path
// relative to dir (its parent directories are made), each value the file's
// content. It fails t on the first file it cannot write.
func WriteFiles(t testing.TB, dir string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// WatDir makes a served directory (a temporary directory of t) holding
// the named fixtures of the repository's testdata/wat, NAME.wasm each, as
// api/NAME.wasm. It fails t when a fixture cannot be read or written.
func WatDir(t testing.TB, names ...string) string {
	t.Helper()
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		t.Fatal("testkit: cannot find the repository from the caller's frame")
	}
	wat := filepath.Join(filepath.Dir(file), "..", "..", "testdata", "wat")
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "api"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, n := range names {
		data, err := os.ReadFile(filepath.Join(wat, n+".wasm"))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "api", n+".wasm"), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// Get GETs url under ctx and returns the status and the body, with the
// error instead of failing the test: for requests made on goroutines of
// their own, or expected to fail.
func Get(ctx context.Context, url string) (status int, body string, err error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, "", err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), err
}

// Eventually polls cond every millisecond until it holds, and fails t with
// "timed out waiting for what" when it has not held within the given
// time: tests wait for a condition with a generous deadline, never for a
// fixed time.
func Eventually(t testing.TB, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s (%s)", what, within)
		}
		time.Sleep(time.Millisecond)
	}
}
