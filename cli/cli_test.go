package cli_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/wfn-dev/wfn/cli"
	"github.com/wfn-dev/wfn/host"
	"github.com/wfn-dev/wfn/internal/testkit"
)

// deadline bounds every wait in this file. It is generous: it is only
// reached when something is broken.
const deadline = 60 * time.Second

// runDeadline bounds one command run to its end (run): wfn conformance and
// wfn build build a guest from source and compile it, which under -race
// on a loaded machine took past a minute (CI), and past five minutes at a
// load of 8 (a CI run beside other builds and tests).
const runDeadline = 10 * time.Minute

// syncBuffer is an output destination safe for concurrent writers.
type syncBuffer = testkit.SyncBuffer

// watDir makes a served directory holding the named WAT fixtures of
// testdata/wat as api/NAME.wasm.
func watDir(t testing.TB, names ...string) string {
	t.Helper()
	return testkit.WatDir(t, names...)
}

// client is used for every request; its timeout is only reached when
// something is broken.
var client = &http.Client{Timeout: deadline}

func get(t testing.TB, url string) (int, string) {
	t.Helper()
	resp, err := client.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: reading body: %v", url, err)
	}
	return resp.StatusCode, string(b)
}

// checkServing checks the health endpoint and the hello function.
func checkServing(t testing.TB, addr string) {
	t.Helper()
	if status, body := get(t, "http://"+addr+"/_wfn/healthz"); status != http.StatusOK {
		t.Errorf("GET /_wfn/healthz = %d %q, want 200", status, body)
	}
	if status, body := get(t, "http://"+addr+"/api/hello"); status != http.StatusOK || body != "Hello from wfn!" {
		t.Errorf("GET /api/hello = %d %q, want 200 %q", status, body, "Hello from wfn!")
	}
}

// held is a request to the hold guest that has got its response head: the
// guest is running and stays so until release is called.
type held struct {
	body io.ReadCloser
	pw   *io.PipeWriter
}

func hold(t testing.TB, addr string) *held {
	t.Helper()
	pr, pw := io.Pipe()
	req, err := http.NewRequest(http.MethodPost, "http://"+addr+"/api/hold", pr)
	if err != nil {
		t.Fatal(err)
	}
	// No client timeout: the second-signal test keeps it open until the
	// server is gone, and release reads it under its own deadline.
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("POST /api/hold: %v", err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("POST /api/hold: status %d", resp.StatusCode)
	}
	h := &held{body: resp.Body, pw: pw}
	t.Cleanup(func() {
		pw.Close()
		resp.Body.Close()
	})
	return h
}

// release ends the request body and returns the response body.
func (h *held) release(t testing.TB) (string, error) {
	t.Helper()
	h.pw.Close()
	type result struct {
		b   []byte
		err error
	}
	ch := make(chan result, 1)
	go func() {
		b, err := io.ReadAll(h.body)
		ch <- result{b, err}
	}()
	select {
	case r := <-ch:
		return string(r.b), r.err
	case <-time.After(deadline):
		t.Fatal("timed out reading the held response")
		return "", nil
	}
}

// waitListenerClosed polls addr until it refuses connections: the server
// has begun shutting down.
func waitListenerClosed(t testing.TB, addr string) {
	t.Helper()
	end := time.Now().Add(deadline)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err != nil {
			return
		}
		c.Close()
		if time.Now().After(end) {
			t.Fatalf("%s still accepts connections", addr)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

var readyRE = regexp.MustCompile(`(?m)^Ready on http://(\S+)$`)

// waitReady polls out for the Ready line and returns its address. exited
// is closed, or receives, when the server has stopped early; why then
// explains it.
func waitReady(t testing.TB, out *syncBuffer, exited <-chan struct{}, why func() string) string {
	t.Helper()
	end := time.Now().Add(deadline)
	for {
		if m := readyRE.FindStringSubmatch(out.String()); m != nil {
			ip, port, err := net.SplitHostPort(m[1])
			if err != nil || ip != "127.0.0.1" || port == "0" || port == "" {
				t.Fatalf("Ready line names %q, want 127.0.0.1:PORT with a real port", m[1])
			}
			return m[1]
		}
		select {
		case <-exited:
			t.Fatalf("server stopped before it was ready: %s\nstdout:\n%s", why(), out)
		default:
		}
		if time.Now().After(end) {
			t.Fatalf("no Ready line after %s; stdout:\n%s", deadline, out)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// run runs the command in-process to its end.
func run(t testing.TB, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), runDeadline)
	defer cancel()
	var o, e syncBuffer
	err = cli.Run(ctx, append([]string{"wfn"}, args...), &o, &e)
	return o.String(), e.String(), err
}

// server is `wfn serve` running in-process.
type server struct {
	addr   string
	cancel context.CancelFunc
	done   chan struct{} // closed when Run has returned
	err    error         // Run's result, once done is closed
	stderr *syncBuffer
}

// startServe runs `wfn serve ARGS` in-process and returns once it is ready.
func startServe(t testing.TB, args ...string) *server {
	t.Helper()
	return startCommand(t, "serve", args...)
}

// startCommand runs `wfn CMD ARGS` (serve or dev) in-process and returns
// once it is ready.
func startCommand(t testing.TB, cmd string, args ...string) *server {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	s := &server{cancel: cancel, done: make(chan struct{}), stderr: &syncBuffer{}}
	stdout := &syncBuffer{}
	go func() {
		defer close(s.done)
		s.err = cli.Run(ctx, append([]string{"wfn", cmd}, args...), stdout, s.stderr)
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case <-s.done:
		case <-time.After(deadline):
			t.Errorf("Run did not return after cancel")
		}
		if t.Failed() {
			t.Logf("stderr:\n%s", withoutRequests(s.stderr.String()))
		}
	})
	s.addr = waitReady(t, stdout, s.done, func() string { return fmt.Sprintf("Run returned %v; stderr:\n%s", s.err, s.stderr) })
	return s
}

// stop cancels the context and returns Run's result.
func (s *server) stop(t testing.TB) error {
	t.Helper()
	s.cancel()
	return s.wait(t)
}

func (s *server) wait(t testing.TB) error {
	t.Helper()
	select {
	case <-s.done:
		return s.err
	case <-time.After(deadline):
		t.Fatalf("Run did not return within %s", deadline)
		return nil
	}
}

func TestServe(t *testing.T) {
	dir := watDir(t, "hello")
	s := startServe(t, "--listen", "127.0.0.1:0", "--cache-dir", t.TempDir(), dir)
	checkServing(t, s.addr)
	if status, _ := get(t, "http://"+s.addr+"/api/nosuch"); status != http.StatusNotFound {
		t.Errorf("GET /api/nosuch = %d, want 404", status)
	}
	if err := s.stop(t); err != nil {
		t.Fatalf("Run after cancel = %v, want nil", err)
	}
	if _, err := net.DialTimeout("tcp", s.addr, time.Second); err == nil {
		t.Errorf("%s still accepts connections after Run returned", s.addr)
	}
}

// TestListenPortAlone: --listen (-l) takes a port alone, as `vercel dev
// --listen 5005` does, and serves it on loopback.
func TestListenPortAlone(t *testing.T) {
	dir := watDir(t, "hello")
	for _, cmd := range []string{"serve", "dev"} {
		t.Run(cmd, func(t *testing.T) {
			s := startCommand(t, cmd, "-l", "0", "--cache-dir", t.TempDir(), dir)
			if host, _, err := net.SplitHostPort(s.addr); err != nil || host != "127.0.0.1" {
				t.Errorf("wfn %s -l 0 is ready on %q, want 127.0.0.1:PORT", cmd, s.addr)
			}
			checkServing(t, s.addr)
		})
	}
}

// The documented usage is `wfn serve [DIR] --listen ADDR`: flags after DIR.
func TestFlagsAfterDir(t *testing.T) {
	t.Run("serve", func(t *testing.T) {
		s := startServe(t, watDir(t, "hello"), "--listen", "127.0.0.1:0", "--cache-dir", t.TempDir())
		checkServing(t, s.addr)
	})
	t.Run("build", func(t *testing.T) {
		dir, cache := watDir(t, "hello"), t.TempDir()
		out, errOut, err := run(t, "build", dir, "--cache-dir", cache)
		if err != nil {
			t.Fatalf("build %s --cache-dir: %v\nstdout:\n%s\nstderr:\n%s", dir, err, out, errOut)
		}
		checkCacheUsed(t, dir, cache)
	})
}

// checkCacheUsed checks that compiled code went to cache, not DIR/.wfn.
func checkCacheUsed(t testing.TB, dir, cache string) {
	t.Helper()
	if entries, err := os.ReadDir(cache); err != nil || len(entries) == 0 {
		t.Errorf("--cache-dir %s is empty (%v)", cache, err)
	}
	if _, err := os.Stat(filepath.Join(dir, ".wfn")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("%s/.wfn exists (%v) though --cache-dir was given", dir, err)
	}
}

func TestServeDrainsInFlightOnCancel(t *testing.T) {
	s := startServe(t, "--listen", "127.0.0.1:0", "--cache-dir", t.TempDir(), watDir(t, "hold"))
	h := hold(t, s.addr)
	s.cancel()
	waitListenerClosed(t, s.addr)
	select {
	case <-s.done:
		t.Fatalf("Run returned (%v) with a request in flight", s.err)
	default:
	}
	if body, err := h.release(t); err != nil || body != "done" {
		t.Errorf("held request = %q, %v; want done", body, err)
	}
	if err := s.wait(t); err != nil {
		t.Errorf("Run = %v, want nil after drain", err)
	}
}

func TestServeShutdownGraceExpires(t *testing.T) {
	s := startServe(t, "--listen", "127.0.0.1:0", "--cache-dir", t.TempDir(), "--shutdown-grace", "50ms", watDir(t, "hold"))
	hold(t, s.addr) // never released before Run returns
	err := s.stop(t)
	if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "did not finish within 50ms") {
		t.Errorf("Run = %v, want an error saying in-flight invocations did not finish within 50ms", err)
	}
	// The held invocation is aborted, and logged with its id as stopped
	// by the shutdown (not as a client that left), when it ends: that
	// may be after Run returns.
	waitFor(t, "the aborted invocation's log line", func() bool {
		return strings.Contains(s.stderr.String(), "invocation stopped: the host is shutting down")
	})
	if logs := s.stderr.String(); strings.Contains(logs, "client disconnected") {
		t.Errorf("the aborted invocation is logged as a client that left:\n%s", logs)
	}
}

func TestServeErrors(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "nosuch")
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	hello := watDir(t, "hello")
	for _, tc := range []struct {
		name  string
		args  []string
		is    error
		wants []string
	}{
		{"missing dir", []string{"--listen", "127.0.0.1:0", missing}, host.ErrDir, []string{missing}},
		{"address in use", []string{"--listen", busy.Addr().String(), hello}, nil, []string{"cannot listen on --listen", busy.Addr().String(), "address already in use"}},
		{"port out of range", []string{"-l", "70000", hello}, nil, []string{"--listen 70000", "0 to 65535"}},
		{"address without a port", []string{"--listen", "localhost", hello}, nil, []string{`--listen "localhost"`, "host:port, :port or a port"}},
		// It was taken: the first signal then ended the drain at once,
		// saying in-flight invocations did not finish within -1s.
		{"negative shutdown grace", []string{"--listen", "127.0.0.1:0", "--shutdown-grace", "-1s", hello}, nil, []string{"--shutdown-grace -1s: want 0 or more"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, _, err := run(t, append([]string{"serve", "--cache-dir", t.TempDir()}, tc.args...)...)
			if err == nil {
				t.Fatalf("serve %v = nil, want an error", tc.args)
			}
			if tc.is != nil && !errors.Is(err, tc.is) {
				t.Errorf("error %v is not %v", err, tc.is)
			}
			for _, w := range tc.wants {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
			if strings.Contains(out, "Ready on") {
				t.Errorf("stdout says ready: %q", out)
			}
		})
	}
}

func TestBuild(t *testing.T) {
	for _, tc := range []struct {
		name    string
		fns     []string
		wantErr bool
		want    []string
	}{
		{"ok", []string{"hello"}, false, []string{
			"ok   api/hello.wasm -> /api/hello\n",
			"1 functions, 0 failed\n",
		}},
		{"one fails", []string{"hello", "notwasm"}, true, []string{
			"ok   api/hello.wasm -> /api/hello\n",
			"FAIL api/notwasm.wasm\n",
			"not a WebAssembly module",
			"2 functions, 1 failed\n",
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir, cache := watDir(t, tc.fns...), t.TempDir()
			out, errOut, err := run(t, "build", "--cache-dir", cache, dir)
			if tc.wantErr {
				if !errors.Is(err, cli.ErrLoad) {
					t.Errorf("build = %v, want cli.ErrLoad", err)
				}
			} else if err != nil {
				t.Errorf("build = %v, want nil", err)
			}
			for _, w := range tc.want {
				if !strings.Contains(out, w) {
					t.Errorf("stdout lacks %q:\n%s", w, out)
				}
			}
			if t.Failed() {
				t.Logf("stderr:\n%s", errOut)
			}
			checkCacheUsed(t, dir, cache)
		})
	}
}

func TestBuildMissingDir(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "nosuch")
	_, _, err := run(t, "build", "--cache-dir", t.TempDir(), missing)
	if !errors.Is(err, host.ErrDir) || !strings.Contains(err.Error(), missing) {
		t.Errorf("build %s = %v, want host.ErrDir naming the path", missing, err)
	}
}

func TestLogLevel(t *testing.T) {
	for _, tc := range []struct {
		level    string
		wantInfo bool
	}{
		{"debug", true},
		{"info", true},
		{"warn", false},
		{"error", false},
	} {
		t.Run(tc.level, func(t *testing.T) {
			_, errOut, err := run(t, "build", "--cache-dir", t.TempDir(), "--log-level", tc.level, watDir(t, "hello"))
			if err != nil {
				t.Fatalf("build: %v", err)
			}
			if got := strings.Contains(errOut, "function ready"); got != tc.wantInfo {
				t.Errorf("--log-level %s: info line logged = %v, want %v; stderr:\n%s", tc.level, got, tc.wantInfo, errOut)
			}
		})
	}
}

func TestVersion(t *testing.T) {
	out, _, err := run(t, "version")
	if err != nil {
		t.Fatalf("version: %v", err)
	}
	if !regexp.MustCompile(`^wfn \S+\n$`).MatchString(out) {
		t.Errorf("version printed %q, want \"wfn VERSION\\n\"", out)
	}
}

func TestBadArguments(t *testing.T) {
	hello := watDir(t, "hello")
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"env without =", []string{"--env", "NOEQUALS"}, "NOEQUALS"},
		{"env without key", []string{"--env", "=value"}, "want KEY=VALUE"},
		{"unknown log level", []string{"--log-level", "bogus"}, "log-level"},
		{"unknown flag", []string{"--bogus"}, "bogus"},
		{"bad duration", []string{"--max-duration", "soon"}, "max-duration"},
		{"duration over Vercel's", []string{"--max-duration", "3h"}, "--max-duration: want a whole number of seconds from 1s to 30m0s, got 3h0m0s"},
		{"duration under a second", []string{"--max-duration", "500ms"}, "--max-duration: want"},
		{"memory under Vercel's", []string{"--memory", "100"}, "--memory: want an integer from 128 to 10240 (MB), got 100"},
		{"memory over Vercel's", []string{"--memory", "20000"}, "--memory: want an integer from 128 to 10240 (MB), got 20000"},
		{"two dirs", []string{hello}, "one directory expected"},
		{"bad trust-proxy", []string{"--trust-proxy", "not-a-cidr"}, "--trust-proxy"},
		{"bad environment", []string{"--environment", "staging"}, "--environment"},
		{"unknown engine", []string{"--engine", "bogus"}, `engine "bogus" is not in this build`},
		{"invalid geoip-db", []string{"--geoip-db", hello + "/api/hello.wasm"}, "geoip"},
		// A negative count or duration is named by its flag, not by a
		// host.Config field (maxConcurrency, TmpSizeMB) whose "0 (the
		// default)" is not the flag's default.
		{"negative max-instances", []string{"--max-instances", "-1"}, "--max-instances -1: want 0 or more"},
		{"negative max-instances-per-function", []string{"--max-instances-per-function", "-1"}, "--max-instances-per-function -1: want 0 or more"},
		{"negative max-queue", []string{"--max-queue", "-1"}, "--max-queue -1: want 0 or more"},
		{"negative queue-timeout", []string{"--queue-timeout", "-1s"}, "--queue-timeout -1s: want 0 or more"},
		{"negative tmp-size", []string{"--tmp-size", "-1"}, "--tmp-size -1: want 0 or more"},
		{"negative min-instances", []string{"--min-instances", "-1"}, "--min-instances -1: want 0 or more"},
		{"negative idle-timeout", []string{"--idle-timeout", "-1s"}, "--idle-timeout -1s: want 0 or more"},
		{"negative max-invocations", []string{"--max-invocations", "-1"}, "--max-invocations -1: want 0 or more"},
		{"negative suspend-after", []string{"--suspend-after", "-1s"}, "--suspend-after -1s: want 0 or more"},
		{"negative unload-after", []string{"--unload-after", "-1s"}, "--unload-after -1s: want 0 or more"},
	} {
		for _, cmd := range []string{"serve", "build"} {
			t.Run(cmd+"/"+tc.name, func(t *testing.T) {
				// --listen keeps a serve that wrongly starts off port
				// 3000; a build that wrongly starts would succeed.
				args := []string{cmd, "--cache-dir", t.TempDir()}
				if cmd == "serve" {
					args = append(args, "--listen", "127.0.0.1:0")
				}
				args = append(append(args, tc.args...), hello)
				out, _, err := run(t, args...)
				if err == nil {
					t.Fatalf("wfn %v = nil, want an error", args)
				}
				if !strings.Contains(err.Error(), tc.want) {
					t.Errorf("error %q does not mention %q", err, tc.want)
				}
				if strings.Contains(out, "Ready on") || strings.Contains(out, "functions,") {
					t.Errorf("command ran despite the bad arguments; stdout:\n%s", out)
				}
			})
		}
	}
}

// --- The wfn binary as a subprocess: exit codes and signals. ---

const testVersion = "v0.0.0-clitest"

var (
	buildOnce sync.Once
	binDir    string
	binPath   string
	binErr    error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	os.Exit(code)
}

// requireGo skips a test that needs the go command when it is missing,
// except under CI=true, where it fails.
func requireGo(t testing.TB) {
	t.Helper()
	if _, err := exec.LookPath("go"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("the go command is needed to build the wfn binary: %v", err)
		}
		t.Skipf("skipping: the go command is needed to build the wfn binary: %v", err)
	}
}

// wfnBinary builds ./cli/wfn once, with Version set at link time.
func wfnBinary(t testing.TB) string {
	t.Helper()
	if runtime.GOOS == "windows" {
		t.Skip("skipping: signals are POSIX")
	}
	requireGo(t)
	buildOnce.Do(func() {
		gomod, err := exec.Command("go", "env", "GOMOD").Output()
		if err != nil {
			binErr = fmt.Errorf("go env GOMOD: %w", err)
			return
		}
		root := filepath.Dir(strings.TrimSpace(string(gomod)))
		if binDir, binErr = os.MkdirTemp("", "wfn-cli-test-"); binErr != nil {
			return
		}
		binPath = filepath.Join(binDir, "wfn")
		cmd := exec.Command("go", "build", "-o", binPath,
			"-ldflags", "-X github.com/wfn-dev/wfn/cli.Version="+testVersion, "./cli/wfn")
		cmd.Dir = root
		if out, err := cmd.CombinedOutput(); err != nil {
			binErr = fmt.Errorf("go build ./cli/wfn: %v\n%s", err, out)
		}
	})
	if binErr != nil {
		t.Fatal(binErr)
	}
	return binPath
}

// proc is the wfn binary running.
type proc struct {
	cmd    *exec.Cmd
	stdout *syncBuffer
	stderr *syncBuffer
	exited chan struct{} // closed once the process has exited
	err    error         // cmd.Wait's result, once exited is closed
}

func startProc(t testing.TB, args ...string) *proc {
	t.Helper()
	return startCmd(t, exec.Command(wfnBinary(t), args...))
}

// startCmd starts cmd, which runs the wfn binary, as startProc does.
func startCmd(t testing.TB, cmd *exec.Cmd) *proc {
	t.Helper()
	args := cmd.Args
	p := &proc{
		cmd:    cmd,
		stdout: &syncBuffer{},
		stderr: &syncBuffer{},
		exited: make(chan struct{}),
	}
	p.cmd.Stdout, p.cmd.Stderr = p.stdout, p.stderr
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		defer close(p.exited)
		p.err = p.cmd.Wait()
	}()
	t.Cleanup(func() {
		select {
		case <-p.exited:
		default:
			p.cmd.Process.Kill()
			<-p.exited
		}
		if t.Failed() {
			t.Logf("wfn %v stdout:\n%s\nstderr:\n%s", args, p.stdout, p.stderr)
		}
	})
	return p
}

// serveProc starts `wfn serve` on dir and returns once it is ready.
func serveProc(t testing.TB, dir string, args ...string) (*proc, string) {
	t.Helper()
	p := startProc(t, append([]string{"serve", "--listen", "127.0.0.1:0", "--cache-dir", t.TempDir()}, append(args, dir)...)...)
	addr := waitReady(t, p.stdout, p.exited, func() string { return fmt.Sprintf("%v; stderr:\n%s", p.err, p.stderr) })
	return p, addr
}

func (p *proc) signal(t testing.TB, sig os.Signal) {
	t.Helper()
	if err := p.cmd.Process.Signal(sig); err != nil {
		t.Fatalf("signal %v: %v", sig, err)
	}
}

// exitCode waits for the process to exit and returns its exit code.
func (p *proc) exitCode(t testing.TB) int {
	t.Helper()
	select {
	case <-p.exited:
	case <-time.After(deadline):
		t.Fatalf("process did not exit within %s", deadline)
	}
	if p.err != nil {
		var ee *exec.ExitError
		if !errors.As(p.err, &ee) {
			t.Fatalf("wait: %v", p.err)
		}
	}
	return p.cmd.ProcessState.ExitCode()
}

func TestProcessExitCodes(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "nosuch")
	for _, tc := range []struct {
		name     string
		args     []string
		code     int
		stdout   string // a regexp
		inStderr string
	}{
		{"version", []string{"version"}, 0, `^wfn ` + regexp.QuoteMeta(testVersion) + `\n$`, ""},
		{"build ok", []string{"build", "--cache-dir", t.TempDir(), watDir(t, "hello")}, 0, `(?m)^ok   api/hello\.wasm -> /api/hello$`, ""},
		{"build fails", []string{"build", "--cache-dir", t.TempDir(), watDir(t, "hello", "notwasm")}, 1, `(?m)^FAIL api/notwasm\.wasm$`, "some functions failed to load"},
		{"serve missing dir", []string{"serve", "--listen", "127.0.0.1:0", "--cache-dir", t.TempDir(), missing}, 1, `^$`, missing},
		{"bad flag", []string{"serve", "--listen", "127.0.0.1:0", "--env", "NOEQUALS", missing}, 1, `^$`, "NOEQUALS"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := startProc(t, tc.args...)
			if code := p.exitCode(t); code != tc.code {
				t.Errorf("exit code %d, want %d", code, tc.code)
			}
			if !regexp.MustCompile(tc.stdout).MatchString(p.stdout.String()) {
				t.Errorf("stdout %q does not match %q", p.stdout, tc.stdout)
			}
			if !strings.Contains(p.stderr.String(), tc.inStderr) {
				t.Errorf("stderr does not mention %q:\n%s", tc.inStderr, p.stderr)
			}
		})
	}
}

func TestProcessServeAndSIGTERM(t *testing.T) {
	p, addr := serveProc(t, watDir(t, "hello"))
	checkServing(t, addr)
	p.signal(t, syscall.SIGTERM)
	if code := p.exitCode(t); code != 0 {
		t.Errorf("exit code after SIGTERM = %d, want 0", code)
	}
}

func TestProcessSIGTERMDrainsInFlight(t *testing.T) {
	p, addr := serveProc(t, watDir(t, "hold"))
	h := hold(t, addr)
	p.signal(t, syscall.SIGTERM)
	waitListenerClosed(t, addr)
	select {
	case <-p.exited:
		t.Fatalf("process exited (%v) with a request in flight", p.err)
	default:
	}
	if body, err := h.release(t); err != nil || body != "done" {
		t.Errorf("held request = %q, %v; want done", body, err)
	}
	if code := p.exitCode(t); code != 0 {
		t.Errorf("exit code after drain = %d, want 0", code)
	}
}

// What net/http logs itself, such as its accept loop's "too many open
// files" when the process is out of file descriptors, goes into the log in
// its format: with --log-format json, a line that is not JSON breaks the
// operator's log shipping. The process gets 64 descriptors, no connection
// cap, and more connections than that.
func TestProcessServerErrorsInLogFormat(t *testing.T) {
	bin := wfnBinary(t)
	sh, err := exec.LookPath("sh")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("sh is needed to lower the open-file limit: ", err)
		}
		t.Skip("skipping: sh is needed to lower the open-file limit: ", err)
	}
	cmd := exec.Command(sh, "-c", `ulimit -n 64 && exec "$0" "$@"`, bin, "serve", "--listen", "127.0.0.1:0",
		"--cache-dir", t.TempDir(), "--max-connections", "0", "--log-format", "json", watDir(t, "hello"))
	p := startCmd(t, cmd)
	addr := waitReady(t, p.stdout, p.exited, func() string { return fmt.Sprintf("%v; stderr:\n%s", p.err, p.stderr) })
	var conns []net.Conn
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	waitFor(t, "the server to run out of file descriptors", func() bool {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			conns = append(conns, c)
		}
		return strings.Contains(p.stderr.String(), "too many open files")
	})
	for _, c := range conns {
		c.Close()
	}
	conns = nil
	checkServing(t, addr)
	p.signal(t, syscall.SIGTERM)
	if code := p.exitCode(t); code != 0 {
		t.Errorf("exit code after SIGTERM = %d, want 0", code)
	}
	var accept bool
	for _, line := range strings.Split(strings.TrimSpace(p.stderr.String()), "\n") {
		var e struct{ Level, Msg string }
		if err := json.Unmarshal([]byte(line), &e); err != nil {
			t.Errorf("a log line is not JSON (%v): %q", err, line)
			continue
		}
		if strings.Contains(e.Msg, "too many open files") {
			accept = true
			if e.Level != "ERROR" {
				t.Errorf("net/http's line at %s, want ERROR: %q", e.Level, line)
			}
		}
	}
	if !accept {
		t.Errorf("no log line says the server is out of file descriptors:\n%s", p.stderr)
	}
}

func TestProcessSecondSignalExitsAtOnce(t *testing.T) {
	// A long grace: only the second signal can end the process in time.
	p, addr := serveProc(t, watDir(t, "hold"), "--shutdown-grace", "1h")
	h := hold(t, addr)
	p.signal(t, syscall.SIGTERM)
	waitListenerClosed(t, addr) // the first signal has been handled
	p.signal(t, syscall.SIGINT)
	if code := p.exitCode(t); code != 130 {
		t.Errorf("exit code after a second signal = %d, want 130", code)
	}
	// The held request was cut, not finished.
	if body, err := io.ReadAll(h.body); err == nil || string(body) == "done" {
		t.Errorf("held request = %q, %v; want it cut short", body, err)
	}
}

// A client that spoofs forwarding headers is believed only through
// --trust-proxy.
func TestServeTrustProxy(t *testing.T) {
	dir := watDir(t, "ctx")
	ip := func(args ...string) string {
		s := startServe(t, append([]string{"--listen", "127.0.0.1:0", "--cache-dir", t.TempDir(), "--region", "cdg1"}, append(args, dir)...)...)
		req, _ := http.NewRequest("GET", "http://"+s.addr+"/api/ctx", nil)
		req.Header.Set("X-Forwarded-For", "6.6.6.6")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if !strings.Contains(string(b), `"region":"cdg1"`) {
			t.Errorf("--region not in the geolocation: %s", b)
		}
		return strings.SplitN(string(b), "\n", 2)[0]
	}
	if got := ip(); got != "127.0.0.1" {
		t.Errorf("without --trust-proxy: ip = %q, want the peer", got)
	}
	if got := ip("--trust-proxy", "127.0.0.0/8"); got != "6.6.6.6" {
		t.Errorf("with --trust-proxy 127.0.0.0/8: ip = %q, want the forwarded client", got)
	}
	if got := ip("--trust-proxy", "10.0.0.1"); got != "127.0.0.1" {
		t.Errorf("trusting another proxy: ip = %q, want the peer", got)
	}
}

// wfn serve runs the crons of vercel.json unless --crons=false.
func TestServeCronsFlag(t *testing.T) {
	for _, tt := range []struct {
		flag, want string
	}{{"--crons=true", "cron jobs on"}, {"--crons=false", "cron jobs are off"}} {
		t.Run(tt.flag, func(t *testing.T) {
			dir := watDir(t, "hello")
			if err := os.WriteFile(filepath.Join(dir, "vercel.json"), []byte(`{"crons": [{"path": "/api/hello", "schedule": "0 0 1 1 *"}]}`), 0o644); err != nil {
				t.Fatal(err)
			}
			s := startServe(t, "--listen", "127.0.0.1:0", "--cache-dir", t.TempDir(), tt.flag, dir)
			if !strings.Contains(s.stderr.String(), tt.want) {
				t.Errorf("serve %s: log lacks %q:\n%s", tt.flag, tt.want, s.stderr)
			}
		})
	}
}

// wfn conformance takes a guest's source directory, as the README's Go
// and C conformance guests are, and builds it as wfn build would.
func TestConformanceSourceDir(t *testing.T) {
	requireGo(t)
	gocache, err := exec.Command("go", "env", "GOCACHE").Output()
	if err != nil {
		t.Fatalf("go env GOCACHE: %v", err)
	}
	t.Setenv("GOCACHE", strings.TrimSpace(string(gocache))) // kept when the user cache moves
	t.Setenv("XDG_CACHE_HOME", t.TempDir())                 // wfn conformance's own cache
	dir := filepath.Join("..", "testdata", "conformance", "go")
	out, errOut, err := run(t, "conformance", "--run", "empty", dir)
	if err != nil || !strings.Contains(out, "ok   empty") || !strings.Contains(out, "1 passed, 0 failed") {
		t.Fatalf("wfn conformance --run empty %s: %v\nstdout:\n%s\nstderr:\n%s", dir, err, out, errOut)
	}
	// A directory with no guest in it is named as such.
	if _, _, err := run(t, "conformance", t.TempDir()); err == nil || !strings.Contains(err.Error(), "no .go or .c files") {
		t.Errorf("wfn conformance on an empty directory: %v, want the error that it has no sources", err)
	}
	// Without --fluid the guest is a version 1 one: the fluid cases are
	// skipped, saying so; with it, the guest is built with the SDK's
	// wfn_fluid tag, and they run.
	out, errOut, err = run(t, "conformance", "--run", "fluid-concurrency", dir)
	if err != nil || !strings.Contains(out, "skip fluid-concurrency: the guest is an ABI version 1 guest") {
		t.Errorf("wfn conformance --run fluid-concurrency %s: %v\nstdout:\n%s\nstderr:\n%s", dir, err, out, errOut)
	}
	out, errOut, err = run(t, "conformance", "--fluid", "--run", "fluid-concurrency", "--run", "empty", dir)
	if err != nil || !strings.Contains(out, "ok   fluid-concurrency") || !strings.Contains(out, "2 passed, 0 failed") {
		t.Errorf("wfn conformance --fluid --run fluid-concurrency --run empty %s: %v\nstdout:\n%s\nstderr:\n%s", dir, err, out, errOut)
	}
	// --fluid is for a source directory only.
	if _, _, err := run(t, "conformance", "--fluid", filepath.Join("..", "testdata", "wat", "hello.wasm")); err == nil || !strings.Contains(err.Error(), "--fluid") {
		t.Errorf("wfn conformance --fluid hello.wasm: %v, want an error naming --fluid", err)
	}
}

// withoutRequests drops the access log's lines from a server's log, to be
// printed on a failure: a test polling a URL writes hundreds, and CI shows
// a failure's last lines.
func withoutRequests(log string) string {
	var b strings.Builder
	n := 0
	for _, line := range strings.SplitAfter(log, "\n") {
		if strings.Contains(line, " msg=request ") {
			n++
			continue
		}
		b.WriteString(line)
	}
	fmt.Fprintf(&b, "(and %d request lines)\n", n)
	return b.String()
}
