// Package admin serves a host's operator endpoints under /_wfn/, apart
// from its functions: the health and readiness checks, the cache purge, the Prometheus
// metrics and the Functions dashboard. Caddy's admin API is the model: the
// endpoints are mounted under /_wfn/ on the functions' listener by default
// (Mount), or served on an address of their own (a Server is an
// http.Handler).
//
// /_wfn/readyz answers 503 while functions are still loading, and from the
// moment the server begins shutting down (Drain), so that load balancers
// stop sending it requests; /_wfn/healthz answers 200 while the process
// is alive.
//
// Every endpoint but /_wfn/healthz, /_wfn/readyz and /_wfn/cache/purge answers only the
// peers of Options.AllowFrom (loopback by default) and refuses a request
// that came through a proxy (it carries forwarding headers): the same rule
// as the purge endpoint, whose own rules are the host's
// (host.Config.PurgeFrom). Among them are the Go runtime's profiles, for
// `go tool pprof`: /_wfn/debug/pprof/profile?seconds=N (CPU) and
// /_wfn/debug/pprof/NAME (allocs, heap, goroutine, mutex, block).
//
//	mon := admin.NewMonitor(slog.NewTextHandler(os.Stderr, nil))
//	h, _ := host.New(ctx, host.Config{Dir: dir, Logger: slog.New(mon), AccessLog: true, OnAccess: mon.Access})
//	a, _ := admin.New(h, admin.Options{Monitor: mon})
//	defer a.Close()
//	http.ListenAndServe("127.0.0.1:3000", a.Mount(h))
package admin

import (
	"embed"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/netip"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/wfn-dev/wfn/host"
)

// Prefix is the path under which the endpoints are mounted.
const Prefix = "/_wfn/"

// Options configure a Server.
type Options struct {
	// AllowFrom are the peers, by socket address, allowed to the
	// metrics and the dashboard. Default: loopback only.
	AllowFrom []netip.Prefix
	// Monitor gives the dashboard its invocations and logs, and the
	// metrics their request counts and durations. Nil: the dashboard
	// shows the functions only, and the metrics the host's counters.
	Monitor *Monitor
}

// Server serves the operator endpoints of one host. It is an http.Handler
// for paths under Prefix.
type Server struct {
	h     *host.Host
	allow []netip.Prefix
	mon   *Monitor
	mux   *http.ServeMux

	ending  chan struct{} // closed by EndStreams
	endOnce sync.Once

	draining atomic.Bool // set by Drain
}

var _ http.Handler = (*Server)(nil)

//go:embed ui
var ui embed.FS

var loopback = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")}

// ErrorLogFile is the file, under the host's cache directory, where the
// Monitor keeps the last error logs across restarts.
const ErrorLogFile = "error-log.db"

// New returns the operator endpoints of h. With a Monitor, it opens the
// error log kept in h's cache directory (ErrorLogFile); Close closes it.
func New(h *host.Host, opts Options) (*Server, error) {
	s := &Server{h: h, allow: opts.AllowFrom, mon: opts.Monitor, mux: http.NewServeMux(), ending: make(chan struct{})}
	if len(s.allow) == 0 {
		s.allow = loopback
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}), hostCollector{h})
	if s.mon != nil {
		if err := s.mon.open(filepath.Join(h.CacheDir(), ErrorLogFile)); err != nil {
			return nil, err
		}
		reg.MustRegister(s.mon.shared.requests, s.mon.shared.durations)
	}
	static, err := fs.Sub(ui, "ui")
	if err != nil {
		return nil, fmt.Errorf("wfn: admin: %w", err)
	}
	s.mux.HandleFunc("GET /_wfn/healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = w.Write([]byte("ok\n"))
	})
	s.mux.HandleFunc("GET /_wfn/readyz", func(w http.ResponseWriter, _ *http.Request) {
		status, text := readiness(s.draining.Load(), h.Functions())
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		w.WriteHeader(status)
		_, _ = io.WriteString(w, text)
	})
	// The probes answer another method 405 with Allow (RFC 9110 section
	// 15.5.6), not the 404 of the catch-all "/_wfn/" below, which would
	// otherwise take it: the path is right, the method is not.
	s.mux.HandleFunc("/_wfn/healthz", probeMethodNotAllowed)
	s.mux.HandleFunc("/_wfn/readyz", probeMethodNotAllowed)
	s.mux.Handle("/_wfn/cache/purge", h.PurgeHandler())
	s.mux.Handle("GET /_wfn/metrics", s.guard(promhttp.HandlerFor(reg, promhttp.HandlerOpts{})))
	s.mux.Handle("GET /_wfn/{$}", s.guard(http.StripPrefix("/_wfn", http.FileServerFS(static))))
	s.mux.Handle("GET /_wfn/ui/", s.guard(http.StripPrefix("/_wfn/ui", http.FileServerFS(static))))
	s.mux.Handle("GET /_wfn/api/functions", s.guard(http.HandlerFunc(s.serveFunctions)))
	s.mux.Handle("GET /_wfn/api/logs", s.guard(http.HandlerFunc(s.serveLogs)))
	s.mux.Handle("GET /_wfn/events", s.guard(http.HandlerFunc(s.serveEvents)))
	s.mux.Handle("GET /_wfn/debug/pprof/profile", s.guard(http.HandlerFunc(serveCPUProfile)))
	s.mux.Handle("GET /_wfn/debug/pprof/{name}", s.guard(http.HandlerFunc(serveProfile)))
	s.mux.HandleFunc("/_wfn/", func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, "404 page not found", http.StatusNotFound)
	})
	return s, nil
}

// Close ends the event streams and closes the Monitor's error log, if New
// opened it.
func (s *Server) Close() error {
	s.EndStreams()
	if s.mon != nil {
		return s.mon.close()
	}
	return nil
}

// ServeHTTP serves the endpoints under Prefix; other paths get 404.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mux.ServeHTTP(w, r)
}

// Mount returns a handler that sends the paths under Prefix to s and the
// others to site (the host).
func (s *Server) Mount(site http.Handler) http.Handler {
	return split(site, s)
}

// Drain makes /_wfn/readyz answer 503 "draining: shutting down" from now
// on, whatever the functions' state; /_wfn/healthz still answers 200, the
// process being alive. It cannot be undone, and is safe to call more than
// once and concurrently with requests.
//
// Call it when the server begins shutting down, before
// http.Server.Shutdown: a failing readiness probe is what takes an
// endpoint out of a load balancer's rotation (Kubernetes removes a pod
// whose readiness fails from its Service's endpoints), so that no new
// request is sent to a server that is draining. Shutdown closes its
// listeners first, so on the functions' listener the probe is then
// refused, which fails it too; an admin address of its own (a Server
// served apart, as wfn serve --admin-listen does) keeps answering 503
// until it is closed, after the drain. http.Server.RegisterOnShutdown
// would run Drain only after the listeners are closed.
func (s *Server) Drain() {
	s.draining.Store(true)
}

// readiness answers /_wfn/readyz: 503 once draining (Drain); else 200
// once no function is still being built or compiled (wfn serve listens,
// and healthz answers, before they are), else 503; the body says why,
// and counts the functions loading, and those that failed to load (which
// do not make the host unready: the others serve).
func readiness(draining bool, fns []host.Function) (status int, text string) {
	if draining {
		return http.StatusServiceUnavailable, "draining: shutting down\n"
	}
	loading, failed := 0, 0
	for _, fn := range fns {
		switch {
		case fn.Loading:
			loading++
		case fn.Err != nil:
			failed++
		}
	}
	if loading > 0 {
		return http.StatusServiceUnavailable, fmt.Sprintf("loading: %d of %d functions loaded\n", len(fns)-loading, len(fns))
	}
	return http.StatusOK, fmt.Sprintf("ready: %d functions, %d failed to load\n", len(fns), failed)
}

// probeMethodNotAllowed answers /_wfn/healthz and /_wfn/readyz with a
// method other than GET or HEAD.
func probeMethodNotAllowed(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Allow", "GET, HEAD")
	http.Error(w, "405 method not allowed: GET or HEAD", http.StatusMethodNotAllowed)
}

// MountHealth returns a handler that sends /_wfn/healthz and
// /_wfn/readyz to s and every other path to site: the functions' listener
// when s has an address of its own, so that load balancers and
// orchestrators still find the probes there.
func (s *Server) MountHealth(site http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/_wfn/healthz" || r.URL.Path == "/_wfn/readyz" {
			s.ServeHTTP(w, r)
			return
		}
		site.ServeHTTP(w, r)
	})
}

func split(site, admin http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, Prefix) {
			admin.ServeHTTP(w, r)
			return
		}
		site.ServeHTTP(w, r)
	})
}

// forwardingHeaders are set by proxies: a request carrying one came
// through a proxy, whose own peer address is all AllowFrom sees.
var forwardingHeaders = []string{"Forwarded", "X-Forwarded-For", "X-Forwarded-Host", "X-Real-Ip", "Via"}

// guard lets through the requests of allowed peers that did not come
// through a proxy, and answers the others 403.
func (s *Server) guard(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ap, err := netip.ParseAddrPort(r.RemoteAddr)
		allowed := false
		for _, p := range s.allow {
			if err == nil && p.Contains(ap.Addr().Unmap()) {
				allowed = true
			}
		}
		for _, h := range forwardingHeaders {
			if r.Header.Get(h) != "" {
				allowed = false
			}
		}
		if !allowed {
			http.Error(w, "403 forbidden: the operator endpoints answer "+prefixList(s.allow)+" only, not through a proxy (wfn serve --admin-from)", http.StatusForbidden)
			return
		}
		next.ServeHTTP(w, r)
	})
}

func prefixList(ps []netip.Prefix) string {
	s := make([]string, len(ps))
	for i, p := range ps {
		s[i] = p.String()
	}
	return strings.Join(s, ", ")
}

// FunctionInfo is one function in /_wfn/api/functions.
type FunctionInfo struct {
	Route  string `json:"route"`
	Source string `json:"source"`
	// State is "loading" (being built or compiled), "ready", "error"
	// (it cannot be served), or "stale" (the latest reload could not
	// build it, and the former version serves).
	State string `json:"state"`
	// Error is why the function cannot be served, or for "stale" why the
	// latest reload failed.
	Error string `json:"error,omitempty"`
	// Requests counts the requests the Monitor saw for it.
	Requests uint64 `json:"requests"`
	// P50 and P99 are the duration percentiles of its latest requests
	// (up to 1,000), in milliseconds; 0 before its first.
	P50 float64 `json:"p50_ms"`
	P99 float64 `json:"p99_ms"`
	// Live and Idle are its instances now.
	Live int `json:"live"`
	Idle int `json:"idle"`
}

func (s *Server) functions() []FunctionInfo {
	st := s.h.Stats()
	fns := s.h.Functions()
	out := make([]FunctionInfo, len(fns))
	for i, fn := range fns {
		fi := FunctionInfo{Route: fn.Route, Source: fn.Source, State: "ready"}
		switch {
		case fn.Loading:
			fi.State = "loading"
		case fn.Err != nil:
			fi.State, fi.Error = "error", fn.Err.Error()
		case fn.ReloadErr != nil:
			fi.State, fi.Error = "stale", fn.ReloadErr.Error()
		}
		for _, fs := range st.Functions {
			if fs.Source == fn.Source {
				fi.Live, fi.Idle = fs.Live, fs.Idle
			}
		}
		if s.mon != nil {
			fi.Requests, fi.P50, fi.P99 = s.mon.percentiles(fn.Source)
		}
		out[i] = fi
	}
	return out
}

func (s *Server) serveFunctions(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, s.functions())
}

// serveLogs answers the logs kept: ?errors=1 for the error log kept on
// disk, else the recent ones in memory; ?fn= and ?level= (debug, info,
// warn, error: that level and above) filter them.
func (s *Server) serveLogs(w http.ResponseWriter, r *http.Request) {
	if s.mon == nil {
		writeJSON(w, []Record{})
		return
	}
	var min levelFilter
	if err := min.parse(r.URL.Query().Get("level")); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	recs := s.mon.logs(r.URL.Query().Get("errors") != "", r.URL.Query().Get("fn"), min)
	writeJSON(w, recs)
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	_ = json.NewEncoder(w).Encode(v) // an error: the client is gone
}
