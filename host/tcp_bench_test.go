package host_test

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"github.com/wfn-dev/wfn/host"
)

// BenchmarkTCPRoundTrip is one round trip ("ping\n", a 5-byte answer) on
// a loopback connection to the same line server: from a C guest through
// the tcp_* imports (one invocation makes 1000 on one connection, so the
// invocation's own cost is spread thin), and from Go with a net.Conn.
func BenchmarkTCPRoundTrip(b *testing.B) {
	requireClang(b)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				buf := make([]byte, 5)
				for {
					if _, err := io.ReadFull(c, buf); err != nil {
						return
					}
					if _, err := c.Write([]byte("pong\n")); err != nil {
						return
					}
				}
			}()
		}
	}()
	addr := ln.Addr().String()
	const perInvocation = 1000
	b.Run("native", func(b *testing.B) {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			b.Fatal(err)
		}
		defer c.Close()
		buf := make([]byte, 5)
		cpu := cpuTime()
		for b.Loop() {
			if _, err := c.Write([]byte("ping\n")); err != nil {
				b.Fatal(err)
			}
			if _, err := io.ReadFull(c, buf); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(cpuTime()-cpu)/float64(b.N), "cpu-ns/op")
	})
	b.Run("c-guest", func(b *testing.B) {
		h := quietHostConfig(b, host.Config{Dir: tcpDir(b, addr)})
		req := httptest.NewRequest("GET", "/api/tcp?op=rtt&n="+strconv.Itoa(perInvocation)+"&addr="+addr, nil)
		w := newDiscardWriter()
		h.ServeHTTP(w, req)
		if w.status != 200 || w.n != 2 {
			b.Fatalf("warm-up: %d, %d bytes", w.status, w.n)
		}
		b.ResetTimer()
		cpu := cpuTime()
		for i := 0; i < b.N; i += perInvocation {
			w.reset()
			h.ServeHTTP(w, req)
			if w.n != 2 {
				b.Fatalf("the guest's round trips failed (%d bytes of answer)", w.n)
			}
		}
		b.ReportMetric(float64(cpuTime()-cpu)/float64(b.N), "cpu-ns/op")
	})
}

// BenchmarkTCPAbortClose is the time from a client's disconnect to the
// moment the backend sees the aborted invocation's connection close
// (abi/SPEC.md section 5c: within 100 ms), reported as close-ms/op; the
// op itself also holds the request's start.
func BenchmarkTCPAbortClose(b *testing.B) {
	requireClang(b)
	held := make(chan net.Conn, 1)
	closed := make(chan time.Time, 1)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				buf := make([]byte, 5) // "held\n"
				if _, err := io.ReadFull(c, buf); err != nil {
					return
				}
				held <- c
				_, _ = io.Copy(io.Discard, c)
				closed <- time.Now()
			}()
		}
	}()
	addr := ln.Addr().String()
	srv := httptest.NewServer(quietHostConfig(b, host.Config{Dir: tcpDir(b, addr)}))
	defer srv.Close()
	var total time.Duration
	for b.Loop() {
		ctx, cancel := context.WithCancel(context.Background())
		req, _ := http.NewRequestWithContext(ctx, "GET", srv.URL+"/api/tcp?op=hold&addr="+addr, nil)
		go func() {
			if resp, err := http.DefaultClient.Do(req); err == nil {
				resp.Body.Close()
			}
		}()
		<-held
		start := time.Now()
		cancel()
		total += (<-closed).Sub(start)
	}
	b.ReportMetric(float64(total.Microseconds())/1000/float64(b.N), "close-ms/op")
}
