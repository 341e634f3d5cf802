package host_test

import (
	"bufio"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/evanw/esbuild/pkg/api"

	"github.com/wfn-dev/wfn/host"
)

// The oracle: Vercel's Edge Runtime (npm edge-runtime) runs the same Web
// handlers in Node.js, and each gets the same requests as from wfn.

// needsWfn tells examples that the Edge Runtime cannot run as they are: a
// function using @vercel/functions (the platform's request context), in
// the Node.js shape, or forwarding to a backend (BACKEND_URL).
var needsWfn = regexp.MustCompile(`from ['"]@vercel/functions['"]|export default (async )?function|module\.exports|from ['"]\./_backend['"]`)

// oracleExamples lists the Web-handler examples under guests/api/ts that
// need nothing of wfn's own, with fixtures of testdata/js, as paths
// relative to their served directory's parent.
func oracleExamples(t *testing.T) (examples []string) {
	t.Helper()
	err := filepath.WalkDir("../guests/api/ts", func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || !slices.Contains([]string{".ts", ".mts", ".js", ".mjs"}, filepath.Ext(path)) || strings.HasPrefix(d.Name(), "_") {
			return err
		}
		src, err := os.ReadFile(path)
		if err == nil && !needsWfn.Match(src) && !strings.Contains(path, "[") {
			examples = append(examples, path)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(examples) == 0 {
		t.Fatal("no Web-handler example under guests/api/ts")
	}
	return append(examples, "../testdata/js/api/shapes/methods.ts", "../testdata/js/api/shapes/fetch.mjs", "../testdata/js/api/shapes/edge.ts",
		"../testdata/js/api/web/form.ts")
}

// route is the path wfn serves a function file at.
func route(file string) string {
	_, rest, _ := strings.Cut(filepath.ToSlash(file), "/api/")
	return "/api/" + strings.TrimSuffix(rest, filepath.Ext(rest))
}

// edgeBundle bundles a function for the Edge Runtime: a script that sets
// the global __example to the module's exports.
func edgeBundle(t *testing.T, file, out string) {
	t.Helper()
	abs, _ := filepath.Abs(file)
	res := api.Build(api.BuildOptions{
		EntryPoints: []string{abs}, Bundle: true, Write: false, Format: api.FormatIIFE, GlobalName: "__example",
		Platform: api.PlatformNeutral, Target: api.ES2022, Conditions: []string{"edge-light", "worker", "browser", "import", "default"},
		MainFields: []string{"module", "main"}, LogLevel: api.LogLevelSilent,
	})
	if len(res.Errors) > 0 {
		t.Fatalf("bundling %s for the Edge Runtime: %v", file, res.Errors)
	}
	if err := os.WriteFile(out, res.OutputFiles[0].Contents, 0o644); err != nil {
		t.Fatal(err)
	}
}

// platformHeaders are set by the platform or the transport rather than by
// the function: they are left out of the comparison.
var platformHeaders = []string{"Date", "X-Vercel-Id", "X-Vercel-Cache", "Cache-Control", "Server", "Connection", "Keep-Alive",
	"Content-Length", "Transfer-Encoding"}

func TestJSEdgeRuntimeOracle(t *testing.T) {
	requireGo(t)
	if _, err := exec.LookPath("node"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("node is needed to run the Edge Runtime: %v", err)
		}
		t.Skipf("skipping: node is needed to run the Edge Runtime: %v", err)
	}
	examples := oracleExamples(t)
	edgeURLs := edgeServe(t, examples)

	_, guests, _ := serve(t, host.Config{Dir: tsExamples(t)})
	_, fixtures, _ := serve(t, host.Config{Dir: "../testdata/js"})
	// Form bodies go to the examples that read them (a path with
	// "form"): the others answer a body they cannot parse with a 500,
	// whose page differs between the two by design.
	multipartBody := "--XyZ\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\n1\r\n" +
		"--XyZ\r\nContent-Disposition: form-data; name=\"f\"; filename=\"x.txt\"\r\nContent-Type: text/plain\r\n\r\nfile\r\n" +
		"--XyZ\r\nContent-Disposition: form-data; name=\"u\"; filename=\"u.bin\"\r\n\r\nuntyped\r\n--XyZ--\r\n"
	requests := []struct {
		method, query, body string
		header              []string
		forms               bool
	}{
		{"GET", "", "", nil, false},
		{"GET", "?q=a%20b&q=c", "", []string{"Accept", "text/plain"}, false},
		{"HEAD", "", "", nil, false},
		{"POST", "?q=1", `{"n":[1,2,3],"s":"\u00e9"}`, []string{"Content-Type", "application/json"}, false},
		{"PUT", "", "plain body", []string{"Content-Type", "text/plain"}, false},
		{"DELETE", "", "", nil, false},
		{"POST", "", multipartBody, []string{"Content-Type", "multipart/form-data; boundary=XyZ"}, true},
		{"POST", "", "a=1&b=%C3%A9+x&a=2", []string{"Content-Type", "application/x-www-form-urlencoded"}, true},
		{"POST", "", "--XyZ\r\nno headers end", []string{"Content-Type", "multipart/form-data; boundary=XyZ"}, true},
	}
	for i, ex := range examples {
		wfnURL := guests.URL
		if strings.Contains(ex, "testdata") {
			wfnURL = fixtures.URL
		}
		path := route(ex)
		t.Run(path, func(t *testing.T) {
			compared := 0
			for _, rq := range requests {
				if rq.forms && !strings.Contains(path, "form") {
					continue
				}
				var body *strings.Reader
				send := func(base string) response {
					body = strings.NewReader(rq.body)
					return do(t, rq.method, base+path+rq.query, body, append([]string{"User-Agent", "wfn-oracle"}, rq.header...)...)
				}
				w := send(wfnURL)
				if w.status == http.StatusMethodNotAllowed && !strings.Contains(w.header.Get("Allow"), rq.method) {
					continue // a method the example does not export
				}
				e := send(edgeURLs[i])
				compared++
				what := rq.method + " " + path + rq.query
				if w.status != e.status {
					t.Errorf("%s: status wfn %d, Edge Runtime %d", what, w.status, e.status)
				}
				if w.body != e.body {
					t.Errorf("%s: body\nwfn          %q\nEdge Runtime %q", what, w.body, e.body)
				}
				for _, h := range platformHeaders {
					w.header.Del(h)
					e.header.Del(h)
				}
				for name := range mergeKeys(w.header, e.header) {
					if !slices.Equal(w.header.Values(name), e.header.Values(name)) {
						t.Errorf("%s: %s: wfn %q, Edge Runtime %q", what, name, w.header.Values(name), e.header.Values(name))
					}
				}
			}
			if compared == 0 {
				t.Errorf("no request compared")
			}
		})
	}
}

// edgeServe serves each function file on the Edge Runtime
// (testdata/js/oracle/edge-serve.mjs) until the test ends, and returns
// their base URLs, in order.
func edgeServe(t *testing.T, files []string) []string {
	t.Helper()
	dir := t.TempDir()
	npmInstall(t, dir, "edge-runtime@4.0.1")
	var bundles []string
	for i, file := range files {
		out := filepath.Join(dir, "example"+itoa(i)+".js")
		edgeBundle(t, file, out)
		bundles = append(bundles, out)
	}
	script, _ := filepath.Abs("../testdata/js/oracle/edge-serve.mjs")
	cmd := exec.Command("node", append([]string{script}, bundles...)...)
	cmd.Dir = dir
	cmd.Stderr = os.Stderr
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		stdin.Close()
		cmd.Wait()
	})
	line, err := bufio.NewReader(stdout).ReadString('\n')
	var urls []string
	if err != nil || json.Unmarshal([]byte(line), &urls) != nil || len(urls) != len(files) {
		t.Fatalf("edge-serve.mjs printed %q (%v)", line, err)
	}
	for i, u := range urls {
		urls[i] = strings.TrimSuffix(u, "/")
	}
	return urls
}

func mergeKeys(a, b http.Header) map[string]bool {
	keys := map[string]bool{}
	for k := range a {
		keys[k] = true
	}
	for k := range b {
		keys[k] = true
	}
	return keys
}
