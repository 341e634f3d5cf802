package wfntest_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"github.com/wfn-dev/wfn/guests/sdk/go/wfn/internal/hostcall"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/wfn-dev/wfn/abi"
	"github.com/wfn-dev/wfn/guests/sdk/go/wfn"
	"github.com/wfn-dev/wfn/guests/sdk/go/wfn/wfntest"
)

func TestURL(t *testing.T) {
	tests := []struct {
		name string
		req  func() *http.Request
		want string
	}{
		{"path only", func() *http.Request { return httptest.NewRequest("GET", "/a?b=c", nil) }, "http://example.com/a?b=c"},
		{"absolute", func() *http.Request { return httptest.NewRequest("GET", "http://h.test:8080/a", nil) }, "http://h.test:8080/a"},
		{"tls", func() *http.Request { return httptest.NewRequest("GET", "https://h.test/a", nil) }, "https://h.test/a"},
		{"server request", func() *http.Request {
			r := httptest.NewRequest("GET", "/x", nil)
			r.Host = "served.test"
			return r
		}, "http://served.test/x"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got string
			wfntest.Do(wfn.HandlerFunc(func(w *wfn.ResponseWriter, r *wfn.Request) { got = r.URL() }), tt.req(), nil)
			if got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

// A body of known size carries Content-Length, as a client sends it.
func TestContentLengthHeader(t *testing.T) {
	var names []string
	var cl string
	wfntest.Do(wfn.HandlerFunc(func(w *wfn.ResponseWriter, r *wfn.Request) {
		names = r.HeaderNames()
		cl, _ = r.Header("Content-Length")
	}), httptest.NewRequest("POST", "/", strings.NewReader("12345")), nil)
	if fmt.Sprint(names) != "[content-length host]" || cl != "5" {
		t.Errorf("names %q, content-length %q", names, cl)
	}
}

func TestCanceled(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	req := httptest.NewRequestWithContext(ctx, "POST", "/", strings.NewReader("body"))
	var readErr, writeErr error
	wfntest.Do(wfn.HandlerFunc(func(w *wfn.ResponseWriter, r *wfn.Request) {
		_, readErr = r.Body().Read(make([]byte, 10))
		_, writeErr = w.WriteString("x")
	}), req, nil)
	if !errors.Is(readErr, abi.ECANCELED) || !errors.Is(writeErr, abi.ECANCELED) {
		t.Errorf("read %v, write %v; want ECANCELED", readErr, writeErr)
	}
}

// A client sees flushed bytes while the handler still runs.
func TestServeStreams(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		wfntest.Serve(w, r, nil, func() {
			wfn.Serve(wfn.HandlerFunc(func(w *wfn.ResponseWriter, r *wfn.Request) {
				w.WriteString("first\n")
				w.Flush()
				<-release
				w.WriteString("second\n")
			}))
		})
	}))
	defer srv.Close()
	defer func() {
		select {
		case <-release:
		default:
			close(release)
		}
	}()

	resp, err := srv.Client().Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	br := bufio.NewReader(resp.Body)
	line, err := br.ReadString('\n')
	if line != "first\n" || err != nil {
		t.Fatalf("first line %q, %v", line, err)
	}
	close(release)
	rest, _ := io.ReadAll(br)
	if string(rest) != "second\n" {
		t.Errorf("rest %q", rest)
	}
}

// The client going away makes writes fail with EIO or ECANCELED.
func TestServeClientGone(t *testing.T) {
	errc := make(chan error, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		wfntest.Serve(w, r, nil, func() {
			wfn.Serve(wfn.HandlerFunc(func(w *wfn.ResponseWriter, r *wfn.Request) {
				chunk := strings.Repeat("x", 64<<10)
				for {
					if _, err := w.WriteString(chunk); err != nil {
						errc <- err
						return
					}
					w.Flush()
				}
			}))
		})
	}))
	defer srv.Close()
	resp, err := srv.Client().Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	io.ReadFull(resp.Body, make([]byte, 1024))
	resp.Body.Close()
	err = <-errc
	if !errors.Is(err, abi.EIO) && !errors.Is(err, abi.ECANCELED) {
		t.Errorf("write error %v, want EIO or ECANCELED", err)
	}
}

// Invocations are serialised, as in one instance, so parallel tests are
// safe.
func TestParallel(t *testing.T) {
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Go(func() {
			want := fmt.Sprint(i)
			resp := wfntest.Do(wfn.HandlerFunc(func(w *wfn.ResponseWriter, r *wfn.Request) {
				v, _ := r.Param("i")
				w.WriteString(v)
			}), httptest.NewRequest("GET", "/", nil), map[string]string{"i": want})
			body, _ := io.ReadAll(resp.Body)
			if string(body) != want {
				t.Errorf("got %q, want %q", body, want)
			}
		})
	}
	wg.Wait()
}

func TestNoHostOutsideInvocation(t *testing.T) {
	if hostcall.Concurrent {
		t.Skip("under ABI version 2 (wfn_fluid) the imports answer EBADHANDLE outside an invocation, as in WebAssembly")
	}
	defer func() {
		if r := recover(); r == nil || !strings.Contains(fmt.Sprint(r), "wfntest") {
			t.Errorf("recovered %v, want a panic naming wfntest", r)
		}
	}()
	var r wfn.Request
	r.Method()
}

// Header fields past MaxResponseHeader: the change that passes it gets
// ETOOLARGE, as do the writes after it, and the client gets 500
// FUNCTION_RESPONSE_PAYLOAD_TOO_LARGE, as from the host.
func TestResponseHeaderLimit(t *testing.T) {
	var added int
	var headerErr, writeErr error
	resp := wfntest.Do(wfn.HandlerFunc(func(w *wfn.ResponseWriter, r *wfn.Request) {
		value := strings.Repeat("v", 1024)
		for added = 0; added < 64; added++ {
			if headerErr = w.AddHeader("x-big", value); headerErr != nil {
				break
			}
		}
		_, writeErr = w.WriteString("body")
	}), httptest.NewRequest("GET", "/", nil), nil)
	// Each value counts 1,024 bytes and the name's 5: 31 fit in 32 KiB.
	if want := wfntest.MaxResponseHeader / (1024 + len("X-Big")); added != want {
		t.Errorf("added %d values, want %d", added, want)
	}
	if !errors.Is(headerErr, abi.ETOOLARGE) || !errors.Is(writeErr, abi.ETOOLARGE) {
		t.Errorf("header change: %v, write: %v; want ETOOLARGE for both", headerErr, writeErr)
	}
	if resp.StatusCode != 500 || resp.Header.Get("X-Wfn-Error") != wfntest.CodeResponsePayloadTooLarge || len(resp.Header.Values("X-Big")) != 0 {
		t.Errorf("got %d %v", resp.StatusCode, resp.Header)
	}
}

// A final status outside 200..599 cannot end a response: flushing or
// closing with it is abi.EINVAL, and the client gets 502
// NO_RESPONSE_FROM_FUNCTION, as from the host (abi/SPEC.md sections 3
// and 5).
func TestFinalStatusOutsideRange(t *testing.T) {
	tests := []struct {
		name   string
		status int
		end    func(w *wfn.ResponseWriter) error // nil: return
	}{
		{"103 returned", 103, nil},
		{"103 written", 103, func(w *wfn.ResponseWriter) error { _, err := w.WriteString("x"); return err }},
		{"103 flushed", 103, func(w *wfn.ResponseWriter) error { return w.Flush() }},
		{"103 closed", 103, func(w *wfn.ResponseWriter) error { return w.Close() }},
		{"700 written", 700, func(w *wfn.ResponseWriter) error { _, err := w.WriteString("x"); return err }},
		{"700 flushed", 700, func(w *wfn.ResponseWriter) error { return w.Flush() }},
		{"700 closed", 700, func(w *wfn.ResponseWriter) error { return w.Close() }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ended := make(chan error, 1) // the flush's, close's or write's
			h := wfn.HandlerFunc(func(w *wfn.ResponseWriter, r *wfn.Request) {
				if err := w.SetStatus(tt.status); err != nil {
					t.Errorf("SetStatus(%d) = %v", tt.status, err)
				}
				var err error
				if tt.end != nil {
					err = tt.end(w)
				}
				ended <- err
			})
			resp, _ := getOnce(t, h)
			if resp.StatusCode != http.StatusBadGateway || resp.Header.Get("X-Wfn-Error") != wfntest.CodeNoResponse {
				t.Errorf("response %d %q, want 502 %s", resp.StatusCode, resp.Header.Get("X-Wfn-Error"), wfntest.CodeNoResponse)
			}
			endErr := <-ended
			flushOrClose := strings.Contains(tt.name, "flushed") || strings.Contains(tt.name, "closed")
			if flushOrClose && !errors.Is(endErr, abi.EINVAL) {
				t.Errorf("flush or close = %v, want EINVAL", endErr)
			}
			if !flushOrClose && endErr != nil {
				t.Errorf("write = %v, want nil", endErr)
			}
		})
	}
}

// A body written for a 204 or 304 is dropped and the write succeeds,
// streamed or not, as on the host (abi/SPEC.md section 5).
func TestNoBodyStatusWrite(t *testing.T) {
	for _, status := range []int{204, 304} {
		for _, flush := range []bool{false, true} {
			t.Run(fmt.Sprintf("%d flush=%v", status, flush), func(t *testing.T) {
				errs := make(chan [2]error, 1) // the write's and the flush's
				h := wfn.HandlerFunc(func(w *wfn.ResponseWriter, r *wfn.Request) {
					w.SetStatus(status)
					if flush {
						w.Flush()
					}
					_, writeErr := w.WriteString("body")
					errs <- [2]error{writeErr, w.Flush()}
				})
				resp, body := getOnce(t, h)
				if resp.StatusCode != status || len(body) != 0 {
					t.Errorf("response %d %q, want %d and no body", resp.StatusCode, body, status)
				}
				if err := <-errs; err[0] != nil || err[1] != nil {
					t.Errorf("write = %v, flush = %v, want nil", err[0], err[1])
				}
			})
		}
	}
}

// getOnce serves h with wfntest.Serve on a loopback server and sends it one
// GET: the response, its body read and closed.
func getOnce(t *testing.T, h wfn.Handler) (*http.Response, []byte) {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		wfntest.Serve(w, r, nil, func() { wfn.Serve(h) })
	}))
	defer srv.Close()
	resp, err := srv.Client().Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("reading the body: %v", err)
	}
	return resp, body
}
