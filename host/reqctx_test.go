package host_test

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/wfn-dev/wfn/host"
	"github.com/wfn-dev/wfn/host/internal/geo/geotest"
)

var loopback = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")}

// spoof is what a client sends to pass itself off as someone else.
var spoof = []string{
	"X-Forwarded-For", "6.6.6.6", "X-Real-Ip", "6.6.6.6", "X-Vercel-Id", "evil1::x",
	"X-Vercel-Ip-Country", "KP", "X-Vercel-Ip-City", "Pyongyang",
}

func TestClientAddressWithoutTrust(t *testing.T) {
	_, srv, _ := serve(t, host.Config{Dir: watDir(t, "ctx")})
	r := do(t, "GET", srv.URL+"/api/ctx", nil, spoof...)
	ip, geoJSON, _ := strings.Cut(r.body, "\n")
	if ip != "127.0.0.1" {
		t.Errorf("ip_address = %q, want the socket peer 127.0.0.1", ip)
	}
	if geoJSON != `{"region":"dev1"}` {
		t.Errorf("geolocation = %s, want only the region", geoJSON)
	}
}

func TestClientAddressFromTrustedProxy(t *testing.T) {
	_, srv, _ := serve(t, host.Config{Dir: watDir(t, "ctx"), TrustedProxies: loopback})
	r := do(t, "GET", srv.URL+"/api/ctx", nil, spoof...)
	ip, geoJSON, _ := strings.Cut(r.body, "\n")
	if ip != "6.6.6.6" {
		t.Errorf("ip_address = %q, want the proxy's x-real-ip", ip)
	}
	if want := `{"city":"Pyongyang","country":"KP","flag":"🇰🇵","region":"evil1"}`; geoJSON != want {
		t.Errorf("geolocation = %s, want %s", geoJSON, want)
	}
	r = do(t, "GET", srv.URL+"/api/ctx", nil, "X-Forwarded-For", "198.51.100.7, 10.0.0.1")
	if ip, _, _ := strings.Cut(r.body, "\n"); ip != "198.51.100.7" {
		t.Errorf("ip_address = %q, want the first x-forwarded-for", ip)
	}
}

func TestGeolocationFromDatabase(t *testing.T) {
	_, srv, _ := serve(t, host.Config{Dir: watDir(t, "ctx"), GeoIPDB: geotest.WriteDB(t), Region: "fra1"})
	r := do(t, "GET", srv.URL+"/api/ctx", nil, spoof...) // untrusted: by socket address
	_, geoJSON, _ := strings.Cut(r.body, "\n")
	if want := `{"city":"Berlin","country":"DE","flag":"🇩🇪","countryRegion":"BE","region":"fra1","latitude":"52.52","longitude":"13.405","postalCode":"10115"}`; geoJSON != want {
		t.Errorf("geolocation = %s, want %s", geoJSON, want)
	}
	if !strings.HasPrefix(r.header.Get("X-Vercel-Id"), "fra1::") {
		t.Errorf("x-vercel-id = %q, want the region first", r.header.Get("X-Vercel-Id"))
	}
}

func TestInvalidGeoIPDB(t *testing.T) {
	bad := filepath.Join(t.TempDir(), "bad.mmdb")
	os.WriteFile(bad, []byte("garbage"), 0o644)
	_, err := host.New(context.Background(), host.Config{Dir: watDir(t, "hello"), GeoIPDB: bad, Logger: newLogger(&syncBuffer{})})
	if !errors.Is(err, host.ErrConfig) || !strings.Contains(err.Error(), "bad.mmdb") {
		t.Errorf("New with a bad database = %v, want ErrConfig naming it", err)
	}
}

func TestForwardingHeaders(t *testing.T) {
	requireGo(t)
	lines := func(body string) map[string]string {
		m := map[string]string{}
		for _, l := range strings.Split(body, "\n") {
			if k, v, ok := strings.Cut(l, ": "); ok {
				m[strings.ToLower(k)] = v
			}
		}
		return m
	}
	_, srv, _ := serve(t, host.Config{Dir: "../testdata/guests"})
	r := do(t, "GET", srv.URL+"/api/headers", nil, spoof...)
	h := lines(r.body)
	for name, want := range map[string]string{
		"x-forwarded-for": "127.0.0.1", "x-real-ip": "127.0.0.1", "x-vercel-forwarded-for": "127.0.0.1",
		"x-forwarded-proto": "http", "x-forwarded-host": strings.TrimPrefix(srv.URL, "http://"),
		"x-vercel-id": r.header.Get("X-Vercel-Id"),
	} {
		if h[name] != want {
			t.Errorf("untrusted: the guest sees %s = %q, want %q", name, h[name], want)
		}
	}
	for _, name := range []string{"x-vercel-ip-country", "x-vercel-ip-city"} {
		if v, ok := h[name]; ok {
			t.Errorf("untrusted: the guest sees %s = %q, want it hidden", name, v)
		}
	}

	_, srv, _ = serve(t, host.Config{Dir: "../testdata/guests", TrustedProxies: loopback})
	h = lines(do(t, "GET", srv.URL+"/api/headers", nil, spoof...).body)
	for name, want := range map[string]string{"x-forwarded-for": "6.6.6.6", "x-vercel-id": "evil1::x", "x-vercel-ip-country": "KP"} {
		if h[name] != want {
			t.Errorf("trusted: the guest sees %s = %q, want the proxy's %q", name, h[name], want)
		}
	}
}

func TestEnvironmentLayers(t *testing.T) {
	requireGo(t)
	dir := servedGoAndWAT(t, nil, `{"functions": {"api/count": {}}}`)
	mustCopy(t, "../testdata/guests/api/wasi/main.go", filepath.Join(dir, "api", "wasi", "main.go"))
	writeConfig(t, dir, ".env", "# comment\nexport FROM_DOTENV=\"a b\"\nOVERRIDE=dotenv\nVERCEL_ENV=from-dotenv\n")
	writeConfig(t, dir, "vercel.json", `{"env": {"FROM_VERCEL_JSON": "1", "FROM_DOTENV": "vercel.json"}, "functions": {"api/wasi": {"env": {"OVERRIDE": "function"}}}}`)
	_, srv, _ := serve(t, host.Config{Dir: dir, DeploymentID: "dpl_x", URL: "example.test:3000",
		Env: map[string]string{"FROM_FLAG": "1", "OVERRIDE": "flag"}})
	body := get(t, srv.URL+"/api/wasi").body
	env, _, _ := strings.Cut(strings.TrimPrefix(body, "env="), "\n")
	want := "FROM_DOTENV=a b,FROM_FLAG=1,FROM_VERCEL_JSON=1,OVERRIDE=function,VERCEL=1,VERCEL_DEPLOYMENT_ID=dpl_x,VERCEL_ENV=from-dotenv,VERCEL_REGION=dev1,VERCEL_URL=example.test:3000"
	if env != want {
		t.Errorf("environment\n got %s\nwant %s", env, want)
	}
	// A line npm dotenv does not read is skipped, as npm skips it; a .env
	// that cannot be read at all is a configuration error naming it.
	writeConfig(t, dir, ".env", "NOT A LINE\n")
	h, err := host.New(context.Background(), host.Config{Dir: dir, Logger: newLogger(&syncBuffer{})})
	if err != nil {
		t.Fatalf("a .env with a line npm dotenv skips: %v, want it served", err)
	}
	_ = h.Close(context.Background())
	if err := os.Remove(filepath.Join(dir, ".env")); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(dir, ".env"), 0o755); err != nil {
		t.Fatal(err)
	}
	if _, err := host.New(context.Background(), host.Config{Dir: dir, Logger: newLogger(&syncBuffer{})}); !errors.Is(err, host.ErrConfig) || !strings.Contains(err.Error(), ".env") {
		t.Errorf("a .env that cannot be read: %v, want ErrConfig naming the file", err)
	}
}

// backend is a real server on loopback that records when its connections
// close.
type backend struct {
	*httptest.Server
	closed   chan time.Time
	requests chan struct{}
}

func newBackend(t *testing.T, h http.HandlerFunc) *backend {
	b := &backend{closed: make(chan time.Time, 16), requests: make(chan struct{}, 16)}
	b.Server = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b.requests <- struct{}{}
		h(w, r)
	}))
	b.Config.ConnState = func(_ net.Conn, st http.ConnState) {
		if st == http.StateClosed {
			b.closed <- time.Now()
		}
	}
	b.Start()
	t.Cleanup(b.Close)
	return b
}

func TestOutbound(t *testing.T) {
	be := newBackend(t, func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(202)
		w.Write([]byte("from the backend"))
	})
	allowed := watDir(t, "fetch")
	writeConfig(t, allowed, "vercel.json", `{"functions": {"api/fetch.wasm": {"allowedOutboundHosts": ["127.0.0.1:*"]}}}`)
	_, open, _ := serve(t, host.Config{Dir: allowed})
	_, strict, logs := serve(t, host.Config{Dir: watDir(t, "fetch")})
	down := func() string {
		ln, _ := net.Listen("tcp", "127.0.0.1:0")
		a := ln.Addr().String()
		ln.Close()
		return a
	}()

	tests := []struct {
		name, server, url string
		status            int
		body              string
	}{
		{"allowed backend", open.URL, be.URL + "/x", 202, "from the backend"},
		{"default policy: loopback denied", strict.URL, be.URL, 200, "E6"},
		{"default policy: localhost denied", strict.URL, "http://localhost:1/", 200, "E6"},
		{"default policy: metadata denied", strict.URL, "http://169.254.169.254/latest/meta-data", 200, "E6"},
		{"allow list: other host denied", open.URL, "http://10.0.0.1/", 200, "E6"},
		{"backend down", open.URL, "http://" + down + "/", 200, "E8"},
		{"not a URL", open.URL, "::", 200, "E2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := do(t, "POST", tt.server+"/api/fetch", strings.NewReader(tt.url))
			if r.status != tt.status || r.body != tt.body {
				t.Errorf("fetch %s = %d %q, want %d %q", tt.url, r.status, r.body, tt.status, tt.body)
			}
		})
	}
	if !logHas(logs, "outbound request denied", "169.254.169.254") {
		t.Error("no log line for the denied destination")
	}
}

func TestOutboundEndsWithTheInvocation(t *testing.T) {
	hang := func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() }
	dir := watDir(t, "fetch")
	writeConfig(t, dir, "vercel.json", `{"functions": {"api/fetch.wasm": {"allowedOutboundHosts": ["127.0.0.1:*"], "supportsCancellation": true}}}`)

	t.Run("abort", func(t *testing.T) {
		be := newBackend(t, hang)
		_, srv, _ := serve(t, host.Config{Dir: dir})
		ctx, cancel := context.WithCancel(context.Background())
		req, _ := http.NewRequestWithContext(ctx, "POST", srv.URL+"/api/fetch", strings.NewReader(be.URL))
		go func() {
			if resp, err := http.DefaultClient.Do(req); err == nil {
				resp.Body.Close()
			}
		}()
		waitForConn(t, be)
		left := time.Now()
		cancel()
		closed := waitClosed(t, be)
		t.Logf("outbound connection closed %v after the client left", closed.Sub(left))
	})
	t.Run("deadline", func(t *testing.T) {
		be := newBackend(t, hang)
		_, srv, _ := serve(t, host.Config{Dir: dir, MaxDuration: 500 * time.Millisecond})
		start := time.Now()
		r := do(t, "POST", srv.URL+"/api/fetch", strings.NewReader(be.URL))
		wantError(t, r, 504, host.CodeInvocationTimeout)
		closed := waitClosed(t, be)
		t.Logf("outbound connection closed %v after the request started (deadline 500ms)", closed.Sub(start))
	})
}

func waitForConn(t *testing.T, b *backend) {
	t.Helper()
	select {
	case <-b.requests:
	case <-time.After(30 * time.Second):
		t.Fatal("the backend never received the request")
	}
}

func waitClosed(t *testing.T, b *backend) time.Time {
	t.Helper()
	select {
	case at := <-b.closed:
		return at
	case <-time.After(30 * time.Second):
		t.Fatal("the outbound connection was never closed")
		return time.Time{}
	}
}

// TestForwardingHeadersByPrefix sends, through real HTTP, headers that
// only Vercel's edge or a trusted proxy may set, with names of every
// length and in mixed case, and headers that look like them but are
// ordinary. From an untrusted peer the guest must see none of the first
// kind, neither in the list of names nor when it asks for one by name;
// from a trusted proxy it sees them all.
func TestForwardingHeadersByPrefix(t *testing.T) {
	requireGo(t)
	tests := []struct {
		name   string // as sent on the wire, in this case
		hidden bool   // from an untrusted peer
	}{
		{"X-Vercel-Ip-" + strings.Repeat("a", 61), true}, // 73 bytes: the example
		{"x-vercel-oidc-token", true},
		{"X-VERCEL-JA4-DIGEST", true},
		{"x-Vercel-Proxy-Signature", true},
		{"x-vercel-sc-headers", true},
		{"x-vercel-", true},                             // the bare prefix is a valid name
		{"x-vercel-" + strings.Repeat("b", 55), true},   // 64 bytes
		{"x-vercel-" + strings.Repeat("c", 56), true},   // 65 bytes
		{"x-vercel-" + strings.Repeat("d", 4000), true}, // under the 16 KB header limit
		{"x-middleware-subrequest", true},
		{"X-Middleware-Subrequest-Id", true},
		{"Forwarded", true},
		{"X-Forwarded-Port", true},
		{"x-forwarded-" + strings.Repeat("e", 100), true},
		{"X-REAL-IP", true},
		{"x-vercelx", false},
		{"x-vercel", false},
		{"x-forwarded", false},
		{"x-forwardedfor", false},
		{"x-real-ip-not", false},
		{"x-middleware-prefetch", false}, // sent by Next.js's client router
		{"x-custom", false},
		{"User-Agent", false},
	}
	query := ""
	for i, tt := range tests {
		sep := "&"
		if i == 0 {
			sep = "?"
		}
		query += sep + "header=" + url.QueryEscape(strings.ToLower(tt.name))
	}
	send := func(t *testing.T, base string) map[string]string {
		t.Helper()
		req, err := http.NewRequest("GET", base+"/api/headers"+query, nil)
		if err != nil {
			t.Fatal(err)
		}
		for i, tt := range tests {
			req.Header[tt.name] = []string{"client-" + strconv.Itoa(i)} // the name as written, not canonical
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 201 {
			t.Fatalf("GET /api/headers = %d %q", resp.StatusCode, body)
		}
		seen := map[string]string{}
		for _, l := range strings.Split(string(body), "\n") {
			if k, v, ok := strings.Cut(l, ": "); ok {
				seen[k] = v
			}
		}
		return seen
	}
	check := func(t *testing.T, seen map[string]string, trusted bool) {
		for i, tt := range tests {
			name := strings.ToLower(tt.name)
			label := name
			if len(label) > 40 {
				label = label[:40] + "...(" + strconv.Itoa(len(name)) + " bytes)"
			}
			t.Run(label, func(t *testing.T) {
				want := "client-" + strconv.Itoa(i)
				listed, named := seen[name], seen["header "+name]
				// Under some names (x-real-ip) the host sets its own
				// value: what must not reach the guest is the client's.
				if tt.hidden && !trusted {
					if listed == want || named == want {
						t.Errorf("the guest sees the client's %s (listed %q, by name %q), want it hidden", label, listed, named)
					}
					return
				}
				if listed != want || named != want {
					t.Errorf("the guest sees %s listed as %q and by name as %q, want the client's %q", label, listed, named, want)
				}
			})
		}
	}
	t.Run("untrusted", func(t *testing.T) {
		_, srv, _ := serve(t, host.Config{Dir: "../testdata/guests"})
		check(t, send(t, srv.URL), false)
	})
	t.Run("trusted proxy", func(t *testing.T) {
		_, srv, _ := serve(t, host.Config{Dir: "../testdata/guests", TrustedProxies: loopback})
		check(t, send(t, srv.URL), true)
	})
}
