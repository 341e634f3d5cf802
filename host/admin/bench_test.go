package admin_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/wfn-dev/wfn/host"
	"github.com/wfn-dev/wfn/host/admin"
)

// discard is a ResponseWriter that keeps only the status and the size.
type discard struct {
	h      http.Header
	status int
	n      int
}

func (w *discard) Header() http.Header { return w.h }
func (w *discard) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
}
func (w *discard) Write(p []byte) (int, error) {
	w.WriteHeader(200)
	w.n += len(p)
	return len(p), nil
}
func (w *discard) Flush() {}

// BenchmarkAccessLog measures what the access log costs a warm invocation
// of the smallest guest, in-process: off (no access log), text (a text
// line per request, written to io.Discard), and monitor (the line through
// the Monitor, with OnAccess counting and keeping the request, as wfn
// serve runs).
func BenchmarkAccessLog(b *testing.B) {
	cases := []struct {
		name string
		cfg  func() (host.Config, *admin.Monitor)
	}{
		{"off", func() (host.Config, *admin.Monitor) {
			return host.Config{Logger: slog.New(slog.DiscardHandler)}, nil
		}},
		{"text", func() (host.Config, *admin.Monitor) {
			return host.Config{Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), AccessLog: true}, nil
		}},
		{"monitor", func() (host.Config, *admin.Monitor) {
			mon := admin.NewMonitor(slog.NewTextHandler(io.Discard, nil))
			return host.Config{Logger: slog.New(mon), AccessLog: true, OnAccess: mon.Access}, mon
		}},
	}
	dir := watDir(b, "hello")
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			cfg, mon := c.cfg()
			cfg.Dir, cfg.CacheDir = dir, b.TempDir()
			h, err := host.New(context.Background(), cfg)
			if err != nil {
				b.Fatal(err)
			}
			defer h.Close(context.Background())
			var handler http.Handler = h
			if mon != nil {
				a, err := admin.New(h, admin.Options{Monitor: mon})
				if err != nil {
					b.Fatal(err)
				}
				defer a.Close()
				handler = a.Mount(h)
			}
			req := httptest.NewRequest("GET", "/api/hello", nil)
			w := &discard{h: http.Header{}}
			handler.ServeHTTP(w, req)
			if w.status != 200 || w.n != 15 {
				b.Fatalf("warm-up: %d, %d bytes", w.status, w.n)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				clear(w.h)
				w.status, w.n = 0, 0
				handler.ServeHTTP(w, req)
			}
		})
	}
}
