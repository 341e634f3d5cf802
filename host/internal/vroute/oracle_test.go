package vroute_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/wfn-dev/wfn/host/internal/vroute"
)

// routingUtils is the version of @vercel/routing-utils the vectors come
// from; a new one may change the tables, so it is pinned.
const routingUtils = "@vercel/routing-utils@6.6.0"

type oracleRequest struct {
	Path    string            `json:"path"`
	Query   string            `json:"query,omitempty"`
	Headers map[string]string `json:"headers,omitempty"`
	Cookies map[string]string `json:"cookies,omitempty"`
	Host    string            `json:"host,omitempty"`
}

type oracleCase struct {
	Name     string          `json:"name"`
	Config   json.RawMessage `json:"config"`
	Files    []string        `json:"files,omitempty"`
	Requests []oracleRequest `json:"requests"`
}

type oracleResult struct {
	Status   int               `json:"status"`
	Location string            `json:"location"`
	Headers  map[string]string `json:"headers"`
	External string            `json:"external"`
	Path     string            `json:"path"`
	Query    string            `json:"query"`
	Found    bool              `json:"found"`
	// RewriteStatus is a rewrite's statusCode.
	RewriteStatus int `json:"rewriteStatus"`
}

type oracleOut struct {
	Error   string         `json:"error"`
	Routes  []vroute.Route `json:"routes"`
	Results []oracleResult `json:"results"`
}

var oracleCases = []oracleCase{
	{
		Name: "params",
		Config: json.RawMessage(`{"redirects": [
			{"source": "/old/:path*", "destination": "/new/:path*"},
			{"source": "/one/:a/:b", "destination": "/two/:b/:a?x=:a", "permanent": false},
			{"source": "/plus/:rest+", "destination": "/p/:rest+", "statusCode": 301},
			{"source": "/opt/:x?", "destination": "/o/:x?", "permanent": true},
			{"source": "/id/:id(\\d+)", "destination": "/num/:id"},
			{"source": "/any/(.*)", "destination": "/all/$1"},
			{"source": "/ext/:p*", "destination": "https://example.com/:p*?from=wfn"},
			{"source": "/docs{/:section}?/intro", "destination": "/d/:section/start"},
			{"source": "/file/:name.:ext", "destination": "/f?name=:name&ext=:ext"}
		]}`),
		Requests: []oracleRequest{
			{Path: "/old"}, {Path: "/old/a"}, {Path: "/old/a/b/c"}, {Path: "/OLD/a"},
			{Path: "/one/x/y"}, {Path: "/one/x/y", Query: "x=2&z=3"}, {Path: "/one/x"}, {Path: "/plus"}, {Path: "/plus/a/b"},
			{Path: "/opt"}, {Path: "/opt/z"}, {Path: "/id/42"}, {Path: "/id/abc"},
			{Path: "/any/a/b.c"}, {Path: "/ext/x/y", Query: "q=1"}, {Path: "/docs/intro"},
			{Path: "/docs/api/intro"}, {Path: "/file/report.pdf", Query: "v=1"}, {Path: "/nothing"},
		},
	},
	{
		Name: "conditions",
		Config: json.RawMessage(`{"redirects": [
			{"source": "/h", "destination": "/h/:v", "has": [{"type": "header", "key": "X-Ver", "value": "(?<v>v[0-9]+)"}]},
			{"source": "/c", "destination": "/c/:session", "has": [{"type": "cookie", "key": "session"}]},
			{"source": "/q", "destination": "/q/:lang", "has": [{"type": "query", "key": "lang", "value": "(?<lang>en|fr)"}]},
			{"source": "/host", "destination": "https://:host/x", "has": [{"type": "host", "value": "(.*)\\.example\\.com"}]},
			{"source": "/m", "destination": "/m/anon", "missing": [{"type": "cookie", "key": "session"}]},
			{"source": "/both/:p", "destination": "/b/:p/:t", "has": [{"type": "query", "key": "t"}], "missing": [{"type": "header", "key": "x-skip"}]}
		]}`),
		Requests: []oracleRequest{
			{Path: "/h"}, {Path: "/h", Headers: map[string]string{"X-Ver": "v2"}}, {Path: "/h", Headers: map[string]string{"x-ver": "beta"}},
			{Path: "/c"}, {Path: "/c", Cookies: map[string]string{"session": "abc"}},
			{Path: "/q", Query: "lang=fr"}, {Path: "/q", Query: "lang=de"},
			{Path: "/host", Host: "shop.example.com"}, {Path: "/host", Host: "other.org"},
			{Path: "/m"}, {Path: "/m", Cookies: map[string]string{"session": "1"}},
			{Path: "/both/k", Query: "t=9"}, {Path: "/both/k", Query: "t=9", Headers: map[string]string{"X-Skip": "1"}}, {Path: "/both/k"},
		},
	},
	{
		Name: "headers",
		Config: json.RawMessage(`{"headers": [
			{"source": "/(.*)", "headers": [{"key": "X-Frame-Options", "value": "DENY"}]},
			{"source": "/assets/:file*", "headers": [{"key": "Cache-Control", "value": "public, max-age=31536000, immutable"}, {"key": "X-File", "value": ":file*"}]},
			{"source": "/blog/:slug", "headers": [{"key": "X-Slug", "value": ":slug"}, {"key": "X-Frame-Options", "value": "SAMEORIGIN"}]},
			{"source": "/lang", "headers": [{"key": "X-Lang", "value": ":l"}], "has": [{"type": "query", "key": "l"}]},
			{"source": "/nocookie", "headers": [{"key": "X-Anon", "value": "1"}], "missing": [{"type": "cookie", "key": "id"}]}
		],
		"redirects": [{"source": "/gone", "destination": "/"}]}`),
		Files: []string{"/assets/app.css", "/blog/hello", "/lang", "/nocookie", "/"},
		Requests: []oracleRequest{
			{Path: "/"}, {Path: "/assets/app.css"}, {Path: "/assets/a/b.js"}, {Path: "/blog/hello"},
			{Path: "/lang", Query: "l=de"}, {Path: "/lang"}, {Path: "/nocookie"},
			{Path: "/nocookie", Cookies: map[string]string{"id": "1"}}, {Path: "/gone"},
		},
	},
	{
		Name: "rewrites",
		Config: json.RawMessage(`{"rewrites": [
			{"source": "/blog/:slug", "destination": "/api/post?slug=:slug"},
			{"source": "/p/:id", "destination": "/api/post"},
			{"source": "/u/:id/:tab?", "destination": "/api/user/:id"},
			{"source": "/proxy/:path*", "destination": "https://upstream.example.com/:path*"},
			{"source": "/chain/:x", "destination": "/step/:x"},
			{"source": "/step/:x", "destination": "/api/post?via=step&x=:x"},
			{"source": "/static/(.*)", "destination": "/public-file.txt"},
			{"source": "/api/post", "destination": "/api/never"},
			{"source": "/v/:v", "destination": "/api/post", "has": [{"type": "header", "key": "x-beta", "value": "(?<flag>on|yes)"}]},
			{"source": "/(.*)", "destination": "/index.html"}
		]}`),
		Files: []string{"/api/post", "/api/user/7", "/public-file.txt", "/index.html"},
		Requests: []oracleRequest{
			{Path: "/blog/hello"}, {Path: "/blog/hello", Query: "slug=x&y=1"}, {Path: "/p/3", Query: "a=b"},
			{Path: "/u/7"}, {Path: "/u/7/posts"}, {Path: "/proxy/a/b", Query: "k=v"},
			{Path: "/chain/9"}, {Path: "/static/x/y"}, {Path: "/api/post"}, {Path: "/v/1", Headers: map[string]string{"X-Beta": "on"}},
			{Path: "/anything/else"},
		},
	},
	{
		Name: "operators",
		Config: json.RawMessage(`{"redirects": [
			{"source": "/eq", "destination": "/eq/yes", "has": [{"type": "header", "key": "X-Plan", "value": {"eq": "pro"}}]},
			{"source": "/eqn", "destination": "/eqn/yes", "has": [{"type": "query", "key": "v", "value": {"eq": 2}}]},
			{"source": "/neq", "destination": "/neq/yes", "has": [{"type": "cookie", "key": "role", "value": {"neq": "guest"}}]},
			{"source": "/inc", "destination": "/inc/yes", "has": [{"type": "query", "key": "c", "value": {"inc": ["de", "fr"]}}]},
			{"source": "/ninc", "destination": "/ninc/yes", "missing": [{"type": "query", "key": "c", "value": {"ninc": ["de", "fr"]}}]},
			{"source": "/fix", "destination": "/fix/yes", "has": [{"type": "header", "key": "user-agent", "value": {"pre": "Mozilla/", "suf": "Safari"}}]},
			{"source": "/re", "destination": "/re/:tier", "has": [{"type": "header", "key": "x-tier", "value": {"re": "(?<tier>gold|silver)", "neq": "silver"}}]},
			{"source": "/num", "destination": "/num/yes", "has": [{"type": "query", "key": "n", "value": {"gt": 1, "lte": 10}}]},
			{"source": "/host", "destination": "/host/yes", "has": [{"type": "host", "value": {"suf": ".example.com"}}]}
		],
		"rewrites": [
			{"source": "/teapot", "destination": "/api/post", "statusCode": 418},
			{"source": "/gone/:p*", "destination": "https://upstream.example.com/:p*", "statusCode": 410},
			{"source": "/plain", "destination": "/api/post"}
		],
		"headers": [
			{"source": "/api/(.*)", "headers": [{"key": "X-Beta", "value": "1"}], "has": [{"type": "cookie", "key": "beta", "value": {"inc": ["1", "yes"]}}]}
		]}`),
		Files: []string{"/api/post"},
		Requests: []oracleRequest{
			{Path: "/eq", Headers: map[string]string{"X-Plan": "pro"}}, {Path: "/eq", Headers: map[string]string{"X-Plan": "pro+"}},
			{Path: "/eqn", Query: "v=2"}, {Path: "/eqn", Query: "v=2.0"}, {Path: "/eqn", Query: "v=02"}, {Path: "/eqn", Query: "v=two"},
			{Path: "/neq", Cookies: map[string]string{"role": "admin"}}, {Path: "/neq", Cookies: map[string]string{"role": "guest"}}, {Path: "/neq"},
			{Path: "/inc", Query: "c=fr"}, {Path: "/inc", Query: "c=it"},
			{Path: "/ninc", Query: "c=fr"}, {Path: "/ninc", Query: "c=it"}, {Path: "/ninc"},
			{Path: "/fix", Headers: map[string]string{"User-Agent": "Mozilla/5.0 Safari"}}, {Path: "/fix", Headers: map[string]string{"User-Agent": "curl/8"}},
			{Path: "/re", Headers: map[string]string{"X-Tier": "gold"}}, {Path: "/re", Headers: map[string]string{"X-Tier": "silver"}}, {Path: "/re", Headers: map[string]string{"X-Tier": "bronze"}},
			{Path: "/num", Query: "n=5"}, {Path: "/num", Query: "n=1"}, {Path: "/num", Query: "n=10"}, {Path: "/num", Query: "n=1e1"}, {Path: "/num", Query: "n=-3"}, {Path: "/num", Query: "n=0x5"}, {Path: "/num", Query: "n=abc"},
			{Path: "/host", Host: "shop.example.com"}, {Path: "/host", Host: "example.org"},
			{Path: "/teapot"}, {Path: "/gone/a/b", Query: "x=1"}, {Path: "/plain"},
			{Path: "/api/post", Cookies: map[string]string{"beta": "yes"}}, {Path: "/api/post", Cookies: map[string]string{"beta": "no"}},
		},
	},
	{
		Name: "lookahead",
		Config: json.RawMessage(`{"rewrites": [
			{"source": "/((?!api/|assets/).*)", "destination": "/index.html"}
		], "headers": [
			{"source": "/:p((?!private).*)", "headers": [{"key": "X-Public", "value": ":p"}], "has": [{"type": "header", "key": "accept", "value": "(?!image/)(?<kind>.*)"}]}
		]}`),
		Files: []string{"/api/x", "/index.html"},
		Requests: []oracleRequest{
			{Path: "/about"}, {Path: "/api/missing"}, {Path: "/api/x"}, {Path: "/assets/a.css"},
			{Path: "/doc", Headers: map[string]string{"Accept": "text/html"}},
			{Path: "/doc", Headers: map[string]string{"Accept": "image/png"}},
			{Path: "/private", Headers: map[string]string{"Accept": "text/html"}},
		},
	},
	{
		Name:   "cleanUrls",
		Config: json.RawMessage(`{"cleanUrls": true}`),
		Files:  []string{"/about.html", "/index.html", "/docs/index.html"},
		Requests: []oracleRequest{
			{Path: "/about.html"}, {Path: "/index.html"}, {Path: "/index"}, {Path: "/docs/index.html"},
			{Path: "/docs/index"}, {Path: "/docs/"}, {Path: "/about"}, {Path: "/a.b.html/"},
		},
	},
	{
		Name:   "cleanUrls with trailingSlash",
		Config: json.RawMessage(`{"cleanUrls": true, "trailingSlash": true}`),
		Requests: []oracleRequest{
			{Path: "/about.html"}, {Path: "/docs/index.html"}, {Path: "/about"}, {Path: "/about/"},
			{Path: "/style.css"}, {Path: "/style.css/"}, {Path: "/.well-known/x"},
		},
	},
	{
		Name:   "trailingSlash false",
		Config: json.RawMessage(`{"trailingSlash": false}`),
		Requests: []oracleRequest{
			{Path: "/"}, {Path: "/api/hello/"}, {Path: "/a/b/"}, {Path: "/a"},
		},
	},
	{
		Name:   "trailingSlash true",
		Config: json.RawMessage(`{"trailingSlash": true}`),
		Requests: []oracleRequest{
			{Path: "/"}, {Path: "/a"}, {Path: "/a/b"}, {Path: "/a/"}, {Path: "/img.png"}, {Path: "/img.png/"},
		},
	},
}

// TestRoutingUtilsOracle checks, against Vercel's own routing code run
// by Node, that wfn builds the same route table from vercel.json and
// routes each request to the same place.
func TestRoutingUtilsOracle(t *testing.T) {
	out := runOracle(t, oracleCases)
	for i, c := range oracleCases {
		t.Run(c.Name, func(t *testing.T) {
			want := out[i]
			if want.Error != "" {
				t.Fatalf("routing-utils refused the case: %s", want.Error)
			}
			cfg, err := vroute.Parse(c.Config)
			if err != nil {
				t.Fatal(err)
			}
			got, err := cfg.Routes()
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(normRoutes(got), normRoutes(want.Routes)) {
				g, _ := json.MarshalIndent(got, "", " ")
				w, _ := json.MarshalIndent(want.Routes, "", " ")
				t.Fatalf("route table differs\ngot  %s\nwant %s", g, w)
			}
			rt, err := vroute.New(cfg)
			if err != nil {
				t.Fatal(err)
			}
			exists := func(p string) bool {
				for _, f := range c.Files {
					if f == p {
						return true
					}
				}
				return false
			}
			for j, req := range c.Requests {
				r := newRequest(t, req)
				res := rt.Route(r, exists)
				w := want.Results[j]
				name := req.Path + "?" + req.Query
				if res.Status != w.Status || !sameURL(res.Location, w.Location) {
					t.Errorf("%s: redirect %d %q, want %d %q", name, res.Status, res.Location, w.Status, w.Location)
				}
				if res.RewriteStatus != w.RewriteStatus {
					t.Errorf("%s: rewrite status %d, want %d", name, res.RewriteStatus, w.RewriteStatus)
				}
				if gh, wh := flatHeader(res.AllHeader()), w.Headers; !(len(gh) == 0 && len(wh) == 0) && !reflect.DeepEqual(gh, wh) {
					t.Errorf("%s: headers %v, want %v", name, gh, wh)
				}
				if !sameURL(res.External, w.External) {
					t.Errorf("%s: external %q, want %q", name, res.External, w.External)
				}
				if w.Status == 0 && w.External == "" {
					if res.Path != w.Path || res.Found != w.Found || !sameQuery(res.RawQuery, w.Query) {
						t.Errorf("%s: serves %q?%s found=%v, want %q?%s found=%v", name, res.Path, res.RawQuery, res.Found, w.Path, w.Query, w.Found)
					}
				}
			}
		})
	}
}

// runOracle runs testdata/oracle.js with routing-utils installed in a
// temporary directory by npm.
func runOracle(t *testing.T, cases []oracleCase) []oracleOut {
	t.Helper()
	for _, tool := range []string{"node", "npm"} {
		if _, err := exec.LookPath(tool); err != nil {
			if os.Getenv("CI") == "true" {
				t.Fatalf("%s is needed for the routing-utils oracle: %v", tool, err)
			}
			t.Skipf("%s not found: the routing-utils oracle needs Node.js and npm", tool)
		}
	}
	dir := t.TempDir()
	npm := exec.CommandContext(t.Context(), "npm", "install", "--no-audit", "--no-fund", "--silent", "--prefix", dir, routingUtils)
	if b, err := npm.CombinedOutput(); err != nil {
		t.Fatalf("npm install %s: %v\n%s", routingUtils, err, b)
	}
	script, err := filepath.Abs("testdata/oracle.js")
	if err != nil {
		t.Fatal(err)
	}
	in, err := json.Marshal(cases)
	if err != nil {
		t.Fatal(err)
	}
	node := exec.CommandContext(t.Context(), "node", script)
	node.Dir = dir
	node.Env = append(os.Environ(), "NODE_PATH="+filepath.Join(dir, "node_modules"))
	node.Stdin = bytes.NewReader(in)
	var stderr bytes.Buffer
	node.Stderr = &stderr
	b, err := node.Output()
	if err != nil {
		t.Fatalf("node oracle.js: %v\n%s", err, stderr.Bytes())
	}
	var out []oracleOut
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatalf("oracle output: %v\n%s", err, b)
	}
	if len(out) != len(cases) {
		t.Fatalf("oracle gave %d results for %d cases", len(out), len(cases))
	}
	return out
}

func newRequest(t *testing.T, req oracleRequest) *http.Request {
	t.Helper()
	target := req.Path
	if req.Query != "" {
		target += "?" + req.Query
	}
	r, err := http.NewRequest(http.MethodGet, "http://localhost"+target, nil)
	if err != nil {
		t.Fatal(err)
	}
	r.Host = req.Host
	for k, v := range req.Headers {
		r.Header.Set(k, v)
	}
	for k, v := range req.Cookies {
		r.AddCookie(&http.Cookie{Name: k, Value: v})
	}
	return r
}

// normRoutes drops what JSON cannot tell apart (nil and empty).
func normRoutes(rs []vroute.Route) []vroute.Route {
	b, _ := json.Marshal(rs)
	var out []vroute.Route
	_ = json.Unmarshal(b, &out)
	return out
}

func flatHeader(h http.Header) map[string]string {
	m := map[string]string{}
	for k := range h {
		m[strings.ToLower(k)] = h.Get(k)
	}
	return m
}

func sameQuery(a, b string) bool {
	qa, err1 := url.ParseQuery(a)
	qb, err2 := url.ParseQuery(b)
	return err1 == nil && err2 == nil && reflect.DeepEqual(qa, qb)
}

func sameURL(a, b string) bool {
	if a == "" || b == "" {
		return a == b
	}
	ua, err1 := url.Parse(a)
	ub, err2 := url.Parse(b)
	if err1 != nil || err2 != nil {
		return false
	}
	qa, qb := ua.RawQuery, ub.RawQuery
	ua.RawQuery, ub.RawQuery = "", ""
	return ua.String() == ub.String() && sameQuery(qa, qb)
}
