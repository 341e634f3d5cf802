package host_test

import (
	"bytes"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/wfn-dev/wfn/host"
	"github.com/wfn-dev/wfn/internal/testkit"
)

// requireClang skips a test that builds C guests when the toolchain is
// missing, except under CI=true, where it fails.
func requireClang(t testing.TB) {
	t.Helper()
	if _, err := exec.LookPath("clang"); err != nil {
		msg := "the C guests need clang: apt-get install clang lld wasi-libc libclang-rt-dev-wasm32"
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip("skipping: " + msg)
	}
}

func TestCGuests(t *testing.T) {
	requireClang(t)
	h, srv, _ := serve(t, host.Config{Dir: "../guests/c"})
	for _, fn := range h.Functions() {
		if fn.Err != nil {
			t.Fatalf("%s: %v", fn.Source, fn.Err)
		}
	}
	if r := get(t, srv.URL+"/api/hello"); r.status != 200 || r.body != "Hello from C!" {
		t.Errorf("C hello = %d %q", r.status, r.body)
	}
	body := bytes.Repeat([]byte("0123456789"), 100_000)
	r := do(t, "POST", srv.URL+"/api/echo", bytes.NewReader(body), "Content-Type", "application/x-c")
	if r.body != string(body) || r.header.Get("Content-Type") != "application/x-c" {
		t.Errorf("C echo returned %d bytes (%s), want the %d sent", len(r.body), r.header.Get("Content-Type"), len(body))
	}

	// A C function with a route param, and one that does not compile.
	dir := watDir(t)
	mustCopy(t, "../testdata/c/params/params.c", filepath.Join(dir, "api", "[name]", "params.c"))
	os.MkdirAll(filepath.Join(dir, "api", "getonly"), 0o755)
	os.WriteFile(filepath.Join(dir, "api", "getonly", "get.c"), []byte("#include \"wfn.h\"\n\nWFN_METHOD(GET) {\n    wfn_set_header(\"x-c\", \"get\");\n    wfn_write_str(\"only GET\");\n}\n"), 0o644)
	os.MkdirAll(filepath.Join(dir, "api", "tmp"), 0o755)
	os.WriteFile(filepath.Join(dir, "api", "tmp", "tmp.c"), []byte(cTmp), 0o644)
	os.MkdirAll(filepath.Join(dir, "api", "broken"), 0o755)
	os.WriteFile(filepath.Join(dir, "api", "broken", "broken.c"), []byte("int f(void) { return x; }\n"), 0o644)
	h, srv, _ = serve(t, host.Config{Dir: dir})
	if r := get(t, srv.URL+"/api/Grace"); r.body != "param name=Grace" || r.header.Get("X-C") != "yes" {
		t.Errorf("C params = %q %v", r.body, r.header)
	}
	// A writable /tmp, as for every guest.
	if r := get(t, srv.URL+"/api/tmp"); r.body != "from C via /tmp" {
		t.Errorf("C /tmp = %d %q", r.status, r.body)
	}
	// HEAD is answered from GET (RFC 9110 section 9.1): its headers, no body.
	if r := do(t, "HEAD", srv.URL+"/api/getonly", nil); r.status != 200 || r.body != "" || r.header.Get("X-C") != "get" || r.header.Get("Content-Length") != "8" {
		t.Errorf("HEAD of a GET-only C function = %d %q %v", r.status, r.body, r.header)
	}
	if r := do(t, "POST", srv.URL+"/api/getonly", nil); r.status != 405 || r.header.Get("Allow") != "GET, HEAD" {
		t.Errorf("POST of a GET-only C function = %d, Allow %q; want 405, GET, HEAD", r.status, r.header.Get("Allow"))
	}
	for _, fn := range h.Functions() {
		if fn.Source == "api/broken" && (fn.Err == nil || !strings.Contains(fn.Err.Error(), "api/broken") || !strings.Contains(fn.Err.Error(), "broken.c:1")) {
			t.Errorf("broken C function: %v, want the compiler's message naming it", fn.Err)
		}
	}
}

// cTmp writes a file in /tmp and reads it back.
const cTmp = `#include <stdio.h>
#include "wfn.h"

WFN_HANDLER(wfn_handle) {
    char buf[64] = {0};
    FILE *f = fopen("/tmp/c.txt", "w");
    if (!f) {
        wfn_write_str("cannot create /tmp/c.txt");
        return;
    }
    fputs("from C via /tmp", f);
    fclose(f);
    f = fopen("/tmp/c.txt", "r");
    if (!f) {
        wfn_write_str("cannot open /tmp/c.txt");
        return;
    }
    fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    wfn_write_str(buf);
}
`

// A functions key that names a C function's files, as one names a Go
// package's ("api/env/**", "api/env/*.c"), selects that function, as
// the directory's own path does.
func TestCFunctionSettingsByFile(t *testing.T) {
	requireClang(t)
	dir := t.TempDir()
	for _, name := range []string{"glob", "ext"} {
		os.MkdirAll(filepath.Join(dir, "api", name), 0o755)
		os.WriteFile(filepath.Join(dir, "api", name, "env.c"), []byte(cEnv), 0o644)
	}
	writeConfig(t, dir, "wfn.json", `{"functions": {
		"api/glob/**": {"env": {"WHO": "glob"}},
		"api/ext/*.c": {"env": {"WHO": "ext"}}
	}}`)
	_, srv, _ := serve(t, host.Config{Dir: dir})
	for _, name := range []string{"glob", "ext"} {
		if r := get(t, srv.URL+"/api/"+name); r.body != "WHO="+name {
			t.Errorf("/api/%s = %d %q, want WHO=%s", name, r.status, r.body, name)
		}
	}
}

// cEnv answers its variable WHO.
const cEnv = `#include <stdlib.h>
#include "wfn.h"

WFN_HANDLER(wfn_handle) {
    const char *who = getenv("WHO");
    wfn_writef("WHO=%s", who ? who : "");
}
`

// serveHowC serves the C function src at api/[how]/name: /api/X calls it
// with the route param how=X.
func serveHowC(t *testing.T, name, src string) (*httptest.Server, *syncBuffer) {
	t.Helper()
	requireClang(t)
	dir := watDir(t)
	testkit.WriteFiles(t, dir, map[string]string{"api/[how]/" + name: src})
	_, srv, logs := serve(t, host.Config{Dir: dir})
	return srv, logs
}

// cFinalStatus sets the status its route param names ("flush-103",
// "close-700") and flushes or closes, logging the result to stderr.
const cFinalStatus = `#include "wfn.h"

WFN_HANDLER(wfn_handle) {
    char how[32];
    wfn_param("how", how, sizeof how);
    wfn_set_status(atoi(strchr(how, '-') + 1));
    int32_t r = how[0] == 'f' ? wfn_flush() : wfn_close();
    fprintf(stderr, "final-status %s %d\n", how, (int)r);
    fflush(stderr);
}
`

// A flush or close that would end the response with a status outside
// 200..599 returns EINVAL, and the client gets 502
// NO_RESPONSE_FROM_FUNCTION (abi/SPEC.md sections 3 and 5).
func TestFinalStatusEINVAL(t *testing.T) {
	srv, logs := serveHowC(t, "final.c", cFinalStatus)
	for _, how := range []string{"flush-103", "close-103", "flush-700", "close-700"} {
		t.Run(how, func(t *testing.T) {
			wantError(t, get(t, srv.URL+"/api/"+how), 502, host.CodeNoResponse)
			eventually(t, "the guest's log line", func() bool {
				return strings.Contains(logs.String(), "final-status "+how+" -2")
			})
		})
	}
}

// cNoBody sets the status its route param names, flushes when the param
// ends in "f", and writes a body, logging the write's result to stderr.
const cNoBody = `#include "wfn.h"

WFN_HANDLER(wfn_handle) {
    char how[32];
    wfn_param("how", how, sizeof how);
    wfn_set_status(atoi(how));
    if (how[strlen(how) - 1] == 'f') wfn_flush();
    int32_t w = wfn_write_str("body");
    int32_t f = wfn_flush();
    fprintf(stderr, "no-body %s write=%d flush=%d\n", how, (int)w, (int)f);
    fflush(stderr);
}
`

// A body written for a 204 or 304, which have none (RFC 9110, sections
// 15.3.5 and 15.4.5), is dropped, streamed or not, and the write succeeds,
// as Node drops the writes of such a response on Vercel; it is not EIO,
// which says that the client went away.
func TestNoBodyStatusWrite(t *testing.T) {
	srv, logs := serveHowC(t, "nobody.c", cNoBody)
	for _, how := range []string{"204", "204f", "304", "304f"} {
		t.Run(how, func(t *testing.T) {
			r := get(t, srv.URL+"/api/"+how)
			if want := atoi(t, how[:3]); r.status != want || r.body != "" {
				t.Errorf("response %d %q, want %d and no body", r.status, r.body, want)
			}
			eventually(t, "the guest's log line", func() bool {
				return strings.Contains(logs.String(), "no-body "+how+" write=4 flush=0")
			})
		})
	}
}

func atoi(t testing.TB, s string) int {
	t.Helper()
	n, err := strconv.Atoi(s)
	if err != nil {
		t.Fatal(err)
	}
	return n
}
