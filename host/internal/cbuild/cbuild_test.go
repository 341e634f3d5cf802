package cbuild

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/wfn-dev/wfn/host/internal/buildcache/buildcachetest"
	"github.com/wfn-dev/wfn/host/internal/wazeroengine"
)

const root = "../../.."

// builder returns a Builder with a fresh cache, skipping the test when
// clang for wasm32-wasi is missing (failing instead when CI=true).
func builder(t *testing.T) *Builder {
	t.Helper()
	b := &Builder{CacheDir: t.TempDir()}
	if err := b.Check(context.Background()); err != nil {
		if errors.Is(err, ErrNoClang) && os.Getenv("CI") != "true" {
			t.Skipf("no C toolchain (apt-get install %s): %v", Packages, err)
		}
		t.Fatal(err)
	}
	return b
}

func TestHeaderInSync(t *testing.T) {
	sdk, err := os.ReadFile(filepath.Join(root, "guests/sdk/c/wfn.h"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(sdk, Header) {
		t.Fatal("host/internal/cbuild/wfn.h differs from guests/sdk/c/wfn.h: run go generate ./host/internal/cbuild")
	}
}

type wasmInfo struct {
	exports map[string]byte   // name -> kind (0 func, 2 memory)
	imports map[string]string // "module.name" -> ""
}

// inspect parses a module's import and export sections.
func inspect(t *testing.T, path string) wasmInfo {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(data) < 8 || string(data[:4]) != "\x00asm" || !bytes.Equal(data[4:8], []byte{1, 0, 0, 0}) {
		t.Fatalf("%s: not a WebAssembly v1 module", path)
	}
	info := wasmInfo{exports: map[string]byte{}, imports: map[string]string{}}
	p := data[8:]
	fail := func() { t.Fatalf("%s: malformed module", path) }
	uleb := func(b *[]byte) uint32 {
		var v uint32
		for shift := 0; ; shift += 7 {
			if len(*b) == 0 || shift > 28 {
				fail()
			}
			c := (*b)[0]
			*b = (*b)[1:]
			v |= uint32(c&0x7f) << shift
			if c&0x80 == 0 {
				return v
			}
		}
	}
	name := func(b *[]byte) string {
		n := uleb(b)
		if uint32(len(*b)) < n {
			fail()
		}
		s := string((*b)[:n])
		*b = (*b)[n:]
		return s
	}
	limits := func(b *[]byte) {
		flag := (*b)[0]
		*b = (*b)[1:]
		uleb(b)
		if flag&1 != 0 {
			uleb(b)
		}
	}
	for len(p) > 0 {
		id := p[0]
		p = p[1:]
		size := uleb(&p)
		if uint32(len(p)) < size {
			fail()
		}
		sec := p[:size]
		p = p[size:]
		switch id {
		case 2: // imports
			for n := uleb(&sec); n > 0; n-- {
				mod, nm := name(&sec), name(&sec)
				info.imports[mod+"."+nm] = ""
				kind := sec[0]
				sec = sec[1:]
				switch kind {
				case 0:
					uleb(&sec)
				case 1:
					sec = sec[1:]
					limits(&sec)
				case 2:
					limits(&sec)
				case 3:
					sec = sec[2:]
				default:
					fail()
				}
			}
		case 7: // exports
			for n := uleb(&sec); n > 0; n-- {
				nm := name(&sec)
				kind := sec[0]
				sec = sec[1:]
				uleb(&sec)
				info.exports[nm] = kind
			}
		}
	}
	return info
}

func TestExamples(t *testing.T) {
	b := builder(t)
	ctx := context.Background()
	eng, err := wazeroengine.New(ctx, wazeroengine.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer eng.Close(ctx)
	for _, tc := range []struct {
		name, dir string
		imports   []string
	}{
		{"api/hello", "guests/c/api/hello", []string{"response_header_set", "response_body_write"}},
		{"api/echo", "guests/c/api/echo", []string{"request_header", "request_body_read", "response_flush", "response_body_write"}},
		{"api/[name]", "testdata/c/params", []string{"request_param", "response_header_set", "response_body_write"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			wasm, cached, err := b.Build(ctx, tc.name, filepath.Join(root, tc.dir), nil)
			if err != nil {
				t.Fatal(err)
			}
			if cached {
				t.Error("first build reported cached")
			}
			st, _ := os.Stat(wasm)
			t.Logf("%s: %d bytes", tc.dir, st.Size())
			info := inspect(t, wasm)
			for _, e := range []string{"memory", "wfn_abi_v1", "_initialize", "wfn_handle"} {
				if _, ok := info.exports[e]; !ok {
					t.Errorf("no export %s in %v", e, info.exports)
				}
			}
			if info.exports["memory"] != 2 {
				t.Error("memory is not a memory export")
			}
			for _, e := range []string{"_start", "wfn_run_task"} {
				if _, ok := info.exports[e]; ok {
					t.Errorf("unexpected export %s", e)
				}
			}
			for _, i := range tc.imports {
				if _, ok := info.imports["wfn."+i]; !ok {
					t.Errorf("no import wfn.%s in %v", i, info.imports)
				}
			}
			for i := range info.imports {
				if !strings.HasPrefix(i, "wfn.") && !strings.HasPrefix(i, "wasi_snapshot_preview1.") {
					t.Errorf("unexpected import %s", i)
				}
			}
			if _, ok := info.imports["wfn.wait_until"]; ok {
				t.Error("wait_until imported without WFN_TASKS")
			}
			data, err := os.ReadFile(wasm)
			if err != nil {
				t.Fatal(err)
			}
			m, err := eng.Compile(ctx, tc.name, data)
			if err != nil {
				t.Fatalf("the host refuses the module: %v", err)
			}
			m.Close(ctx)
		})
	}
}

func TestMultiFileAndTasks(t *testing.T) {
	b := builder(t)
	ctx := context.Background()
	dir := t.TempDir()
	files := map[string]string{
		"util.h": "int32_t greet(void);\n",
		"a.c": `#define WFN_TASKS
#include "wfn.h"
#include "util.h"
static void later(void *arg) { (void)arg; fputs("after\n", stderr); }
WFN_METHOD(GET) { greet(); wfn_after(later, NULL); }
WFN_METHOD(POST) { char *b; int32_t n = wfn_body_alloc(&b); if (n >= 0) wfn_write(b, (size_t)n); free(b); }
WFN_ON_SIGTERM() {}
`,
		"b.c": `#define WFN_TASKS
#include "wfn.h"
#include "util.h"
int32_t greet(void) { return wfn_writef("hello %d", 42); }
`,
	}
	for n, s := range files {
		if err := os.WriteFile(filepath.Join(dir, n), []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	wasm, _, err := b.Build(ctx, "api/multi", dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	info := inspect(t, wasm)
	for _, e := range []string{"memory", "wfn_abi_v1", "_initialize", "GET", "POST", "wfn_run_task", "wfn_on_sigterm"} {
		if _, ok := info.exports[e]; !ok {
			t.Errorf("no export %s in %v", e, info.exports)
		}
	}
	if _, ok := info.exports["wfn_handle"]; ok {
		t.Error("unexpected export wfn_handle")
	}
	if _, ok := info.imports["wfn.wait_until"]; !ok {
		t.Error("no import wait_until")
	}
	eng, err := wazeroengine.New(ctx, wazeroengine.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer eng.Close(ctx)
	data, _ := os.ReadFile(wasm)
	m, err := eng.Compile(ctx, "api/multi", data)
	if err != nil {
		t.Fatalf("the host refuses the module: %v", err)
	}
	m.Close(ctx)
}

func TestCompileError(t *testing.T) {
	b := builder(t)
	dir := t.TempDir()
	src := "#include \"wfn.h\"\n\nWFN_HANDLER(wfn_handle) { wfn_write_str(42, 43); }\n"
	if err := os.WriteFile(filepath.Join(dir, "bad.c"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	_, _, err := b.Build(context.Background(), "api/bad", dir, nil)
	var be *BuildError
	if !errors.As(err, &be) {
		t.Fatalf("err = %v, want a *BuildError", err)
	}
	if be.Function != "api/bad" || !strings.Contains(err.Error(), "cannot build api/bad") {
		t.Errorf("error does not name the function: %v", err)
	}
	if !strings.Contains(be.Output, "bad.c:3:") || !strings.Contains(be.Output, "error") {
		t.Errorf("output does not name bad.c:3: %q", be.Output)
	}
	if strings.Contains(be.Output, "\x1b[") {
		t.Errorf("colour codes in output: %q", be.Output)
	}
}

func TestNoSources(t *testing.T) {
	b := builder(t)
	_, _, err := b.Build(context.Background(), "api/empty", t.TempDir(), nil)
	var be *BuildError
	if !errors.As(err, &be) || !strings.Contains(err.Error(), "no .c files") {
		t.Fatalf("err = %v", err)
	}
}

func TestCache(t *testing.T) {
	b := builder(t)
	ctx := context.Background()
	dir := t.TempDir()
	write := func(name, s string) {
		t.Helper()
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("main.c", "#include \"wfn.h\"\n#include \"lib/msg.h\"\nWFN_HANDLER(wfn_handle) { wfn_write_str(MSG); }\n")
	write("lib/msg.h", "#define MSG \"one\"\n")
	build := func(wantCached bool) string {
		t.Helper()
		wasm, cached, err := b.Build(ctx, "api/c", dir, nil)
		if err != nil {
			t.Fatal(err)
		}
		if cached != wantCached {
			t.Errorf("cached = %v, want %v", cached, wantCached)
		}
		return wasm
	}
	first := build(false)
	if again := build(true); again != first {
		t.Errorf("cached build at %s, first at %s", again, first)
	}
	// Another builder with the same cache directory reuses the build.
	b2 := &Builder{CacheDir: b.CacheDir}
	if _, cached, err := b2.Build(ctx, "api/c", dir, nil); err != nil || !cached {
		t.Errorf("second builder: cached = %v, err = %v", cached, err)
	}
	// A header in a subdirectory is a dependency too.
	write("lib/msg.h", "#define MSG \"two\"\n")
	if second := build(false); second == first {
		t.Error("same output after the included header changed")
	}
	build(true)
	// So is an unused .h file in the directory, and a new .c file.
	write("other.h", "\n")
	build(false)
	write("more.c", "int more(void);\nint more(void) { return 1; }\n")
	build(false)
	build(true)
}

func TestNoClang(t *testing.T) {
	b := &Builder{CacheDir: t.TempDir(), Clang: filepath.Join(t.TempDir(), "no-such-clang")}
	_, _, err := b.Build(context.Background(), "api/x", t.TempDir(), nil)
	if !errors.Is(err, ErrNoClang) {
		t.Fatalf("err = %v, want ErrNoClang", err)
	}
	if !strings.Contains(err.Error(), "apt-get install clang lld wasi-libc libclang-rt-dev-wasm32") {
		t.Errorf("error does not name the packages: %v", err)
	}
}

func TestNoSysroot(t *testing.T) {
	builder(t) // skips without clang
	b := &Builder{CacheDir: t.TempDir(), Sysroot: filepath.Join(t.TempDir(), "none")}
	if err := b.Check(context.Background()); !errors.Is(err, ErrNoClang) {
		t.Fatalf("err = %v, want ErrNoClang", err)
	}
}

func TestParseDeps(t *testing.T) {
	in := "a.o: a.c /x/wfn.h \\\n  lib/my\\ file.h\nb.o: b.c $$d.h\n"
	got := parseDeps(in)
	want := []string{"a.c", "/x/wfn.h", "lib/my file.h", "b.c", "$d.h"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("parseDeps = %q, want %q", got, want)
	}
}

// TestStrictWarnings compiles the examples and a file calling every helper
// with the SDK's promised flags: -Wall -Wextra -Werror (and more).
func TestStrictWarnings(t *testing.T) {
	b := builder(t)
	dir := t.TempDir()
	all := `#define WFN_TASKS
#include "wfn.h"
static void task(void *arg) { (void)arg; }
WFN_INIT() {}
WFN_ON_SIGTERM() {}
WFN_METHOD(OPTIONS) {}
WFN_HANDLER(wfn_handle) {
    char buf[16];
    char *s;
    int32_t h;
    wfn_method(buf, sizeof buf); wfn_url(buf, sizeof buf); wfn_param("p", buf, sizeof buf);
    wfn_header("h", buf, sizeof buf); wfn_ip(buf, sizeof buf);
    wfn_method_alloc(&s); free(s); wfn_url_alloc(&s); free(s); wfn_param_alloc("p", &s); free(s);
    wfn_header_alloc("h", &s); free(s); wfn_header_values_alloc("h", &s); free(s);
    wfn_header_names_alloc(&s); free(s); wfn_ip_alloc(&s); free(s); wfn_geo_alloc(&s); free(s);
    wfn_body_alloc(&s); free(s); wfn_body_read(buf, sizeof buf);
    wfn_set_status(200); wfn_set_header("a", "b"); wfn_add_header("a", "c"); wfn_del_header("a");
    wfn_write(buf, 1); wfn_write_str("x"); wfn_writef("%s %d", wfn_strerror(WFN_EIO), 1);
    wfn_flush(); wfn_close(); (void)wfn_aborted(); (void)wfn_deadline_ms();
    wfn_after(task, NULL);
    h = wfn_fetch("GET", "https://example.com/", "a\0b\0", 4, NULL, 0);
    if (h > 0) {
        wfn_http_response_status(h); wfn_http_header(h, "a", buf, sizeof buf);
        wfn_http_header_names_alloc(h, &s); free(s); wfn_http_body_alloc(h, &s); free(s);
        wfn_http_close(h);
    }
}
`
	if err := os.WriteFile(filepath.Join(dir, "all.c"), []byte(all), 0o644); err != nil {
		t.Fatal(err)
	}
	srcs := []string{
		filepath.Join(dir, "all.c"),
		filepath.Join(root, "guests/c/api/hello/hello.c"),
		filepath.Join(root, "guests/c/api/echo/echo.c"),
		filepath.Join(root, "testdata/c/params/params.c"),
	}
	for _, std := range []string{"-std=gnu17", "-std=c99"} {
		for _, opt := range []string{"-O0", "-O2"} {
			for _, src := range srcs {
				args := append(b.common(filepath.Dir(src)), std, opt, "-Wall", "-Wextra", "-Werror", "-Wpedantic",
					"-Wmissing-prototypes", "-Wstrict-prototypes", "-Wshadow", "-Wconversion", "-fsyntax-only", src)
				if out, err := exec.Command(b.clang, args...).CombinedOutput(); err != nil {
					t.Errorf("%s %s %s: %v\n%s", std, opt, src, err, out)
				}
			}
		}
	}
}

// A file saved while a function builds (wfn dev: an editor's save while
// the former save's build runs) does not go into the guest stored under
// the key of the content before the save. The key hashed the files before
// clang read them, so a save in between stored the new code under the
// former content's key, and going back to that content (an undo) served
// the newer code from the cache. The test saves, from a hook the build
// calls after its key was made, a .c file, a header beside it and a
// header outside its directory; then checks that each key's guest holds
// its content, and that the build after the save holds the new one.
func TestBuildSavedDuringBuild(t *testing.T) {
	for _, saved := range []string{"fn/main.c", "fn/msg.h", "shared/part.h"} {
		t.Run(saved, func(t *testing.T) {
			b := builder(t)
			dir := t.TempDir()
			files := map[string]string{
				"fn/main.c":     "#include \"wfn.h\"\n#include \"msg.h\"\n#include \"../shared/part.h\"\nWFN_HANDLER(wfn_handle) { wfn_write_str(MSG \"-code-\" PART); }\n",
				"fn/msg.h":      "#define MSG \"msg\"\n",
				"shared/part.h": "#define PART \"part\"\n",
			}
			save := func(v string) {
				versioned := map[string]string{}
				for name, text := range files {
					if name == saved {
						text = strings.Replace(text, "\"msg\"", "\"msg-"+v+"\"", 1)
						text = strings.Replace(text, "\"part\"", "\"part-"+v+"\"", 1)
						text = strings.Replace(text, "-code-", "-code-"+v+"-", 1)
					}
					versioned[name] = text
				}
				buildcachetest.Save(t, dir, versioned)
			}
			buildcachetest.SavedDuringBuild(t, func() (string, bool, error) {
				return b.Build(context.Background(), "api/fn", filepath.Join(dir, "fn"), nil)
			}, save, &beforeCompile)
		})
	}
}

// A clang that ends without a word (killed, or never started) fails the
// build with the reason it ended, not with 'cannot build api/hello:' and
// nothing after it.
func TestBuildErrorWithoutOutput(t *testing.T) {
	err := &BuildError{Function: "api/hello", Err: errors.New("signal: killed")}
	if msg := err.Error(); msg != "cannot build api/hello:\nsignal: killed" {
		t.Errorf("Error() = %q, want the reason clang ended", msg)
	}
}
