// Package bench measures wfn against a native net/http handler in the same
// run: warm throughput and latency over loopback HTTP, cold starts, server
// start time and density (invocations held at once). The wfnbench command
// (internal/bench/wfnbench) prints the comparison as one table; the
// Benchmark functions of this package make the same comparisons for
// benchstat.
package bench

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"sync"
	"time"
)

// Load configures a closed-loop load: Conns workers, each with its own
// keep-alive connection, each sending its next request when the last
// response has been read.
type Load struct {
	Addr     string // host:port
	Path     string // such as /api/hello
	Conns    int
	Warmup   time.Duration // requests that end before it are not counted
	Duration time.Duration // the measured window, after Warmup
}

// LoadResult is what one load run measured in its window.
type LoadResult struct {
	Requests           int           // 2xx responses that ended in the window
	Non2xx             int           // other statuses in the window
	Errors             int           // transport errors (each costs a reconnect)
	Elapsed            time.Duration // the window
	P50, P90, P99, Max time.Duration
	FirstErr           error // the first transport error, or nil
}

// RPS is 2xx responses per second in the window.
func (r LoadResult) RPS() float64 {
	if r.Elapsed <= 0 {
		return 0
	}
	return float64(r.Requests) / r.Elapsed.Seconds()
}

// Run drives the load until the window ends or ctx is done. Each worker
// writes a prebuilt request on a raw connection and parses the response
// with http.ReadResponse: no goroutines beside the workers, so the
// generator takes as little as it can of the cores it shares with the
// server.
func (l Load) Run(ctx context.Context) (LoadResult, error) {
	if l.Conns <= 0 || l.Duration <= 0 {
		return LoadResult{}, errors.New("bench: Load needs Conns and Duration")
	}
	req := GetRequest(l.Addr, l.Path)
	start := time.Now().Add(l.Warmup)
	end := start.Add(l.Duration)
	ctx, cancel := context.WithDeadline(ctx, end)
	defer cancel()

	type worker struct {
		lat            []time.Duration
		non2xx, errors int
		firstErr       error
	}
	ws := make([]worker, l.Conns)
	var wg sync.WaitGroup
	for i := range ws {
		w := &ws[i]
		w.lat = make([]time.Duration, 0, 4096)
		wg.Go(func() {
			c, stop := newRawConn(ctx, l.Addr)
			defer func() { stop(); c.close() }()
			for ctx.Err() == nil {
				t0 := time.Now()
				status, keep, err := c.do(req)
				t1 := time.Now()
				if err != nil && ctx.Err() != nil {
					return // the window ended during the request
				}
				if in := !t0.Before(start) && !t1.After(end); in {
					switch {
					case err != nil:
						w.errors++
						if w.firstErr == nil {
							w.firstErr = err
						}
					case status/100 == 2:
						w.lat = append(w.lat, t1.Sub(t0))
					default:
						w.non2xx++
					}
				}
				if err != nil || !keep {
					stop()
					c.close()
					c, stop = newRawConn(ctx, l.Addr)
				}
			}
		})
	}
	wg.Wait()
	var res LoadResult
	var all []time.Duration
	for _, w := range ws {
		all = append(all, w.lat...)
		res.Non2xx += w.non2xx
		res.Errors += w.errors
		if res.FirstErr == nil {
			res.FirstErr = w.firstErr
		}
	}
	res.Requests = len(all)
	res.Elapsed = l.Duration
	if now := time.Now(); now.Before(end) { // cancelled early
		res.Elapsed = max(now.Sub(start), 0)
	}
	slices.Sort(all)
	res.P50, res.P90, res.P99 = Percentile(all, 50), Percentile(all, 90), Percentile(all, 99)
	if len(all) > 0 {
		res.Max = all[len(all)-1]
	}
	return res, nil
}

// rawConn is one keep-alive HTTP/1.1 connection, dialled on first use.
type rawConn struct {
	addr string
	mu   sync.Mutex
	conn net.Conn
	br   *bufio.Reader
	dead bool
}

// Conn is one keep-alive HTTP/1.1 connection to addr, dialled on first
// use, for benchmarks that drive a server from several goroutines (one
// Conn each).
type Conn struct{ c *rawConn }

// NewConn returns a connection to addr (host:port).
func NewConn(addr string) *Conn { return &Conn{&rawConn{addr: addr}} }

// GetRequest returns the bytes of a GET of path from addr, for Conn.Do.
func GetRequest(addr, path string) []byte {
	return []byte("GET " + path + " HTTP/1.1\r\nHost: " + addr + "\r\nUser-Agent: wfnbench\r\n\r\n")
}

// Do sends req and reads the response. After an error, or when the server
// closes the connection, the next Do dials a new one.
func (c *Conn) Do(req []byte) (status int, err error) {
	status, keep, err := c.c.do(req)
	if err != nil || !keep {
		c.c.close()
		c.c = &rawConn{addr: c.c.addr}
	}
	return status, err
}

// Close closes the connection.
func (c *Conn) Close() { c.c.close() }

// newRawConn returns a connection that closes when ctx is done (which
// unblocks a read in flight), and the func that stops that.
func newRawConn(ctx context.Context, addr string) (*rawConn, func() bool) {
	c := &rawConn{addr: addr}
	return c, context.AfterFunc(ctx, c.close)
}

// do sends req and reads the response; keep is false when the server
// closes the connection after it.
func (c *rawConn) do(req []byte) (status int, keep bool, err error) {
	c.mu.Lock()
	if c.dead {
		c.mu.Unlock()
		return 0, false, net.ErrClosed
	}
	if c.conn == nil {
		conn, err := net.DialTimeout("tcp", c.addr, 5*time.Second)
		if err != nil {
			c.mu.Unlock()
			return 0, false, err
		}
		c.conn, c.br = conn, bufio.NewReaderSize(conn, 4096)
	}
	conn, br := c.conn, c.br
	c.mu.Unlock()
	if _, err := conn.Write(req); err != nil {
		return 0, false, err
	}
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		return 0, false, err
	}
	_, err = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if err != nil {
		return 0, false, err
	}
	return resp.StatusCode, !resp.Close, nil
}

func (c *rawConn) close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.dead = true
	if c.conn != nil {
		c.conn.Close()
	}
}

// Percentile returns the p-th percentile (nearest rank) of sorted.
func Percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(float64(len(sorted))*p/100+0.5) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}

// Median returns the median of xs (the mean of the two middle values for
// an even count), without changing xs.
func Median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Sorted(slices.Values(xs))
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// String formats a result for a log line.
func (r LoadResult) String() string {
	return fmt.Sprintf("%.0f req/s, p50 %s, p99 %s, %d non-2xx, %d errors", r.RPS(), r.P50, r.P99, r.Non2xx, r.Errors)
}
