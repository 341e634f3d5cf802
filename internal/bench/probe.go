package bench

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// Prober sends sequential requests on one keep-alive connection and times
// each to its first response byte (httptrace GotFirstResponseByte), so a
// TCP connect is not counted once the connection is open.
type Prober struct {
	url    string
	client *http.Client
}

// NewProber returns a prober of url.
func NewProber(url string) *Prober {
	tr := &http.Transport{MaxConnsPerHost: 1, MaxIdleConnsPerHost: 1, DisableCompression: true, Proxy: nil}
	return &Prober{url: url, client: &http.Client{Transport: tr, Timeout: 30 * time.Second}}
}

// ErrNotReused is returned by Probe when the request needed a new
// connection, so its time would include a connect.
var ErrNotReused = errors.New("bench: the keep-alive connection was not reused")

// Probe sends one GET and returns the time to the first response byte and
// the body. err is ErrNotReused (with the other results valid) when a new
// connection had to be opened.
func (p *Prober) Probe(ctx context.Context) (ttfb time.Duration, status int, body string, err error) {
	return p.ProbeURL(ctx, p.url)
}

// ProbeURL is Probe of another URL on the same server.
func (p *Prober) ProbeURL(ctx context.Context, url string) (ttfb time.Duration, status int, body string, err error) {
	var first time.Time
	reused := false
	trace := &httptrace.ClientTrace{
		GotConn:              func(info httptrace.GotConnInfo) { reused = info.Reused },
		GotFirstResponseByte: func() { first = time.Now() },
	}
	req, err := http.NewRequestWithContext(httptrace.WithClientTrace(ctx, trace), "GET", url, nil)
	if err != nil {
		return 0, 0, "", err
	}
	t0 := time.Now()
	resp, err := p.client.Do(req)
	if err != nil {
		return 0, 0, "", err
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return 0, resp.StatusCode, "", err
	}
	ttfb = first.Sub(t0)
	if !reused {
		err = ErrNotReused
	}
	return ttfb, resp.StatusCode, string(b), err
}

// Close closes the connection.
func (p *Prober) Close() { p.client.CloseIdleConnections() }

// Holders are n concurrent requests, each on its own connection, that the
// server is expected to hold (for density: each one is an invocation
// waiting on a slow backend).
type Holders struct {
	N                  int
	OK, Non2xx, Errs   atomic.Int64
	mu                 sync.Mutex
	firstErr, firstBad string
	wg                 sync.WaitGroup
	conns              []net.Conn
	ends               []time.Time     // when each response's head came, under mu
	lat                []time.Duration // from each request's write to its response's head, under mu
}

// Latencies returns, for each response that came, the time from its
// request's first byte written to its head read.
func (h *Holders) Latencies() []time.Duration {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.lat)
}

// Ends returns when each response that came had its head read.
func (h *Holders) Ends() []time.Time {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.ends)
}

// Hold starts n POST requests of body to addr+path, dialling at most
// dialPar connections at a time (the listen backlog is finite), and
// returns at once. Cancel ctx to drop them.
func Hold(ctx context.Context, addr, path string, body []byte, n, dialPar int) *Holders {
	return HoldPaced(ctx, addr, path, body, n, dialPar, 0)
}

// HoldPaced is Hold with the requests started at rate per second (the
// i-th dials at i/rate seconds after the call; 0: all at once), an open
// loop: a slow server does not slow the arrivals.
func HoldPaced(ctx context.Context, addr, path string, body []byte, n, dialPar int, rate float64) *Holders {
	h := &Holders{N: n, conns: make([]net.Conn, n)}
	began := time.Now()
	req := []byte("POST " + path + " HTTP/1.1\r\nHost: " + addr + "\r\nUser-Agent: wfnbench\r\nContent-Length: " +
		strconv.Itoa(len(body)) + "\r\n\r\n" + string(body))
	sem := make(chan struct{}, dialPar)
	for i := range n {
		h.wg.Go(func() {
			if rate > 0 {
				t := time.NewTimer(time.Until(began.Add(time.Duration(float64(i) / rate * float64(time.Second)))))
				select {
				case <-t.C:
				case <-ctx.Done():
					t.Stop()
					h.fail(ctx.Err())
					return
				}
			}
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
				h.fail(ctx.Err())
				return
			}
			d := net.Dialer{Timeout: 30 * time.Second}
			conn, err := d.DialContext(ctx, "tcp", addr)
			var sent time.Time
			if err == nil {
				sent = time.Now()
				_, err = conn.Write(req)
			}
			<-sem
			if err != nil {
				h.fail(err)
				if conn != nil {
					conn.Close()
				}
				return
			}
			h.mu.Lock()
			h.conns[i] = conn
			h.mu.Unlock()
			stop := context.AfterFunc(ctx, func() { conn.Close() })
			defer stop()
			defer conn.Close()
			resp, err := http.ReadResponse(bufio.NewReaderSize(conn, 1024), nil)
			if err != nil {
				h.fail(err)
				return
			}
			end := time.Now()
			h.mu.Lock()
			h.ends = append(h.ends, end)
			h.lat = append(h.lat, end.Sub(sent))
			h.mu.Unlock()
			b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
			resp.Body.Close()
			if resp.StatusCode/100 == 2 {
				h.OK.Add(1)
				return
			}
			h.Non2xx.Add(1)
			h.mu.Lock()
			if h.firstBad == "" {
				h.firstBad = fmt.Sprintf("%d %s %q", resp.StatusCode, resp.Header.Get("X-Wfn-Error"), b)
			}
			h.mu.Unlock()
		})
	}
	return h
}

func (h *Holders) fail(err error) {
	h.Errs.Add(1)
	h.mu.Lock()
	if h.firstErr == "" {
		h.firstErr = err.Error()
	}
	h.mu.Unlock()
}

// Done is the number of requests finished, well or not.
func (h *Holders) Done() int { return int(h.OK.Load() + h.Non2xx.Load() + h.Errs.Load()) }

// Wait waits for every request to finish, up to timeout; it reports
// whether they all did.
func (h *Holders) Wait(timeout time.Duration) bool {
	done := make(chan struct{})
	go func() { h.wg.Wait(); close(done) }()
	select {
	case <-done:
		return true
	case <-time.After(timeout):
		return false
	}
}

// Abort closes every connection.
func (h *Holders) Abort() {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, c := range h.conns {
		if c != nil {
			c.Close()
		}
	}
}

// Failure describes the first failures, or "" when there were none.
func (h *Holders) Failure() string {
	h.mu.Lock()
	defer h.mu.Unlock()
	s := ""
	if h.firstBad != "" {
		s = "first non-2xx: " + h.firstBad
	}
	if h.firstErr != "" {
		if s != "" {
			s += "; "
		}
		s += "first error: " + h.firstErr
	}
	return s
}
