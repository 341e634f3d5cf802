package vroute_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/wfn-dev/wfn/host/internal/vroute"
)

// benchConfig is a vercel.json of the usual size: a few of each key.
const benchConfig = `{
  "cleanUrls": true, "trailingSlash": false,
  "redirects": [
    {"source": "/old", "destination": "/about"},
    {"source": "/blog/:slug", "destination": "/posts/:slug", "permanent": false},
    {"source": "/legacy/:path*", "destination": "/docs/:path*"}
  ],
  "headers": [
    {"source": "/(.*)", "headers": [{"key": "X-Frame-Options", "value": "DENY"}]},
    {"source": "/assets/:file*", "headers": [{"key": "Cache-Control", "value": "public, max-age=31536000, immutable"}]}
  ],
  "rewrites": [
    {"source": "/posts/:slug", "destination": "/api/post?slug=:slug"},
    {"source": "/((?!api/|assets/).*)", "destination": "/index.html"}
  ]
}`

// BenchmarkRoute measures routing one request to a function (found in
// the filesystem phase) with no vercel.json (the baseline: a nil Router)
// and with benchConfig.
func BenchmarkRoute(b *testing.B) {
	cfg, err := vroute.Parse([]byte(benchConfig))
	if err != nil {
		b.Fatal(err)
	}
	rt, err := vroute.New(cfg)
	if err != nil {
		b.Fatal(err)
	}
	exists := func(p string) bool { return p == "/api/hello" || p == "/index.html" || p == "/api/post" }
	for _, bc := range []struct {
		name string
		rt   *vroute.Router
		path string
	}{
		{"none/function", nil, "/api/hello"},
		{"vercel.json/function", rt, "/api/hello"},
		{"vercel.json/rewrite", rt, "/posts/first"},
		{"vercel.json/lookahead-fallback", rt, "/some/page"},
	} {
		b.Run(bc.name, func(b *testing.B) {
			r := httptest.NewRequest(http.MethodGet, bc.path, nil)
			b.ReportAllocs()
			for b.Loop() {
				res := bc.rt.Route(r, exists)
				if !res.Found {
					b.Fatalf("%s not found: %+v", bc.path, res)
				}
			}
		})
	}
}
