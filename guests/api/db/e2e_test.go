package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wfn-dev/wfn/internal/pgserver"
	"github.com/wfn-dev/wfn/internal/redisserver"
)

// The end-to-end tests serve the two examples (/api/db and /api/counter)
// with the wfn command (built from this repository: the host is not a
// dependency of this module), from a directory of their own, built to
// WebAssembly from these sources, with real PostgreSQL and Redis on
// loopback.

// servedDir makes a served directory with copies of api/db and
// api/counter (and the functions of extra, by name) and their loopback
// config. It lies inside this module (under testdata), so that their
// builds find its go.mod.
func servedDir(t testing.TB, extra map[string]string) string {
	t.Helper()
	if _, err := exec.LookPath("go"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal(err)
		}
		t.Skip("skipping: the go command builds the functions: ", err)
	}
	if err := os.MkdirAll("testdata", 0o755); err != nil {
		t.Fatal(err)
	}
	dir, err := os.MkdirTemp("testdata", "served-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		os.RemoveAll(dir)
		os.Remove("testdata") // when empty
	})
	fns := map[string]string{}
	for _, fn := range []string{"db", "counter"} {
		src, err := os.ReadFile(filepath.Join("..", fn, "main.go"))
		if err != nil {
			t.Fatal(err)
		}
		fns[fn] = string(src)
	}
	for fn, src := range extra {
		fns[fn] = src
	}
	var config []string
	for fn, src := range fns {
		if err := os.MkdirAll(filepath.Join(dir, "api", fn), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "api", fn, "main.go"), []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
		config = append(config, `"api/`+fn+`": {"allowedOutboundHosts": ["127.0.0.1:*", "localhost:*"]}`)
	}
	if err := os.WriteFile(filepath.Join(dir, "vercel.json"), []byte(`{"functions": {`+strings.Join(config, ",")+`}}`), 0o644); err != nil {
		t.Fatal(err)
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		t.Fatal(err)
	}
	return abs
}

func TestMain(m *testing.M) {
	code := m.Run()
	if wfnCmd.bin != "" {
		os.RemoveAll(filepath.Dir(wfnCmd.bin))
	}
	pgserver.StopShared()
	os.Exit(code)
}

// wfn is the wfn command, built once from this repository for the tests
// of this binary, with its build and compile cache.
var wfnCmd struct {
	once       sync.Once
	bin, cache string
	err        error
}

func wfnCommand(t testing.TB) (bin, cache string) {
	t.Helper()
	wfnCmd.once.Do(func() {
		dir, err := os.MkdirTemp("", "wfn-e2e")
		if err != nil {
			wfnCmd.err = err
			return
		}
		wfnCmd.bin, wfnCmd.cache = filepath.Join(dir, "wfn"), filepath.Join(dir, "cache")
		args := []string{"build", "-o", wfnCmd.bin}
		if testEngine() == "wasmtime" {
			args = append(args, "-tags", "wasmtime")
		}
		cmd := exec.Command("go", append(args, "./cli/wfn")...)
		cmd.Dir = filepath.Join("..", "..", "..")
		if out, err := cmd.CombinedOutput(); err != nil {
			wfnCmd.err = fmt.Errorf("go build ./cli/wfn: %w\n%s", err, out)
		}
	})
	if wfnCmd.err != nil {
		t.Fatal(wfnCmd.err)
	}
	return wfnCmd.bin, wfnCmd.cache
}

// testEngine is the engine wfn serve runs the functions on: "" for the
// default, or WFN_TEST_ENGINE's value ("wasmtime" builds the command with
// the wasmtime tag, as .ci/run does for the host's tests).
func testEngine() string { return os.Getenv("WFN_TEST_ENGINE") }

// serveHost runs wfn serve over dir with the environment given, on a
// free loopback port, and returns its base URL once it answers.
func serveHost(t testing.TB, dir string, env map[string]string) string {
	t.Helper()
	bin, cache := wfnCommand(t)
	port, err := redisserver.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	args := []string{"serve", dir, "--listen", addr, "--cache-dir", cache}
	if e := testEngine(); e != "" {
		args = append(args, "--engine", e)
	}
	for k, v := range env {
		args = append(args, "--env", k+"="+v)
	}
	logs := &strings.Builder{}
	var mu sync.Mutex
	cmd := exec.Command(bin, args...)
	cmd.Stdout = lockedWriter{&mu, logs}
	cmd.Stderr = cmd.Stdout
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		cmd.Process.Signal(os.Interrupt)
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			cmd.Process.Kill()
			<-done
		}
		if t.Failed() {
			mu.Lock()
			t.Logf("wfn serve:\n%s", logs)
			mu.Unlock()
		}
	})
	base := "http://" + addr
	for deadline := time.Now().Add(5 * time.Minute); ; time.Sleep(50 * time.Millisecond) {
		if resp, err := http.Get(base + "/_wfn/healthz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return base
			}
		}
		select {
		case <-done:
			mu.Lock()
			defer mu.Unlock()
			t.Fatalf("wfn serve exited:\n%s", logs)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatal("wfn serve did not answer within 5 minutes")
		}
	}
}

type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

func call(t testing.TB, base, method, path string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, base+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// Served by the host: the counter increments, the database answers its
// time on one backend across invocations (the pool's connection belongs
// to the instance), and when the database stops, the function answers
// with pgx's error while the host serves on.
func TestServedExamples(t *testing.T) {
	dir := servedDir(t, nil)
	pg := pgserver.StartForTest(t)
	redis := redisserver.StartForTest(t)
	srv := serveHost(t, dir, map[string]string{"DATABASE_URL": pg.URL(), "REDIS_URL": redis.URL()})

	for _, want := range []string{"1", "2", "3"} {
		if status, body := call(t, srv, "POST", "/api/counter"); status != 200 || body != want {
			t.Fatalf("POST /api/counter = %d %q, want %s", status, body, want)
		}
	}

	var first answer
	for i := range 3 {
		status, body := call(t, srv, "GET", "/api/db")
		var a answer
		if status != 200 || json.Unmarshal([]byte(body), &a) != nil {
			t.Fatalf("GET /api/db = %d %q", status, body)
		}
		if d := time.Since(a.Now); d < -time.Minute || d > time.Minute {
			t.Errorf("NOW() = %v, not about now", a.Now)
		}
		if i == 0 {
			first = a
		} else if a.BackendPid != first.BackendPid {
			t.Errorf("request %d ran on backend %d, the first on %d: the pool's connection was not reused", i+1, a.BackendPid, first.BackendPid)
		}
	}

	pg.Stop()
	status, body := call(t, srv, "GET", "/api/db")
	if status != 503 || !strings.HasPrefix(body, "db: ") {
		t.Fatalf("database stopped: %d %q, want 503 with pgx's error", status, body)
	}
	t.Logf("with the database stopped: %s", strings.TrimSpace(body))
	if status, body := call(t, srv, "POST", "/api/counter"); status != 200 || body != "4" {
		t.Fatalf("after the database stopped, POST /api/counter = %d %q, want 4", status, body)
	}
	if status, _ := call(t, srv, "GET", "/api/db"); status != 503 {
		t.Fatalf("database still stopped: %d, want 503", status)
	}
}

// dbTimeout runs a query longer than its context allows: pgx's context
// watcher, a goroutine, moves the connection's deadline when the context
// ends, which works in a guest only because wfnnet's waits give other
// goroutines their turn.
const dbTimeout = `package main

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/wfn-dev/wfn/guests/sdk/go/wfn/wfnhttp"
	"github.com/wfn-dev/wfn/guests/sdk/go/wfn/wfnnet"
)

func init() { wfnhttp.Handle(http.HandlerFunc(handle)) }

func handle(w http.ResponseWriter, r *http.Request) {
	cfg, err := pgx.ParseConfig(os.Getenv("DATABASE_URL"))
	if err != nil {
		http.Error(w, err.Error(), 500)
		return
	}
	cfg.DialFunc = wfnnet.DialContext
	cfg.LookupFunc = wfnnet.LookupHost
	c, err := pgx.ConnectConfig(r.Context(), cfg)
	if err != nil {
		http.Error(w, err.Error(), 503)
		return
	}
	defer c.Close(context.Background())
	ctx, cancel := context.WithTimeout(r.Context(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err = c.Exec(ctx, "SELECT pg_sleep(20)")
	fmt.Fprintf(w, "%d ms: %v", time.Since(start).Milliseconds(), err)
}

func main() {}
`

// A query's context ends it in a guest too.
func TestServedQueryTimeout(t *testing.T) {
	pg := pgserver.URL(t)
	srv := serveHost(t, servedDir(t, map[string]string{"dbtimeout": dbTimeout}), map[string]string{"DATABASE_URL": pg})
	// The function's own measure: the request also waits for the build.
	status, body := call(t, srv, "GET", "/api/dbtimeout")
	ms, _, _ := strings.Cut(body, " ms: ")
	if n, err := strconv.Atoi(ms); status != 200 || !strings.Contains(body, "timeout") || err != nil || n > 10000 {
		t.Fatalf("GET /api/dbtimeout = %d %q, want a timeout well before pg_sleep's 20 s", status, body)
	}
	t.Logf("a 300 ms context on pg_sleep(20): %s", body)
}

// Without their variables both answer 500 naming them.
func TestServedMissingEnv(t *testing.T) {
	srv := serveHost(t, servedDir(t, nil), nil)
	for path, name := range map[string]string{"/api/db": "DATABASE_URL", "/api/counter": "REDIS_URL"} {
		if status, body := call(t, srv, "GET", path); status != 500 || !strings.Contains(body, name) {
			t.Errorf("GET %s without %s = %d %q, want 500 naming it", path, name, status, body)
		}
	}
}
