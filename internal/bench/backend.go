package bench

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Backend is a slow HTTP server: it holds every request until Release
// (or until Hold passes, if set) and counts the requests it holds, which
// is exactly the number of invocations waiting on it.
type Backend struct {
	URL  string
	Hold time.Duration // 0: until Release

	srv      *http.Server
	ln       net.Listener
	inflight atomic.Int64
	served   atomic.Int64
	mu       sync.Mutex
	release  chan struct{}
	pass     atomic.Bool // answer at once instead of holding
}

// SetPass makes the backend answer at once (true) or hold requests
// (false, the default).
func (b *Backend) SetPass(pass bool) { b.pass.Store(pass) }

// StartBackend listens on addr (such as 127.0.0.1:0).
func StartBackend(addr string, hold time.Duration) (*Backend, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	b := &Backend{URL: "http://" + ln.Addr().String() + "/", Hold: hold, ln: ln, release: make(chan struct{})}
	b.srv = &http.Server{Handler: b, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = b.srv.Serve(ln) }()
	return b, nil
}

// ControlPrefix starts the paths that control a backend over HTTP, for a
// backend in another process: GET count (held and served), POST release,
// POST pass and POST hold.
const ControlPrefix = "/_wfnbench/"

func (b *Backend) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if rest, ok := strings.CutPrefix(r.URL.Path, ControlPrefix); ok {
		switch rest {
		case "count":
			fmt.Fprintf(w, "%d %d", b.InFlight(), b.Served())
		case "release":
			b.Release()
		case "pass":
			b.SetPass(true)
		case "hold":
			b.SetPass(false)
		default:
			http.NotFound(w, r)
		}
		return
	}
	_, _ = io.Copy(io.Discard, r.Body)
	if b.pass.Load() {
		b.served.Add(1)
		_, _ = io.WriteString(w, "ok")
		return
	}
	b.mu.Lock()
	release := b.release
	b.mu.Unlock()
	b.inflight.Add(1)
	var timeout <-chan time.Time
	if b.Hold > 0 {
		t := time.NewTimer(b.Hold)
		defer t.Stop()
		timeout = t.C
	}
	select {
	case <-release:
	case <-timeout:
	case <-r.Context().Done():
	}
	b.inflight.Add(-1)
	b.served.Add(1)
	w.Header().Set("Content-Type", "text/plain")
	_, _ = io.WriteString(w, "ok")
}

// InFlight is the number of requests held now.
func (b *Backend) InFlight() int { return int(b.inflight.Load()) }

// Served is the number of requests answered.
func (b *Backend) Served() int { return int(b.served.Load()) }

// Release answers every request held now; later ones are held again.
func (b *Backend) Release() {
	b.mu.Lock()
	close(b.release)
	b.release = make(chan struct{})
	b.mu.Unlock()
}

// Close releases everything and stops the server.
func (b *Backend) Close() error {
	b.Release()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return b.srv.Shutdown(ctx)
}

// Addr is the backend's host:port.
func (b *Backend) Addr() string { return b.ln.Addr().String() }

// RemoteBackend controls a Backend in another process.
type RemoteBackend struct {
	URL    string // what the guests fetch
	client *http.Client
}

// NewRemoteBackend controls the backend at url (http://host:port/).
func NewRemoteBackend(url string) *RemoteBackend {
	return &RemoteBackend{URL: url, client: &http.Client{Timeout: 10 * time.Second}}
}

func (r *RemoteBackend) call(method, what string) (string, error) {
	req, err := http.NewRequest(method, strings.TrimSuffix(r.URL, "/")+ControlPrefix+what, nil)
	if err != nil {
		return "", err
	}
	resp, err := r.client.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err == nil && resp.StatusCode != 200 {
		err = fmt.Errorf("bench: backend %s: %s", what, resp.Status)
	}
	return string(b), err
}

// Count returns how many requests the backend holds and has answered.
func (r *RemoteBackend) Count() (held, served int, err error) {
	s, err := r.call("GET", "count")
	if err != nil {
		return 0, 0, err
	}
	_, err = fmt.Sscanf(s, "%d %d", &held, &served)
	return held, served, err
}

// Release answers every request held now.
func (r *RemoteBackend) Release() error { _, err := r.call("POST", "release"); return err }

// SetPass makes the backend answer at once (true) or hold (false).
func (r *RemoteBackend) SetPass(pass bool) error {
	what := "hold"
	if pass {
		what = "pass"
	}
	_, err := r.call("POST", what)
	return err
}
