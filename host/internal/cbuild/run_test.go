package cbuild

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wfn-dev/wfn/host/internal/engine"
	"github.com/wfn-dev/wfn/host/internal/hostcall"
	"github.com/wfn-dev/wfn/host/internal/wazeroengine"
)

// guest is a built C module on the host's real engine, one instance, called
// as the host calls it: the handler, then the tasks, then Finish.
type guest struct {
	t      *testing.T
	inst   engine.Instance
	inv    hostcall.Invocation
	stderr bytes.Buffer
}

func runGuest(t *testing.T, b *Builder, name, dir string) *guest {
	t.Helper()
	ctx := context.Background()
	wasm, _, err := b.Build(ctx, name, dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(wasm)
	if err != nil {
		t.Fatal(err)
	}
	eng, err := wazeroengine.New(ctx, wazeroengine.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { eng.Close(ctx) })
	m, err := eng.Compile(ctx, name, data)
	if err != nil {
		t.Fatal(err)
	}
	g := &guest{t: t}
	g.inst, err = m.Instantiate(ctx, engine.InstanceConfig{Stderr: &g.stderr})
	if err != nil {
		t.Fatal(err)
	}
	return g
}

func (g *guest) do(export string, r *http.Request, params ...hostcall.Param) *httptest.ResponseRecorder {
	g.t.Helper()
	ctx := context.Background()
	w := httptest.NewRecorder()
	g.inv.Reset("test-id", "api/test", w, r, params, time.Now().Add(time.Minute))
	if err := g.inst.Call(ctx, export, &g.inv); err != nil {
		g.t.Fatalf("%s: %v", export, err)
	}
	for {
		task, ok := g.inv.NextTask()
		if !ok {
			break
		}
		if err := g.inst.RunTask(ctx, task, &g.inv); err != nil {
			g.t.Fatalf("task %d: %v", task, err)
		}
	}
	if !g.inv.Finish() {
		g.t.Fatalf("failure %v", g.inv.Failure)
	}
	g.inv.Release()
	return w
}

func TestRunHello(t *testing.T) {
	g := runGuest(t, builder(t), "api/hello", filepath.Join(root, "guests/c/api/hello"))
	for range 3 { // the instance is reused
		w := g.do("wfn_handle", httptest.NewRequest("GET", "/api/hello", nil))
		if w.Code != 200 || w.Body.String() != "Hello from C!" || w.Header().Get("Content-Type") != "text/plain; charset=utf-8" {
			t.Fatalf("got %d %q %v", w.Code, w.Body, w.Header())
		}
	}
}

func TestRunParams(t *testing.T) {
	g := runGuest(t, builder(t), "api/[name]", filepath.Join(root, "testdata/c/params"))
	long := strings.Repeat("é", 400) // past the SDK's 256-byte first try
	for _, name := range []string{"ada", "Ada L", long, ""} {
		w := g.do("wfn_handle", httptest.NewRequest("GET", "/api/x", nil), hostcall.Param{Name: "name", Value: name})
		if w.Body.String() != "param name="+name || w.Header().Get("x-c") != "yes" {
			t.Fatalf("name %q: got %q %v", name, w.Body, w.Header())
		}
	}
	w := g.do("wfn_handle", httptest.NewRequest("GET", "/api/x", nil))
	if w.Body.String() != "param name=" {
		t.Errorf("no param: got %q", w.Body)
	}
}

func TestRunEcho(t *testing.T) {
	g := runGuest(t, builder(t), "api/echo", filepath.Join(root, "guests/c/api/echo"))
	body := bytes.Repeat([]byte("0123456789abcdef"), 10000) // 160 KB: several chunks
	r := httptest.NewRequest("POST", "/api/echo", bytes.NewReader(body))
	r.Header.Set("Content-Type", "application/x-test")
	w := g.do("wfn_handle", r)
	if !bytes.Equal(w.Body.Bytes(), body) {
		t.Fatalf("echoed %d bytes, want %d", w.Body.Len(), len(body))
	}
	if ct := w.Header().Get("Content-Type"); ct != "application/x-test" {
		t.Errorf("Content-Type = %q", ct)
	}
	if w.Header().Get("Content-Length") != "" {
		t.Error("response not streamed (has Content-Length)")
	}
	// Without a Content-Type the host sniffs one; empty body.
	w = g.do("wfn_handle", httptest.NewRequest("POST", "/api/echo", nil))
	if w.Code != 200 || w.Body.Len() != 0 {
		t.Errorf("empty: got %d %q", w.Code, w.Body)
	}
}

// TestRunSDK drives most helpers of wfn.h through the real host functions.
func TestRunSDK(t *testing.T) {
	dir := t.TempDir()
	src := `#define WFN_TASKS
#include "wfn.h"

static int runs;
static void task(void *arg) { fprintf(stderr, "task %s %d\n", (const char *)arg, ++runs); }
static void chain(void *arg) { (void)arg; wfn_after(task, "chained"); }

WFN_METHOD(GET) {
    char small[4], buf[64];
    char *s;
    int32_t n;
    wfn_set_status(201);
    wfn_set_header("x-one", "1");
    wfn_add_header("x-many", "a");
    wfn_add_header("x-many", "b");
    wfn_set_header("x-gone", "1");
    wfn_del_header("x-gone");
    if (wfn_set_header("bad name", "v") != WFN_EINVAL) wfn_write_str("no EINVAL\n");
    n = wfn_method(small, 3); /* too small: "" and the length */
    wfn_writef("method %d %s\n", n, small);
    n = wfn_method(buf, sizeof buf);
    wfn_writef("method %d %s\n", n, buf);
    n = wfn_url_alloc(&s);
    wfn_writef("url %d %s\n", n, s);
    free(s);
    n = wfn_header("x-multi", small, 2);
    wfn_writef("header small %d [%s]\n", n, small);
    n = wfn_header("X-Multi", buf, sizeof buf);
    wfn_writef("header %d %s\n", n, buf);
    n = wfn_header_alloc("x-multi", &s);
    wfn_writef("header alloc %d %s\n", n, s);
    free(s);
    n = wfn_header_values_alloc("x-multi", &s);
    wfn_writef("values %d", n);
    for (const char *p = s; p < s + n; p += strlen(p) + 1) wfn_writef(" [%s]", p);
    wfn_write_str("\n");
    free(s);
    n = wfn_header("x-none", buf, sizeof buf);
    wfn_writef("missing %d %s\n", n, wfn_strerror(n));
    n = wfn_header_names_alloc(&s);
    wfn_writef("names has host %d\n", n > 0 && memmem(s, (size_t)n, "host\0", 5) != NULL);
    free(s);
    n = wfn_param("p", buf, sizeof buf);
    wfn_writef("param %d %s\n", n, buf);
    n = wfn_body_alloc(&s);
    wfn_writef("body %d %s\n", n, s);
    free(s);
    wfn_writef("aborted %d deadline>0 %d\n", wfn_aborted(), wfn_deadline_ms() > 0);
    wfn_after(task, "first");
    wfn_after(chain, NULL);
    wfn_close();
    wfn_writef("late write %s\n", wfn_strerror(wfn_write_str("x")));
    if (wfn_set_status(500) != WFN_ECLOSED) fputs("set_status after close\n", stderr);
}
`
	if err := os.WriteFile(filepath.Join(dir, "sdk.c"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	g := runGuest(t, builder(t), "api/sdk", dir)
	r := httptest.NewRequest("GET", "http://example.com/api/sdk?q=1", strings.NewReader("the body"))
	r.Header.Add("X-Multi", "first")
	r.Header.Add("X-Multi", "second")
	w := g.do("GET", r, hostcall.Param{Name: "p", Value: "pv"})
	want := `method 3 
method 3 GET
url 30 http://example.com/api/sdk?q=1
header small 13 []
header 5 first
header alloc 5 first
values 13 [first] [second]
missing -1 ENOTFOUND
names has host 1
param 2 pv
body 8 the body
aborted 0 deadline>0 1
`
	if w.Code != 201 || w.Body.String() != want {
		t.Errorf("got %d\n%s\nwant\n%s", w.Code, w.Body, want)
	}
	if w.Header().Get("x-one") != "1" || strings.Join(w.Header().Values("x-many"), ",") != "a,b" || w.Header().Get("x-gone") != "" {
		t.Errorf("headers %v", w.Header())
	}
	if got := g.stderr.String(); got != "task first 1\ntask chained 2\n" {
		t.Errorf("stderr %q", got)
	}
}
