package host_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wfn-dev/wfn/host"
	"github.com/wfn-dev/wfn/internal/testkit"
)

// Every bad guest fails alone: a clear error naming it, and the rest served.

func TestLoadErrors(t *testing.T) {
	h, srv, logs := serve(t, host.Config{Dir: watDir(t, "hello", "notwasm", "nomarker", "nohandler", "badsig", "badimport")})
	want := map[string]string{
		"api/notwasm.wasm":   "not a WebAssembly module",
		"api/nomarker.wasm":  "missing export wfn_abi_v1",
		"api/nohandler.wasm": "no handler export",
		"api/badsig.wasm":    "export wfn_handle has signature (i32) -> (), want () -> ()",
		"api/badimport.wasm": "imports wfn.no_such_import, which this host does not provide",
	}
	for _, fn := range h.Functions() {
		reason, bad := want[fn.Source]
		switch {
		case !bad && fn.Err != nil:
			t.Errorf("%s: unexpected error %v", fn.Source, fn.Err)
		case bad && (fn.Err == nil || !strings.Contains(fn.Err.Error(), reason) || !strings.Contains(fn.Err.Error(), fn.Source)):
			t.Errorf("%s: err = %v, want it to name the file and say %q", fn.Source, fn.Err, reason)
		case bad && !strings.Contains(logs.String(), fn.Source):
			t.Errorf("%s: the log does not name it", fn.Source)
		}
		if bad {
			wantError(t, get(t, srv.URL+fn.Route), 500, host.CodeInvocationFailed)
		}
	}
	if r := get(t, srv.URL+"/api/hello"); r.status != 200 || r.body != "Hello from wfn!" {
		t.Errorf("hello next to bad guests = %d %q", r.status, r.body)
	}
}

func TestMissingDir(t *testing.T) {
	_, err := host.New(context.Background(), host.Config{Dir: t.TempDir() + "/nope"})
	if !errors.Is(err, host.ErrDir) {
		t.Fatalf("New(missing dir) = %v, want ErrDir", err)
	}
}

func TestTrapsAreIsolated(t *testing.T) {
	tests := []struct{ name, why string }{
		{"trap", "unreachable"},
		{"oob", "out of bounds memory access"},
		{"badptr", "response_body_write: out-of-bounds memory access"},
	}
	_, srv, logs := serve(t, host.Config{Dir: watDir(t, "hello", "trap", "oob", "badptr")})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for i := 0; i < 3; i++ { // every time: the broken instance is replaced
				r := get(t, srv.URL+"/api/"+tt.name)
				wantError(t, r, 500, host.CodeInvocationFailed)
				id := r.header.Get("X-Vercel-Id")
				eventually(t, "a log line with the request id", func() bool {
					for _, line := range strings.Split(logs.String(), "\n") {
						if strings.Contains(line, id) && strings.Contains(line, tt.why) {
							return true
						}
					}
					return false
				})
			}
			if r := get(t, srv.URL+"/api/hello"); r.status != 200 {
				t.Errorf("hello after %s = %d", tt.name, r.status)
			}
		})
	}
}

func TestGoGuestFaults(t *testing.T) {
	requireGo(t)
	_, srv, _ := serve(t, host.Config{Dir: "../testdata/guests"})
	// A warm instance keeps its state between invocations...
	for want := 1; want <= 3; want++ {
		if r := get(t, srv.URL+"/api/count"); r.body != itoa(want) {
			t.Fatalf("count = %q, want %d (instance reuse)", r.body, want)
		}
	}
	// ...until it panics: then it is discarded, never reused.
	wantError(t, get(t, srv.URL+"/api/count?panic=1"), 500, host.CodeInvocationFailed)
	if r := get(t, srv.URL+"/api/count"); r.body != "1" {
		t.Errorf("count after a panic = %q, want 1 from a fresh instance", r.body)
	}
	wantError(t, get(t, srv.URL+"/api/panic"), 500, host.CodeInvocationFailed)
	wantError(t, get(t, srv.URL+"/api/badptr"), 500, host.CodeInvocationFailed)
	if r := get(t, srv.URL+"/api/count"); r.body != "2" {
		t.Errorf("count after other functions failed = %q, want 2", r.body)
	}
}

func TestGoCompileError(t *testing.T) {
	requireGo(t)
	h, srv, _ := serve(t, host.Config{Dir: "../testdata/broken"})
	fns := h.Functions()
	if len(fns) != 1 || fns[0].Err == nil {
		t.Fatalf("Functions() = %v, want one failure", fns)
	}
	msg := fns[0].Err.Error()
	if !strings.Contains(msg, "api/broken") || !strings.Contains(msg, "main.go:") {
		t.Errorf("error %q should name the function and carry the compiler's message", msg)
	}
	wantError(t, get(t, srv.URL+"/api/broken"), 500, host.CodeInvocationFailed)
}

func TestInfiniteLoopStopsAtDeadline(t *testing.T) {
	_, srv, _ := serve(t, host.Config{Dir: watDir(t, "loop", "hello"), MaxDuration: 200 * time.Millisecond})
	for i := 0; i < 2; i++ {
		wantError(t, get(t, srv.URL+"/api/loop"), 504, host.CodeInvocationTimeout)
	}
	if r := get(t, srv.URL+"/api/hello"); r.status != 200 {
		t.Errorf("hello after timeouts = %d", r.status)
	}
}

func TestMemoryLimit(t *testing.T) {
	_, srv, _ := serve(t, host.Config{Dir: watDir(t, "grow"), MemoryLimitMB: 16})
	if r := get(t, srv.URL+"/api/grow"); r.body != "refused" {
		t.Errorf("growing 64 MiB under a 16 MB limit: %q, want refused", r.body)
	}
	_, srv, _ = serve(t, host.Config{Dir: watDir(t, "grow"), MemoryLimitMB: 128})
	if r := get(t, srv.URL+"/api/grow"); r.body != "grown" {
		t.Errorf("growing 64 MiB under a 128 MB limit: %q, want grown", r.body)
	}
}

func TestRouteConflict(t *testing.T) {
	dir := watDir(t, "hello")
	mustCopy(t, dir+"/api/hello.wasm", dir+"/api/index.wasm")
	mustCopy(t, dir+"/api/hello.wasm", dir+"/api/hello/index.wasm")
	h, srv, _ := serve(t, host.Config{Dir: dir})
	var conflicts int
	for _, fn := range h.Functions() {
		if fn.Route == "/api/hello" {
			if fn.Err == nil || !strings.Contains(fn.Err.Error(), "api/hello.wasm and api/hello/index.wasm") && !strings.Contains(fn.Err.Error(), "api/hello/index.wasm and api/hello.wasm") {
				t.Errorf("%s: err = %v, want one naming both sources", fn.Source, fn.Err)
			}
			conflicts++
		}
	}
	if conflicts != 2 {
		t.Errorf("%d functions on /api/hello, want 2", conflicts)
	}
	wantError(t, get(t, srv.URL+"/api/hello"), 500, host.CodeInvocationFailed)
	if r := get(t, srv.URL+"/api"); r.body != "Hello from wfn!" {
		t.Errorf("/api (index.wasm) = %q", r.body)
	}
}

// A version 2 guest whose poll_oneoff subscription count or fd_read iovec
// count makes a byte size past 4 GiB gets EFAULT, as for any range outside
// its memory: the host computes the sizes without wrapping around, and the
// instance serves on. (In 32 bits, 0x10000000 subscriptions of 48 bytes and
// 0x20000000 iovecs of 8 bytes were 0 bytes, and the host indexed past
// them: a Go runtime panic that ended the instance.)
func TestFluidEventSourceSizesPast4GiB(t *testing.T) {
	requireClang(t)
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "api", "sizes"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "api", "sizes", "sizes.c"), []byte(cFluidSizes), 0o644); err != nil {
		t.Fatal(err)
	}
	_, srv, _ := serve(t, host.Config{Dir: dir})
	for i := 0; i < 2; i++ { // the same instance answers again
		if r := get(t, srv.URL+"/api/sizes"); r.status != 200 || r.body != "poll=21 read=21" {
			t.Fatalf("sizes past 4 GiB = %d %q, want 200 \"poll=21 read=21\" (EFAULT)", r.status, r.body)
		}
	}
}

// cFluidSizes is a raw ABI v2 guest: each invocation calls poll_oneoff and
// fd_read(0) with counts whose byte sizes wrap around in 32 bits, and
// answers the two errnos.
const cFluidSizes = `#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <wasi/api.h>

#define V2(n) __attribute__((import_module("wfn_v2"), import_name(n)))
V2("response_body_write") int32_t body_write(uint32_t inv, const void *p, uint32_t n);
V2("invocation_end") int32_t invocation_end(uint32_t inv);

__attribute__((export_name("wfn_abi_v2"))) void abi_v2(void) {}

static void invoke(uint32_t inv) {
    __wasi_size_t n;
    int poll = __wasi_poll_oneoff((void *)16, (void *)16, 0x10000000u, &n);
    int read = __wasi_fd_read(0, (void *)16, 0x20000000u, &n);
    char msg[64];
    snprintf(msg, sizeof msg, "poll=%d read=%d", poll, read);
    body_write(inv, msg, strlen(msg));
    invocation_end(inv);
}

__attribute__((export_name("wfn_serve"))) void serve(void) {
    static uint32_t recs[64 * 4];
    for (;;) {
        __wasi_subscription_t sub;
        memset(&sub, 0, sizeof sub);
        sub.u.tag = __WASI_EVENTTYPE_FD_READ;
        __wasi_event_t ev;
        __wasi_size_t n;
        __wasi_poll_oneoff(&sub, &ev, 1, &n);
        __wasi_iovec_t iov = {(uint8_t *)recs, sizeof recs};
        if (__wasi_fd_read(0, &iov, 1, &n) != 0) continue;
        for (uint32_t i = 0; i < n / 16; i++) {
            if (recs[i * 4] == 1) invoke(recs[i * 4 + 1]);
            if (recs[i * 4] == 5) return;
        }
    }
}
`

// A guest's response header fields are bounded (abi.MaxResponseHeader, 32
// KiB): the header change past the bound gets ETOOLARGE without the host
// copying the value, and the response is a 500, under ABI versions 1 and
// 2 alike; below the bound every value is sent.
func TestResponseHeaderLimit(t *testing.T) {
	requireGo(t)
	for _, tc := range []struct{ name, dir, path, param string }{
		{"v1", "../testdata/guests", "/api/headers", "?big="},
		{"v2", "../testdata/fluidmethods", "/api/methods", "?op=headers&n="},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, srv, logs := serve(t, host.Config{Dir: tc.dir})
			r := get(t, srv.URL+tc.path+tc.param+"8")
			if r.status != 200 || r.body != "added 8" || len(r.header.Values("X-Big")) != 8 {
				t.Errorf("8 values of 1 KiB: %d %q, %d values of x-big", r.status, r.body, len(r.header.Values("X-Big")))
			}
			// A guest that would set 1 GiB of header values.
			r = get(t, srv.URL+tc.path+tc.param+"1048576")
			wantError(t, r, 500, host.CodeResponsePayloadTooLarge)
			if len(r.header.Values("X-Big")) != 0 || !strings.Contains(r.body, "header fields") {
				t.Errorf("past the limit: %d values of x-big sent, body %q", len(r.header.Values("X-Big")), r.body)
			}
			testkit.Eventually(t, 10*time.Second, "the failure logged with its reason", func() bool {
				return strings.Contains(logs.String(), "header fields are larger than the limit of 32 KiB")
			})
			// The instance serves on.
			if r := get(t, srv.URL+tc.path+tc.param+"1"); r.status != 200 || r.body != "added 1" {
				t.Errorf("after: %d %q", r.status, r.body)
			}
		})
	}
}
