package cli_test

import (
	"encoding/json"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestServeLogFormat checks the access line of a request in both formats.
func TestServeLogFormat(t *testing.T) {
	for _, format := range []string{"text", "json"} {
		t.Run(format, func(t *testing.T) {
			s := startServe(t, "--listen", "127.0.0.1:0", "--cache-dir", t.TempDir(), "--log-format", format, watDir(t, "hello"))
			get(t, "http://"+s.addr+"/api/hello")
			if err := s.stop(t); err != nil {
				t.Fatal(err)
			}
			var line string
			for _, l := range strings.Split(s.stderr.String(), "\n") {
				if strings.Contains(l, "request") && strings.Contains(l, "/api/hello") {
					line = l
				}
			}
			switch format {
			case "text":
				re := regexp.MustCompile(`level=INFO msg=request method=GET path=/api/hello status=200 duration_ms=[0-9.]+ bytes=15 fn=api/hello.wasm id=dev1::\S+ fresh=(true|false) cache=MISS client=127\.0\.0\.1 user_agent=Go-http-client/1\.1$`)
				if !re.MatchString(line) {
					t.Errorf("access line %q, want it to match %s", line, re)
				}
			case "json":
				var e struct {
					Msg, Method, Path, Fn, ID, Cache, Client string
					Status                                   int
					Bytes                                    int
					Fresh                                    bool
					DurationMS                               float64 `json:"duration_ms"`
				}
				if err := json.Unmarshal([]byte(line), &e); err != nil || e.Msg != "request" || e.Method != "GET" || e.Path != "/api/hello" ||
					e.Status != 200 || e.Bytes != 15 || e.Fn != "api/hello.wasm" || !strings.HasPrefix(e.ID, "dev1::") || e.Cache != "MISS" || e.DurationMS <= 0 ||
					e.Client != "127.0.0.1" {
					t.Errorf("access line %q (%v): %+v", line, err, e)
				}
				// Durations say their unit, as in the text format.
				found := false
				for _, l := range strings.Split(s.stderr.String(), "\n") {
					var loaded map[string]any
					if json.Unmarshal([]byte(l), &loaded) == nil && loaded["msg"] == "functions loaded" {
						found = true
						took, _ := loaded["took"].(string)
						if _, err := time.ParseDuration(took); err != nil {
							t.Errorf("functions loaded line %q: took is not a duration with its unit: %v", l, err)
						}
					}
				}
				if !found {
					t.Errorf("no functions loaded line in:\n%s", s.stderr)
				}
			}
		})
	}
	if _, _, err := run(t, "build", "--log-format", "xml", watDir(t, "hello")); err == nil || !strings.Contains(err.Error(), "--log-format") {
		t.Errorf("--log-format xml: %v, want an error naming the flag", err)
	}
}

var adminURL = regexp.MustCompile(`msg="operator endpoints" url=(http://\S+)/_wfn/`)

// TestServeAdminListen checks the operator endpoints on an address of
// their own: the functions' listener keeps only the health check.
func TestServeAdminListen(t *testing.T) {
	s := startServe(t, "--listen", "127.0.0.1:0", "--admin-listen", "127.0.0.1:0", "--cache-dir", t.TempDir(), watDir(t, "hello"))
	m := adminURL.FindStringSubmatch(s.stderr.String())
	if m == nil {
		t.Fatalf("no operator endpoints line in:\n%s", s.stderr)
	}
	admin, site := m[1], "http://"+s.addr
	for _, tt := range []struct {
		url    string
		status int
	}{
		{site + "/_wfn/healthz", 200},
		{site + "/_wfn/metrics", 404},
		{site + "/_wfn/", 404},
		{site + "/api/hello", 200},
		{admin + "/_wfn/healthz", 200},
		{admin + "/_wfn/metrics", 200},
		{admin + "/_wfn/", 200},
		{admin + "/api/hello", 404},
	} {
		if status, body := get(t, tt.url); status != tt.status {
			t.Errorf("GET %s = %d %q, want %d", tt.url, status, body, tt.status)
		}
	}
	// The probes on both listeners: another method than GET or HEAD is
	// 405 with Allow (RFC 9110 section 15.5.6), not 404.
	for _, url := range []string{site + "/_wfn/healthz", site + "/_wfn/readyz", admin + "/_wfn/healthz", admin + "/_wfn/readyz"} {
		req, err := http.NewRequest(http.MethodPost, url, nil)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatalf("POST %s: %v", url, err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusMethodNotAllowed || resp.Header.Get("Allow") != "GET, HEAD" {
			t.Errorf("POST %s = %d, Allow %q; want 405, Allow: GET, HEAD", url, resp.StatusCode, resp.Header.Get("Allow"))
		}
	}
	if status, body := get(t, admin+"/_wfn/metrics"); status != http.StatusOK || !strings.Contains(body, `wfn_requests_total{fn="api/hello.wasm",status="200"} 1`) {
		t.Errorf("metrics = %d, want the one request to /api/hello:\n%s", status, body)
	}
	if err := s.stop(t); err != nil {
		t.Fatal(err)
	}
}

// TestServeReadyzDraining: from the moment serve begins shutting down
// (its context cancelled, as on SIGTERM), /_wfn/readyz on the admin
// listener of --admin-listen answers 503 with why, for as long as an
// invocation is in flight, so that a load balancer stops sending new
// requests; healthz there still answers 200. The admin listener was
// closed at once, before the drain.
func TestServeReadyzDraining(t *testing.T) {
	s := startServe(t, "--listen", "127.0.0.1:0", "--admin-listen", "127.0.0.1:0", "--cache-dir", t.TempDir(), watDir(t, "hold"))
	m := adminURL.FindStringSubmatch(s.stderr.String())
	if m == nil {
		t.Fatalf("no operator endpoints line in:\n%s", s.stderr)
	}
	admin := m[1]
	// The functions load in the background: ready once hold is loaded.
	waitFor(t, "readyz to answer 200", func() bool {
		status, _ := get(t, admin+"/_wfn/readyz")
		return status == http.StatusOK
	})
	h := hold(t, s.addr)
	s.cancel()
	waitListenerClosed(t, s.addr) // the drain has begun
	if status, body := get(t, admin+"/_wfn/readyz"); status != http.StatusServiceUnavailable || body != "draining: shutting down\n" {
		t.Errorf("GET /_wfn/readyz during the drain = %d %q, want 503 %q", status, body, "draining: shutting down\n")
	}
	if status, body := get(t, admin+"/_wfn/healthz"); status != http.StatusOK {
		t.Errorf("GET /_wfn/healthz during the drain = %d %q, want 200", status, body)
	}
	select {
	case <-s.done:
		t.Fatalf("Run returned (%v) with a request in flight", s.err)
	default:
	}
	if body, err := h.release(t); err != nil || body != "done" {
		t.Errorf("held request = %q, %v; want done", body, err)
	}
	if err := s.wait(t); err != nil {
		t.Errorf("Run = %v, want nil after drain", err)
	}
	// Run closed the admin listener on its way out.
	waitListenerClosed(t, strings.TrimPrefix(admin, "http://"))
}
