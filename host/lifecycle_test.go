package host_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wfn-dev/wfn/host"
)

// logHas reports whether a log line holds every one of parts.
func logHas(logs *syncBuffer, parts ...string) bool {
	for _, line := range strings.Split(logs.String(), "\n") {
		ok := true
		for _, p := range parts {
			ok = ok && strings.Contains(line, p)
		}
		if ok {
			return true
		}
	}
	return false
}

func writeConfig(t *testing.T, dir, name, json string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, name), []byte(json), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestWaitUntilTasksRunAfterTheResponse(t *testing.T) {
	_, srv, logs := serve(t, host.Config{Dir: watDir(t, "tasks", "hello")})
	r := get(t, srv.URL+"/api/tasks")
	if r.status != 200 || r.body != "scheduled" {
		t.Fatalf("tasks = %d %q", r.status, r.body)
	}
	id := r.header.Get("X-Vercel-Id")
	eventually(t, "both tasks to log, in order", func() bool {
		out := logs.String()
		i, j := strings.Index(out, `msg="task 7"`), strings.Index(out, `msg="task 8"`)
		return i >= 0 && j > i && logHas(logs, "task 8", id)
	})
	// A task that traps is logged; the response had already gone out whole.
	r = get(t, srv.URL+"/api/tasks?trap")
	if r.status != 200 || r.body != "scheduled" {
		t.Fatalf("tasks?trap = %d %q", r.status, r.body)
	}
	id = r.header.Get("X-Vercel-Id")
	eventually(t, "the failed task in the log", func() bool {
		return logHas(logs, "waitUntil task failed", id, "task=9")
	})
	if r := get(t, srv.URL+"/api/tasks"); r.body != "scheduled" {
		t.Errorf("after a trapped task: %q", r.body)
	}
}

func TestWaitUntilNeedsRunTask(t *testing.T) {
	h, _, _ := serve(t, host.Config{Dir: watDir(t, "noruntask")})
	if err := h.Functions()[0].Err; err == nil || !strings.Contains(err.Error(), "does not export wfn_run_task") {
		t.Errorf("load error = %v", err)
	}
}

func TestResponseCloseEndsTheResponseEarly(t *testing.T) {
	_, srv, logs := serve(t, host.Config{Dir: watDir(t, "close"), MaxDuration: time.Second})
	// The guest spins after response_close until its deadline. Had the
	// response waited for the handler, the deadline would cut it and
	// reading it would fail.
	r := get(t, srv.URL+"/api/close")
	if r.status != 200 || r.body != "closed early" || r.header.Get("Content-Length") != "12" {
		t.Fatalf("close = %d %q %v", r.status, r.body, r.header)
	}
	eventually(t, "the spinning handler to be stopped at its deadline", func() bool {
		return logHas(logs, "invocation timed out", r.header.Get("X-Vercel-Id"))
	})
}

func TestCancellationOptIn(t *testing.T) {
	dir := watDir(t, "abortable", "stubborn")
	writeConfig(t, dir, "vercel.json", `{"functions": {"api/*.wasm": {"supportsCancellation": true}}}`)
	_, srv, logs := serve(t, host.Config{Dir: dir, MaxDuration: time.Minute})

	// A client that leaves: the guest sees abort_signaled, returns, and
	// its waitUntil task (the cleanup) still runs.
	id := leave(t, srv.URL+"/api/abortable")
	eventually(t, "the guest to see the abort and its cleanup to run", func() bool {
		return logHas(logs, "msg=aborted", id) && logHas(logs, `msg=cleanup`, id)
	})

	// A guest that ignores the abort is stopped after the grace, long
	// before its maxDuration.
	id = leave(t, srv.URL+"/api/stubborn")
	eventually(t, "the stubborn guest to be stopped", func() bool {
		return logHas(logs, "client disconnected; invocation stopped", id)
	})
}

func TestNoCancellationWithoutOptIn(t *testing.T) {
	_, srv, logs := serve(t, host.Config{Dir: watDir(t, "stubborn"), MaxDuration: 2 * time.Second})
	id := leave(t, srv.URL+"/api/stubborn")
	// Without supportsCancellation the function runs on after the client
	// left, until its own end: here, its deadline.
	eventually(t, "the function to run to its deadline", func() bool {
		return logHas(logs, "invocation timed out", id)
	})
	if logHas(logs, "client disconnected", id) {
		t.Error("the invocation was stopped by the disconnect")
	}
}

// leave starts a GET, waits for the response head, and disconnects. It
// returns the request id.
func leave(t *testing.T, url string) string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, "GET", url, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	id := resp.Header.Get("X-Vercel-Id")
	cancel()
	resp.Body.Close()
	return id
}

func TestCloseAbortsAndCallsSigterm(t *testing.T) {
	dir := watDir(t, "abortable")
	logs := &syncBuffer{}
	h, srv, _ := serve(t, host.Config{Dir: dir, Logger: newLogger(logs)})
	// One idle instance, for wfn_on_sigterm...
	release := hold2(t, srv.URL+"/api/abortable")
	// ...and one busy: Close with a short grace aborts it.
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	err := h.Close(ctx)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Close = %v, want the grace's deadline", err)
	}
	release()
	if !logHas(logs, "msg=aborted") {
		t.Error("the in-flight invocation was not aborted")
	}
	if !logHas(logs, `msg=sigterm`) {
		t.Errorf("wfn_on_sigterm was not called:\n%s", logs)
	}
	if err := h.Close(context.Background()); !errors.Is(err, host.ErrClosed) {
		t.Errorf("second Close = %v, want ErrClosed", err)
	}
}

// A Close whose deadline passes while the functions' loads stop (a
// compilation runs to its end), with no invocation in flight, returns
// nil: nothing was cut. It returned the deadline's error one time in two
// (a select between the drain, done, and the deadline, both ready), and
// wfn serve, stopped during its start, then said "in-flight invocations
// did not finish within 30s" and exited 1 with none in flight.
func TestCloseDuringLoadNothingInFlight(t *testing.T) {
	for i := range 8 {
		gate := make(chan struct{})
		h, _, _, err := newHost(host.WithLoadGate(host.Config{Dir: watDir(t, "hello"), LoadInBackground: true}, func(string) { <-gate }))
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
		closed := make(chan error, 1)
		go func() { closed <- h.Close(ctx) }()
		<-ctx.Done() // the grace is over while the load holds Close
		close(gate)
		select {
		case err := <-closed:
			if err != nil {
				t.Fatalf("Close %d with nothing in flight = %v, want nil", i, err)
			}
		case <-time.After(time.Minute):
			t.Fatal("Close did not return once the load ended")
		}
		cancel()
	}
}

// hold2 makes one instance idle (a first request that ends) and then
// starts a second request whose head arrives: that instance stays busy.
func hold2(t *testing.T, url string) (release func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, "GET", url, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	return func() { cancel(); resp.Body.Close() }
}

func TestLimits(t *testing.T) {
	_, srv, _ := serve(t, host.Config{Dir: watDir(t, "hold", "drain", "big", "bigflush", "status", "hello")})
	big := bytes.Repeat([]byte("x"), 4_600_000)

	t.Run("request body over 4.5 MB, with a length", func(t *testing.T) {
		wantError(t, do(t, "POST", srv.URL+"/api/hello", bytes.NewReader(big)), 413, host.CodePayloadTooLarge)
	})
	t.Run("request body over 4.5 MB, streamed", func(t *testing.T) {
		// No Content-Length: the host counts while the guest reads.
		r := doStreamed(t, srv.URL+"/api/drain", bytes.NewReader(big))
		if r.err != nil || r.status != 413 {
			t.Errorf("streamed oversize body: %d %q %v, want 413", r.status, r.body, r.err)
		}
	})
	t.Run("request body under the limit, streamed", func(t *testing.T) {
		if r := doStreamedOK(t, srv.URL+"/api/drain", bytes.NewReader(big[:4_400_000])); r != "drained" {
			t.Errorf("4.4 MB body: %q", r)
		}
	})
	t.Run("request body over the limit after the head was sent", func(t *testing.T) {
		// hold flushes its head before it reads: the host can only cut.
		r := doStreamed(t, srv.URL+"/api/hold", bytes.NewReader(big))
		if r.err == nil {
			t.Errorf("got a clean %d %q, want a cut response", r.status, r.body)
		}
	})
	t.Run("one header over 16 KB", func(t *testing.T) {
		wantError(t, do(t, "GET", srv.URL+"/api/hello", nil, "X-Big", strings.Repeat("a", 17<<10)), 431, host.CodeHeaderTooLarge)
	})
	t.Run("headers over 32 KB together", func(t *testing.T) {
		hs := []string{}
		for i := 0; i < 3; i++ {
			hs = append(hs, "X-Big-"+string(rune('a'+i)), strings.Repeat("a", 12<<10))
		}
		wantError(t, do(t, "GET", srv.URL+"/api/hello", nil, hs...), 431, host.CodeHeaderTooLarge)
	})
	t.Run("many small headers over 32 KB together", func(t *testing.T) {
		hs := []string{}
		for i := 0; i < 2000; i++ {
			hs = append(hs, "X-H"+itoa(i), "0123456789")
		}
		wantError(t, do(t, "GET", srv.URL+"/api/hello", nil, hs...), 431, host.CodeHeaderTooLarge)
	})
	t.Run("headers past the server's limit get 431, not a reset", func(t *testing.T) {
		// net/http answers a plain 431 itself past MaxHeaderBytes (1 MB
		// and its slack, as wfn serve sets it).
		for _, n := range []int{2 << 20, 8 << 20} {
			if r := do(t, "GET", srv.URL+"/api/hello", nil, "X-Big", strings.Repeat("a", n)); r.status != 431 {
				t.Errorf("%d bytes of header: %d %q, want 431", n, r.status, r.body)
			}
		}
	})
	t.Run("URL over 14 KB", func(t *testing.T) {
		long := "/api/hello?q=" + strings.Repeat("a", 14<<10)
		wantError(t, get(t, srv.URL+long), 414, host.CodeURLTooLong)
		if r := get(t, srv.URL+long[:14<<10]); r.status != 200 {
			t.Errorf("a URL of 14 KB: %d %q, want 200", r.status, r.body)
		}
	})
	t.Run("buffered response over 4.5 MB", func(t *testing.T) {
		wantError(t, get(t, srv.URL+"/api/big"), 500, host.CodeResponsePayloadTooLarge)
	})
	t.Run("streamed response over 4.5 MB", func(t *testing.T) {
		if r := get(t, srv.URL+"/api/bigflush"); r.status != 200 || len(r.body) != 80<<16 {
			t.Errorf("bigflush = %d, %d bytes", r.status, len(r.body))
		}
	})
	t.Run("informational final status", func(t *testing.T) {
		wantError(t, get(t, srv.URL+"/api/status"), 502, host.CodeNoResponse)
	})
}

type streamed struct {
	status int
	body   string
	err    error
}

// doStreamed POSTs body without a Content-Length.
func doStreamed(t *testing.T, url string, body io.Reader) streamed {
	t.Helper()
	req, err := http.NewRequest("POST", url, io.NopCloser(body))
	if err != nil {
		t.Fatal(err)
	}
	req.ContentLength = -1
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return streamed{err: err}
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return streamed{resp.StatusCode, string(b), err}
}

func doStreamedOK(t *testing.T, url string, body io.Reader) string {
	t.Helper()
	r := doStreamed(t, url, body)
	if r.err != nil || r.status != 200 {
		t.Fatalf("POST %s: %d %v", url, r.status, r.err)
	}
	return r.body
}

func TestConfigErrorsFailNew(t *testing.T) {
	dir := watDir(t, "hello")
	writeConfig(t, dir, "vercel.json", `{"functions": {"api/hello.wasm": {"maxDuration": "forever"}}}`)
	_, err := host.New(context.Background(), host.Config{Dir: dir, Logger: newLogger(&syncBuffer{})})
	if !errors.Is(err, host.ErrConfig) || !strings.Contains(err.Error(), `"api/hello.wasm": maxDuration`) {
		t.Errorf("New = %v, want ErrConfig naming the key and property", err)
	}
}

// Every property of Vercel's schema is accepted; those without effect
// are named in one log line. A property in no schema stops New.
func TestVercelPropertiesAccepted(t *testing.T) {
	dir := watDir(t, "hello")
	writeConfig(t, dir, "vercel.json", `{"$schema": "https://example.test/vercel.json", "framework": null, "regions": ["iad1"],
		"images": {"sizes": [640]}, "git": {"deploymentEnabled": false},
		"functions": {"api/hello.wasm": {"affinity": {"mode": "strict"}, "includeFiles": "x/**"}}}`)
	logs := &syncBuffer{}
	h, err := host.New(t.Context(), host.Config{Dir: dir, Logger: newLogger(logs)})
	if err != nil {
		t.Fatalf("New = %v, want Vercel's properties accepted", err)
	}
	h.Close(context.Background())
	var lines []string
	for _, l := range strings.Split(logs.String(), "\n") {
		if strings.Contains(l, "no effect in wfn") {
			lines = append(lines, l)
		}
	}
	if len(lines) != 1 {
		t.Fatalf("want one log line naming the properties without effect, got %q", lines)
	}
	for _, p := range []string{"framework", "regions", "images", "git", "functions.api/hello.wasm.affinity", "functions.api/hello.wasm.includeFiles"} {
		if !strings.Contains(lines[0], p) {
			t.Errorf("the line %q does not name %s", lines[0], p)
		}
	}
	// $schema, which Vercel's docs recommend, is accepted silently.
	if strings.Contains(lines[0], "$schema") {
		t.Errorf("the line %q names $schema, which configures nothing", lines[0])
	}
	writeConfig(t, dir, "vercel.json", `{"cleanUrl": true}`)
	if _, err := host.New(t.Context(), host.Config{Dir: dir, Logger: newLogger(logs)}); !errors.Is(err, host.ErrConfig) || !strings.Contains(err.Error(), `"cleanUrl"`) {
		t.Errorf("New with a typo = %v, want ErrConfig naming it", err)
	}
	// The message says what is wrong once: "wfn: invalid configuration",
	// the file, the key and the property.
	for config, want := range map[string]string{
		`{"functions": {"api/hello.wasm": {"memory": 1}}}`:     `wfn: invalid configuration: vercel.json: functions: "api/hello.wasm": memory: want an integer from 128 to 10240, got 1 (MB)`,
		`{"redirects": [{"source": "(", "destination": "/"}]}`: `wfn: invalid configuration: vercel.json: redirects[0]: source "("`,
	} {
		writeConfig(t, dir, "vercel.json", config)
		_, err := host.New(t.Context(), host.Config{Dir: dir, Logger: newLogger(logs)})
		if !errors.Is(err, host.ErrConfig) || !strings.HasPrefix(err.Error(), want) || strings.Count(err.Error(), "invalid") != 1 {
			t.Errorf("New with %s = %v, want ErrConfig, a message starting %q that says invalid once", config, err, want)
		}
	}
}

func TestPerFunctionSettings(t *testing.T) {
	dir := watDir(t, "loop", "grow", "hello")
	writeConfig(t, dir, "vercel.json", `{"functions": {
		"api/loop.wasm": {"maxDuration": 1},
		"api/grow.wasm": {"memory": 128}
	}}`)
	writeConfig(t, dir, "wfn.json", `{"functions": {"api/grow.*": {"memory": 160}}}`)
	// The host's own defaults would let both run: 1 hour, 16 MB.
	_, srv, _ := serve(t, host.Config{Dir: dir, MaxDuration: time.Hour, MemoryLimitMB: 16})
	wantError(t, get(t, srv.URL+"/api/loop"), 504, host.CodeInvocationTimeout)
	if r := get(t, srv.URL+"/api/grow"); r.body != "grown" {
		t.Errorf("grow with memory 160 from wfn.json: %q, want grown", r.body)
	}
}

func TestDeadlineEndsABlockedBodyRead(t *testing.T) {
	_, srv, logs := serve(t, host.Config{Dir: watDir(t, "hold"), MaxDuration: 300 * time.Millisecond})
	pr, pw := io.Pipe()
	defer pw.Close()
	req, _ := http.NewRequest("POST", srv.URL+"/api/hold", pr)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	// The guest waits for body bytes that never come; its deadline must
	// still end it, and the response it had started is cut.
	read := make(chan error, 1)
	go func() {
		_, err := io.ReadAll(resp.Body)
		read <- err
	}()
	select {
	case err := <-read:
		if err == nil {
			t.Error("the response ended cleanly; want it cut at the deadline")
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the guest blocked in request_body_read outlived its deadline")
	}
	eventually(t, "the timeout in the log", func() bool {
		return logHas(logs, "invocation timed out", resp.Header.Get("X-Vercel-Id"))
	})
}
