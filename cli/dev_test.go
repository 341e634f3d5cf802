package cli_test

import (
	"context"
	"encoding/json"
	"fmt"
	"github.com/wfn-dev/wfn/internal/testkit"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// devDeadline bounds each wait for a reload: a Go function's build and
// compilation take seconds on a loaded machine.
const devDeadline = 3 * time.Minute

// cFunction is a C function answering VERSION; a POST first flushes
// VERSION, then reads the whole request body before it ends, so that a
// test holds an invocation in flight.
const cFunction = `#include <string.h>
#include "wfn.h"

WFN_HANDLER(wfn_handle) {
    char method[16], buf[256];
    wfn_write_str("VERSION");
    wfn_method(method, sizeof method);
    if (strcmp(method, "POST") == 0) {
        wfn_flush();
        while (wfn_body_read(buf, sizeof buf) > 0) {
        }
        wfn_write_str(" done");
    }
}
`

// goFunction is a Go function answering VERSION.
const goFunction = `package main

import (
	"io"
	"net/http"

	"github.com/wfn-dev/wfn/guests/sdk/go/wfn/wfnhttp"
)

func init() {
	wfnhttp.Handle(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "VERSION")
	}))
}

func main() {}
`

func version(src, v string) string { return strings.ReplaceAll(src, "VERSION", v) }

// devProject writes a small project: a C function (api/hello), a
// TypeScript one reading GREETING from .env (api/hi.ts), a vercel.json
// and a go.mod pointing at this module.
func devProject(t testing.TB) string {
	t.Helper()
	repo, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	testkit.WriteFiles(t, dir, map[string]string{
		"go.mod":           "module devtest\n\ngo 1.26.0\n\nrequire github.com/wfn-dev/wfn v0.0.0\n\nreplace github.com/wfn-dev/wfn => " + repo + "\n",
		"api/hello/main.c": version(cFunction, "v1"),
		"api/hi.ts":        "export function GET() { return new Response('hi ' + process.env.GREETING); }\n",
		".env":             "GREETING=one\n",
		"vercel.json":      "{}\n",
	})
	return dir
}

// response is what eventually polls for.
type response struct {
	status int
	header http.Header
	body   string
}

func fetch(url, accept string) (response, error) {
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		return response{}, err
	}
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	resp, err := client.Do(req)
	if err != nil {
		return response{}, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return response{resp.StatusCode, resp.Header, string(b)}, err
}

// eventually polls url until ok accepts its response, for devDeadline.
func eventually(t testing.TB, url, accept, want string, ok func(response) bool) response {
	t.Helper()
	end := time.Now().Add(devDeadline)
	for {
		r, err := fetch(url, accept)
		if err == nil && ok(r) {
			return r
		}
		if time.Now().After(end) {
			t.Fatalf("GET %s: no %s after %s; last: %d %q (%v)", url, want, devDeadline, r.status, r.body, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func bodyIs(body string) func(response) bool {
	return func(r response) bool { return r.status == http.StatusOK && r.body == body }
}

// waitLog polls the server's stderr for s.
func waitLog(t *testing.T, s *server, what string) {
	t.Helper()
	end := time.Now().Add(devDeadline)
	for !strings.Contains(s.stderr.String(), what) {
		if time.Now().After(end) {
			t.Fatalf("stderr has no %q after %s", what, devDeadline)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// startDev runs wfn dev over a new devProject.
func startDev(t testing.TB) (dir, base string, s *server) {
	t.Helper()
	dir = devProject(t)
	s = startCommand(t, "dev", "--listen", "127.0.0.1:0", "--cache-dir", filepath.Join(t.TempDir(), "cache"), dir)
	return dir, "http://" + s.addr, s
}

// TestDev runs wfn dev over a small project and changes it as a developer
// would: each change is seen over HTTP without a restart. The functions
// are C and TypeScript, quick to build and compile under the race
// detector; TestDevGo edits a Go function.
func TestDev(t *testing.T) {
	requireClangForDev(t)
	dir, base, s := startDev(t)
	eventually(t, base+"/api/hello", "", "v1", bodyIs("v1"))
	eventually(t, base+"/api/hi", "", "hi one", bodyIs("hi one"))

	t.Run("edit a function; an invocation in flight ends on the old code", func(t *testing.T) {
		pr, pw := io.Pipe()
		ctx, cancel := context.WithTimeout(context.Background(), 2*devDeadline)
		defer cancel()
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+"/api/hello", pr)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		head := make([]byte, 2)
		if _, err := io.ReadFull(resp.Body, head); err != nil || string(head) != "v1" {
			t.Fatalf("in-flight POST began %q (%v), want v1", head, err)
		}
		testkit.WriteFiles(t, dir, map[string]string{"api/hello/main.c": version(cFunction, "v2")})
		eventually(t, base+"/api/hello", "", "v2", bodyIs("v2"))
		pw.Close()
		rest, err := io.ReadAll(resp.Body)
		if err != nil || string(rest) != " done" {
			t.Errorf("in-flight POST ended %q (%v), want \" done\" from v1", rest, err)
		}
	})

	t.Run("add a function", func(t *testing.T) {
		testkit.WriteFiles(t, dir, map[string]string{"api/added/index.ts": "export function GET() { return new Response('added'); }\n"})
		eventually(t, base+"/api/added", "", "added", bodyIs("added"))
	})

	t.Run("delete a function", func(t *testing.T) {
		if err := os.RemoveAll(filepath.Join(dir, "api", "added")); err != nil {
			t.Fatal(err)
		}
		eventually(t, base+"/api/added", "", "404", func(r response) bool { return r.status == http.StatusNotFound })
	})

	t.Run("break and fix a function", func(t *testing.T) {
		broken := strings.ReplaceAll(cFunction, `wfn_write_str("VERSION");`, `wfn_write_str(undefined_name);`)
		testkit.WriteFiles(t, dir, map[string]string{"api/hello/main.c": broken})
		waitLog(t, s, "api/hello failed to build (its former version still serves)")
		if !strings.Contains(s.stderr.String(), "undeclared identifier 'undefined_name'") {
			t.Errorf("stderr lacks the compiler's message")
		}
		if r, err := fetch(base+"/api/hello", ""); err != nil || r.status != http.StatusOK || r.body != "v2" {
			t.Errorf("GET /api/hello while broken = %d %q (%v), want the former version's 200 v2", r.status, r.body, err)
		}
		// A function with no former version answers with the error.
		testkit.WriteFiles(t, dir, map[string]string{"api/bad/main.c": broken})
		r := eventually(t, base+"/api/bad", "", "500", func(r response) bool { return r.status == http.StatusInternalServerError })
		if !strings.Contains(r.body, "undeclared identifier 'undefined_name'") || r.header.Get("X-Wfn-Error") != "FUNCTION_INVOCATION_FAILED" {
			t.Errorf("error page = %q (x-wfn-error %q), want the compiler's output", r.body, r.header.Get("X-Wfn-Error"))
		}
		r, err := fetch(base+"/api/bad", "application/json")
		if err != nil || !strings.HasPrefix(r.header.Get("Content-Type"), "application/json") || !strings.Contains(r.body, `"output":"cannot build api/bad:`) {
			t.Errorf("error page for JSON = %q %q (%v), want the output in JSON", r.header.Get("Content-Type"), r.body, err)
		}
		testkit.WriteFiles(t, dir, map[string]string{
			"api/hello/main.c": version(cFunction, "v3"),
			"api/bad/main.c":   version(cFunction, "fixed"),
		})
		eventually(t, base+"/api/hello", "", "v3", bodyIs("v3"))
		eventually(t, base+"/api/bad", "", "fixed", bodyIs("fixed"))
	})

	t.Run("edit vercel.json and .env", func(t *testing.T) {
		testkit.WriteFiles(t, dir, map[string]string{
			"vercel.json": `{"headers": [{"source": "/api/(.*)", "headers": [{"key": "x-dev", "value": "yes"}]}]}`,
			".env":        "GREETING=two\n",
		})
		eventually(t, base+"/api/hi", "", "hi two with x-dev", func(r response) bool {
			return r.body == "hi two" && r.header.Get("X-Dev") == "yes"
		})
		testkit.WriteFiles(t, dir, map[string]string{"vercel.json": `{"functions": {"api/nosuch": {"memory": 1}}}`})
		waitLog(t, s, "configuration not reloaded")
		if r, err := fetch(base+"/api/hi", ""); err != nil || r.body != "hi two" || r.header.Get("X-Dev") != "yes" {
			t.Errorf("GET /api/hi after a bad vercel.json = %q %q (%v), want the former configuration's", r.body, r.header.Get("X-Dev"), err)
		}
	})

	t.Run("edit a script: the others are not rebuilt", func(t *testing.T) {
		testkit.WriteFiles(t, dir, map[string]string{
			"lib/greet.ts": "export const greet = (s: string): string => 'hello ' + s;\n",
			"api/other.ts": "import { greet } from '../lib/greet';\nexport function GET() { return new Response(greet('other')); }\n",
		})
		eventually(t, base+"/api/other", "", "hello other", bodyIs("hello other"))
		mark := len(s.stderr.String())
		testkit.WriteFiles(t, dir, map[string]string{"api/hi.ts": "export function GET() { return new Response('hey ' + process.env.GREETING); }\n"})
		eventually(t, base+"/api/hi", "", "hey two", bodyIs("hey two"))
		testkit.WriteFiles(t, dir, map[string]string{"lib/greet.ts": "export const greet = (s: string): string => 'hi ' + s;\n"})
		eventually(t, base+"/api/other", "", "hi other", bodyIs("hi other"))
		var rebuilt []string
		for _, line := range strings.Split(s.stderr.String()[mark:], "\n") {
			if strings.Contains(line, "msg=reloaded") {
				_, after, _ := strings.Cut(line, " rebuilt=")
				rebuilt = append(rebuilt, strings.Fields(after)[0])
			}
		}
		// A save may come as two reloads (a loaded machine), each rebuilding
		// the one function or nothing, never both.
		for _, r := range rebuilt {
			if r != "api/hi.ts" && r != "api/other.ts" && r != `""` {
				t.Errorf("a reload rebuilt %s; want api/hi.ts, then api/other.ts, alone (all: %q)", r, rebuilt)
			}
		}
		if !slices.Contains(rebuilt, "api/hi.ts") || !slices.Contains(rebuilt, "api/other.ts") {
			t.Errorf("the reloads rebuilt %q; want api/hi.ts, then api/other.ts", rebuilt)
		}
	})
}

// TestDevSavedWhileLoading saves a new function the moment wfn dev says
// "Ready on", while it watches nothing yet if it starts watching after the
// scan: the watches were added after that line, a walk of the project's
// directories (here a thousand, before api/ in its order), so that a file
// saved in api/ in between was in neither the scan nor an event, and never
// served (TestDevGo failed so on a loaded CI machine).
func TestDevSavedWhileLoading(t *testing.T) {
	dir := t.TempDir()
	files := map[string]string{"api/hi.ts": "export function GET() { return new Response('hi'); }\n"}
	for i := range 1000 {
		files[fmt.Sprintf("_lib/%03d/.keep", i)] = ""
	}
	testkit.WriteFiles(t, dir, files)
	s := startCommand(t, "dev", "--listen", "127.0.0.1:0", "--cache-dir", filepath.Join(t.TempDir(), "cache"), dir)
	testkit.WriteFiles(t, dir, map[string]string{"api/late.ts": "export function GET() { return new Response('late'); }\n"})
	eventually(t, "http://"+s.addr+"/api/late", "", "late", bodyIs("late"))
}

// TestDevGo edits a Go function under wfn dev. Under the race detector
// wazero compiles a Go guest in minutes, so it runs in .ci/run's pass
// without -race.
func TestDevGo(t *testing.T) {
	requireGo(t)
	if raceEnabled {
		t.Skip("skipping under -race: a Go guest compiles in minutes there; .ci/run's Wasmtime pass runs it without -race")
	}
	dir, base, s := startDev(t)
	testkit.WriteFiles(t, dir, map[string]string{"api/go/main.go": version(goFunction, "go1")})
	eventually(t, base+"/api/go", "", "go1", bodyIs("go1"))
	testkit.WriteFiles(t, dir, map[string]string{"api/go/main.go": version(goFunction, "go2")})
	eventually(t, base+"/api/go", "", "go2", bodyIs("go2"))
	// go2 was served from the interpreter first (--tiered-reload), then
	// compiled (logged after go2's reload, the last): the compiled go2
	// answers the same.
	compiled := func() bool {
		log := s.stderr.String()
		return strings.Contains(log[strings.LastIndex(log, "msg=reloaded"):], `msg="function compiled" fn=api/go`)
	}
	for end := time.Now().Add(devDeadline); !compiled(); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(end) {
			t.Fatalf("go2 not compiled after %s", devDeadline)
		}
	}
	if r, err := fetch(base+"/api/go", ""); err != nil || r.body != "go2" {
		t.Errorf("compiled: GET /api/go = %q (%v), want go2", r.body, err)
	}
	if !strings.Contains(s.stderr.String(), "engine=wazero-interpreter") {
		t.Errorf("the log does not say the interpreter served first:\n%s", s.stderr)
	}
}

// requireClangForDev skips a test whose functions are in C when clang is
// missing, except under CI=true, where it fails.
func requireClangForDev(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("clang"); err != nil {
		msg := "the test's functions are in C and need clang: apt-get install clang lld wasi-libc libclang-rt-dev-wasm32"
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip("skipping: " + msg)
	}
}

// BenchmarkDevReload measures, under wfn dev, the time from saving a Go
// function (writing its main.go) to the first response with the new code,
// with --tiered-reload (the first requests on wazero's interpreter) and
// without (wait for the compiled code): one dev server each, edited in
// turn, round by round, the order alternating. Each edit is new code, so
// nothing comes from a cache but the Go build cache's packages. The
// servers log at debug level in JSON; the log lines' times split each
// round into its phases, reported as medians in ms after the save: the
// watcher's first event (changed), the end of the quiet period and the
// scan (building), go list and go build (built), compilation (ready), the
// swap (reloaded), the first response with the new code (response:
// initialisation and the request), and the compiled version's swap
// (compiled, tiered only). Run it with
//
//	go test ./cli -run '^$' -bench DevReload -benchtime 10x
func BenchmarkDevReload(b *testing.B) {
	if _, err := exec.LookPath("go"); err != nil {
		b.Skip("skipping: needs the go command")
	}
	type dev struct {
		name, dir, base string
		s               *server
		phases          map[string][]float64
	}
	var devs []*dev
	for _, tiered := range []bool{false, true} {
		d := &dev{name: "compiled", dir: devProject(b), phases: map[string][]float64{}}
		if tiered {
			d.name = "tiered"
		}
		d.s = startCommand(b, "dev", "--listen", "127.0.0.1:0", "--cache-dir", filepath.Join(b.TempDir(), "cache"),
			"--log-level", "debug", "--log-format", "json", fmt.Sprintf("--tiered-reload=%v", tiered), d.dir)
		d.base = "http://" + d.s.addr
		testkit.WriteFiles(b, d.dir, map[string]string{"api/go/main.go": version(goFunction, "go0")})
		eventually(b, d.base+"/api/go", "", "go0", bodyIs("go0"))
		devs = append(devs, d)
	}
	// Each phase is the first log line with its message after the save.
	phases := []struct{ name, msg string }{
		{"changed", "changed"}, {"building", "building"}, {"built", "built"}, {"ready", "function ready"},
		{"reloaded", "reloaded"}, {"compiled", "function compiled"},
	}
	b.ResetTimer()
	for i := range b.N {
		for k := range devs {
			d := devs[(i+k)%len(devs)]
			mark := len(d.s.stderr.String())
			want := fmt.Sprintf("go%d-%d", i+1, time.Now().UnixNano())
			start := time.Now()
			testkit.WriteFiles(b, d.dir, map[string]string{"api/go/main.go": version(goFunction, want)})
			for {
				if r, err := fetch(d.base+"/api/go", ""); err == nil && r.body == want {
					break
				}
				if time.Since(start) > devDeadline {
					b.Fatalf("%s: no %s after %s", d.name, want, devDeadline)
				}
				time.Sleep(5 * time.Millisecond)
			}
			d.phases["response"] = append(d.phases["response"], float64(time.Since(start).Milliseconds()))
			// The next round starts once this one is done: compiled, for
			// the tiered server.
			last := "reloaded"
			if d.name == "tiered" {
				last = "function compiled"
			}
			var seen map[string]time.Time
			for end := time.Now().Add(devDeadline); ; {
				seen = logTimes(b, d.s.stderr.String()[mark:])
				if _, ok := seen[last]; ok {
					break
				}
				if time.Now().After(end) {
					b.Fatalf("%s: no %q logged after %s", d.name, last, devDeadline)
				}
				time.Sleep(20 * time.Millisecond)
			}
			for _, p := range phases {
				if t, ok := seen[p.msg]; ok {
					d.phases[p.name] = append(d.phases[p.name], float64(t.Sub(start).Milliseconds()))
				}
			}
		}
	}
	b.StopTimer()
	median := func(xs []float64) float64 {
		xs = slices.Clone(xs)
		slices.Sort(xs)
		return xs[len(xs)/2]
	}
	for _, d := range devs {
		var line strings.Builder
		for _, p := range append(phases[:len(phases)-1:len(phases)-1], struct{ name, msg string }{"response", ""}, phases[len(phases)-1]) {
			if xs := d.phases[p.name]; len(xs) > 0 {
				fmt.Fprintf(&line, " %s %.0f", p.name, median(xs))
			}
		}
		b.ReportMetric(median(d.phases["response"]), d.name+"-ms-median")
		b.Logf("%s: save to first response, ms: %v", d.name, d.phases["response"])
		b.Logf("%s: medians, ms after the save:%s", d.name, line.String())
	}
}

// scriptFunctions is how many TypeScript functions
// BenchmarkDevReloadScripts's project has.
const scriptFunctions = 10

// BenchmarkDevReloadScripts measures wfn dev's save to first response of
// one TypeScript function in a project of scriptFunctions of them, each
// importing a module of its own (lib/fN.ts, 200 small functions), polling
// the function every 5 ms until it answers with the new code. "edit"
// writes new code to api/f0.ts each round; "add" writes a new function,
// api/addN.ts (the project grows by one a round). Before the reload
// tracked each bundle's inputs, an edit rebundled (from the build cache)
// and initialised every script function before the swap. Run it with
//
//	go test ./cli -run '^$' -bench DevReloadScripts -benchtime 10x
func BenchmarkDevReloadScripts(b *testing.B) {
	dir := b.TempDir()
	files := map[string]string{}
	for i := range scriptFunctions {
		var lib strings.Builder
		for j := range 200 {
			fmt.Fprintf(&lib, "export function f%d(s: string): string { return s + %q; }\n", j, fmt.Sprint(j%10))
		}
		fmt.Fprintf(&lib, "export const all: Array<(s: string) => string> = [%s];\n", strings.Repeat("f0, ", 200))
		files[fmt.Sprintf("lib/f%d.ts", i)] = lib.String()
		files[fmt.Sprintf("api/f%d.ts", i)] = scriptVersion(i, "v0")
	}
	testkit.WriteFiles(b, dir, files)
	s := startCommand(b, "dev", "--listen", "127.0.0.1:0", "--cache-dir", filepath.Join(b.TempDir(), "cache"),
		"--log-level", "debug", "--log-format", "json", dir)
	base := "http://" + s.addr
	for i := range scriptFunctions {
		eventually(b, fmt.Sprintf("%s/api/f%d", base, i), "", "v0", bodyIs("v0"))
	}
	added := 0
	for _, c := range []struct {
		name string
		save func(want string) (path string)
	}{
		{"edit", func(want string) string {
			testkit.WriteFiles(b, dir, map[string]string{"api/f0.ts": scriptVersion(0, want)})
			return "/api/f0"
		}},
		{"add", func(want string) string {
			added++
			testkit.WriteFiles(b, dir, map[string]string{fmt.Sprintf("api/add%d.ts", added): scriptVersion(1, want)})
			return fmt.Sprintf("/api/add%d", added)
		}},
	} {
		b.Run(c.name, func(b *testing.B) {
			var response, reloaded []float64
			for i := range b.N {
				mark := len(s.stderr.String())
				want := fmt.Sprintf("v%d-%d", i+1, time.Now().UnixNano())
				start := time.Now()
				path := c.save(want)
				for {
					if r, err := fetch(base+path, ""); err == nil && r.body == want {
						break
					}
					if time.Since(start) > devDeadline {
						b.Fatalf("no %s after %s", want, devDeadline)
					}
					time.Sleep(5 * time.Millisecond)
				}
				response = append(response, float64(time.Since(start).Milliseconds()))
				// The next round starts once this one's reload is done.
				for end := time.Now().Add(devDeadline); ; {
					if t, ok := logTimes(b, s.stderr.String()[mark:])["reloaded"]; ok {
						reloaded = append(reloaded, float64(t.Sub(start).Milliseconds()))
						break
					}
					if time.Now().After(end) {
						b.Fatalf("no reloaded logged after %s", devDeadline)
					}
					time.Sleep(20 * time.Millisecond)
				}
			}
			b.StopTimer()
			median := func(xs []float64) float64 {
				xs = slices.Clone(xs)
				slices.Sort(xs)
				return xs[len(xs)/2]
			}
			b.ReportMetric(median(response), "ms-median")
			b.Logf("save to first response, ms: %v (median %.0f)", response, median(response))
			b.Logf("save to reloaded, ms: %v (median %.0f)", reloaded, median(reloaded))
		})
	}
}

// scriptVersion is BenchmarkDevReloadScripts's function i, answering v.
func scriptVersion(i int, v string) string {
	return fmt.Sprintf("import { all } from \"../lib/f%d\";\nexport function GET() { return new Response(all.length ? %q : \"\"); }\n", i, v)
}

// logTimes returns the time of the first JSON log line with each message.
func logTimes(t testing.TB, log string) map[string]time.Time {
	t.Helper()
	out := map[string]time.Time{}
	for _, line := range strings.Split(log, "\n") {
		var l struct {
			Time time.Time
			Msg  string
		}
		if json.Unmarshal([]byte(line), &l) != nil {
			continue // a partial line, or a guest's output
		}
		if _, ok := out[l.Msg]; !ok {
			out[l.Msg] = l.Time
		}
	}
	return out
}

// scriptAnswering is a TypeScript function answering body.
func scriptAnswering(body string) string {
	return fmt.Sprintf("export function GET() { return new Response(%q); }\n", body)
}

// TestDevRenameDirectory renames a directory of functions under wfn dev,
// as an editor's file tree or git mv does, then edits the functions at
// their new paths: each edit is seen. The watches of the directory and
// the one under it were left with their former paths, so the edits were
// reported under paths that no longer exist, and nothing reloaded.
func TestDevRenameDirectory(t *testing.T) {
	dir := t.TempDir()
	testkit.WriteFiles(t, dir, map[string]string{
		"api/users/index.ts":       scriptAnswering("users v1"),
		"api/users/admin/index.ts": scriptAnswering("admin v1"),
	})
	s := startCommand(t, "dev", "--listen", "127.0.0.1:0", "--cache-dir", filepath.Join(t.TempDir(), "cache"), dir)
	base := "http://" + s.addr
	eventually(t, base+"/api/users", "", "users v1", bodyIs("users v1"))
	eventually(t, base+"/api/users/admin", "", "admin v1", bodyIs("admin v1"))

	if err := os.Rename(filepath.Join(dir, "api", "users"), filepath.Join(dir, "api", "people")); err != nil {
		t.Fatal(err)
	}
	eventually(t, base+"/api/people", "", "users v1", bodyIs("users v1"))
	eventually(t, base+"/api/people/admin", "", "admin v1", bodyIs("admin v1"))
	eventually(t, base+"/api/users", "", "404", func(r response) bool { return r.status == http.StatusNotFound })

	// One edit at a time: a reload for any script rebuilds them all when
	// one of its paths is gone.
	testkit.WriteFiles(t, dir, map[string]string{"api/people/index.ts": scriptAnswering("people v2")})
	eventually(t, base+"/api/people", "", "people v2", bodyIs("people v2"))
	testkit.WriteFiles(t, dir, map[string]string{"api/people/admin/index.ts": scriptAnswering("admin v2")})
	eventually(t, base+"/api/people/admin", "", "admin v2", bodyIs("admin v2"))

	// Renamed back, the directory is watched under its first name again.
	if err := os.Rename(filepath.Join(dir, "api", "people"), filepath.Join(dir, "api", "users")); err != nil {
		t.Fatal(err)
	}
	eventually(t, base+"/api/users", "", "people v2", bodyIs("people v2"))
	testkit.WriteFiles(t, dir, map[string]string{"api/users/index.ts": scriptAnswering("users v3")})
	eventually(t, base+"/api/users", "", "users v3", bodyIs("users v3"))
}

// TestDevStopDuringBuild stops wfn dev (Ctrl-C) while a Go function
// builds: the build stopped is no error. It was logged at level ERROR as
// "function failed to load" with the go command's empty output, in the
// terminal and in the error logs the dashboard keeps across restarts.
func TestDevStopDuringBuild(t *testing.T) {
	requireGo(t)
	dir := devProject(t)
	testkit.WriteFiles(t, dir, map[string]string{"api/go/main.go": version(goFunction, "go1")})
	s := startCommand(t, "dev", "--listen", "127.0.0.1:0", "--cache-dir", filepath.Join(t.TempDir(), "cache"), dir)
	waitLog(t, s, "msg=building fn=api/go")
	if err := s.stop(t); err != nil {
		t.Fatalf("dev: %v", err)
	}
	if log := s.stderr.String(); strings.Contains(log, "level=ERROR") || strings.Contains(log, "failed to build") {
		t.Errorf("stopped during a build, wfn dev logged an error:\n%s", log)
	}
}

// TestNodeEnv: a JavaScript function's NODE_ENV is development under wfn
// dev, as vercel dev sets it, and production under wfn serve, as Vercel
// sets it for deployed functions; the project's .env wins over both.
func TestNodeEnv(t *testing.T) {
	for _, tc := range []struct{ name, cmd, dotenv, want string }{
		{"dev", "dev", "", "development"},
		{"serve", "serve", "", "production"},
		{"dev with .env", "dev", "NODE_ENV=test\n", "test"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			files := map[string]string{"api/env.ts": "export function GET() { return new Response(String(process.env.NODE_ENV)); }\n"}
			if tc.dotenv != "" {
				files[".env"] = tc.dotenv
			}
			testkit.WriteFiles(t, dir, files)
			s := startCommand(t, tc.cmd, "--listen", "127.0.0.1:0", "--cache-dir", filepath.Join(t.TempDir(), "cache"), dir)
			if status, body := get(t, "http://"+s.addr+"/api/env"); status != http.StatusOK || body != tc.want {
				t.Errorf("wfn %s: NODE_ENV = %d %q, want %q", tc.cmd, status, body, tc.want)
			}
		})
	}
}
