package wfntest_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wfn-dev/wfn/abi"
	"github.com/wfn-dev/wfn/guests/sdk/go/wfn"
	"github.com/wfn-dev/wfn/guests/sdk/go/wfn/internal/hostcall"
	"github.com/wfn-dev/wfn/guests/sdk/go/wfn/wfntest"
)

func TestLimitsAndFailures(t *testing.T) {
	big := strings.Repeat("x", wfntest.MaxBufferedResponse)
	tests := []struct {
		name     string
		body     string // request body
		max      time.Duration
		cancel   bool // abort before the handler runs
		handler  func(w *wfn.ResponseWriter, r *wfn.Request) error
		wantErr  error
		status   int
		code     string // X-Wfn-Error
		length   string // Content-Length
		bodySize int
	}{
		{
			name: "buffered response at the limit",
			handler: func(w *wfn.ResponseWriter, r *wfn.Request) error {
				_, err := w.WriteString(big)
				return err
			},
			status: 200, length: "4500000", bodySize: wfntest.MaxBufferedResponse,
		},
		{
			name: "buffered response over the limit",
			handler: func(w *wfn.ResponseWriter, r *wfn.Request) error {
				w.WriteString(big)
				_, err := w.WriteString("x")
				return errors.Join(err, w.Flush())
			},
			wantErr: abi.ETOOLARGE, status: 500, code: wfntest.CodeResponsePayloadTooLarge,
		},
		{
			name: "streamed response over the limit",
			handler: func(w *wfn.ResponseWriter, r *wfn.Request) error {
				err := w.Flush()
				_, err2 := w.WriteString(big + big)
				return errors.Join(err, err2)
			},
			status: 200, bodySize: 2 * wfntest.MaxBufferedResponse,
		},
		{
			name: "closed response is sent with its length",
			handler: func(w *wfn.ResponseWriter, r *wfn.Request) error {
				w.WriteString("abc")
				return w.Close()
			},
			status: 200, length: "3", bodySize: 3,
		},
		{
			name: "request body over the limit",
			body: strings.Repeat("y", wfntest.MaxRequestBody+1),
			handler: func(w *wfn.ResponseWriter, r *wfn.Request) error {
				_, err := io.Copy(io.Discard, r.Body())
				return err
			},
			wantErr: abi.ETOOLARGE, status: 413, code: wfntest.CodePayloadTooLarge,
		},
		{
			name: "past the deadline",
			max:  20 * time.Millisecond,
			handler: func(w *wfn.ResponseWriter, r *wfn.Request) error {
				time.Sleep(60 * time.Millisecond)
				_, err := w.WriteString("late")
				return err
			},
			wantErr: abi.ECLOSED, status: 504, code: wfntest.CodeInvocationTimeout,
		},
		{
			name:   "past the grace after an abort",
			cancel: true,
			handler: func(w *wfn.ResponseWriter, r *wfn.Request) error {
				time.Sleep(wfntest.AbortGrace + 100*time.Millisecond)
				return w.SetStatus(201)
			},
			wantErr: abi.ECLOSED, status: 500, code: wfntest.CodeInvocationFailed,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			if tt.cancel {
				cancel()
			}
			max := wfntest.DefaultMaxDuration
			if tt.max > 0 {
				max = tt.max
			}
			var err error
			req := httptest.NewRequestWithContext(ctx, "POST", "/", strings.NewReader(tt.body))
			resp := wfntest.Do(wfn.HandlerFunc(func(w *wfn.ResponseWriter, r *wfn.Request) {
				err = tt.handler(w, r)
			}), req, nil, wfntest.MaxDuration(max))
			body, _ := io.ReadAll(resp.Body)
			if !errors.Is(err, tt.wantErr) || (tt.wantErr == nil && err != nil) {
				t.Errorf("err %v, want %v", err, tt.wantErr)
			}
			if resp.StatusCode != tt.status || resp.Header.Get("X-Wfn-Error") != tt.code {
				t.Errorf("got %d %q, want %d %q", resp.StatusCode, resp.Header.Get("X-Wfn-Error"), tt.status, tt.code)
			}
			if tt.code == "" && (resp.Header.Get("Content-Length") != tt.length || len(body) != tt.bodySize) {
				t.Errorf("Content-Length %q with %d bytes, want %q with %d", resp.Header.Get("Content-Length"), len(body), tt.length, tt.bodySize)
			}
		})
	}
}

// A response is held until the first flush: a client sees nothing before.
func TestBufferedUntilFlush(t *testing.T) {
	wrote := make(chan struct{})
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		wfntest.Serve(w, r, nil, func() {
			wfn.Serve(wfn.HandlerFunc(func(w *wfn.ResponseWriter, r *wfn.Request) {
				w.WriteString("held")
				close(wrote)
				<-release
			}))
		})
	}))
	defer srv.Close()
	rec := make(chan *http.Response, 1)
	go func() {
		resp, err := srv.Client().Get(srv.URL)
		if err != nil {
			t.Error(err)
		}
		rec <- resp
	}()
	<-wrote
	select {
	case <-rec:
		t.Fatal("the client had a response before the handler returned or flushed")
	case <-time.After(50 * time.Millisecond):
	}
	close(release)
	resp := <-rec
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(body) != "held" || resp.ContentLength != 4 {
		t.Errorf("body %q, length %d", body, resp.ContentLength)
	}
}

// Killed after the response started, the client sees it cut.
func TestKilledWhileStreaming(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		wfntest.Serve(w, r, nil, func() {
			wfn.Serve(wfn.HandlerFunc(func(w *wfn.ResponseWriter, r *wfn.Request) {
				w.WriteString("start\n")
				w.Flush()
				time.Sleep(100 * time.Millisecond)
			}))
		}, wfntest.MaxDuration(20*time.Millisecond))
	}))
	defer srv.Close()
	resp, err := srv.Client().Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(body) != "start\n" || err == nil {
		t.Errorf("body %q, %v; want the first line and an error", body, err)
	}
}

// An aborted invocation whose handler returns within the grace runs its
// tasks.
func TestAbortThenTasks(t *testing.T) {
	if hostcall.Concurrent {
		t.Skip("the order is ABI version 1's, tasks after the handler; version 2 (wfn_fluid) starts them at once (TestInstanceWaitUntil)")
	}
	ctx, cancel := context.WithCancel(t.Context())
	var log bytes.Buffer
	wfntest.Do(wfn.HandlerFunc(func(w *wfn.ResponseWriter, r *wfn.Request) {
		wfn.After(func() { log.WriteString("cleanup") })
		cancel()
		<-r.Context().Done()
		log.WriteString("aborted ")
	}), httptest.NewRequestWithContext(ctx, "GET", "/", nil), nil)
	if log.String() != "aborted cleanup" {
		t.Errorf("got %q", log.String())
	}
}

// The functions registered with OnSigterm stay registered for the test
// binary's life, so they are registered once, and slow only on demand.
var (
	sigtermOnce sync.Once
	sigtermLog  []string
	sigtermSlow bool
)

func TestSigterm(t *testing.T) {
	sigtermOnce.Do(func() {
		wfn.OnSigterm(func() {
			var r wfn.Request
			_, ok := r.Header("x")
			_, err := new(wfn.ResponseWriter).WriteString("x")
			sigtermLog = append(sigtermLog, "first", boolString(ok), err.Error())
		})
		wfn.OnSigterm(func() {
			sigtermLog = append(sigtermLog, "second")
			if sigtermSlow {
				time.Sleep(wfntest.SigtermGrace + 50*time.Millisecond)
			}
		})
	})
	sigtermLog, sigtermSlow = nil, false
	if err := wfntest.Sigterm(); err != nil {
		t.Fatal(err)
	}
	if strings.Join(sigtermLog, " ") != "first false wfn: EBADHANDLE second" {
		t.Errorf("got %q", sigtermLog)
	}

	sigtermSlow = true
	if err := wfntest.Sigterm(); !errors.Is(err, wfntest.ErrSigtermTooLong) {
		t.Errorf("got %v, want ErrSigtermTooLong", err)
	}
}

func boolString(b bool) string {
	if b {
		return "true"
	}
	return "false"
}

// After response_close the request body is gone, as on the host.
func TestBodyReadAfterClose(t *testing.T) {
	var readErr error
	req := httptest.NewRequest("POST", "/", strings.NewReader("unread body"))
	resp := wfntest.Do(wfn.HandlerFunc(func(w *wfn.ResponseWriter, r *wfn.Request) {
		w.WriteString("done")
		w.Close()
		_, readErr = r.Body().Read(make([]byte, 8))
	}), req, nil)
	resp.Body.Close()
	if !errors.Is(readErr, abi.ECLOSED) {
		t.Errorf("Read after Close = %v, want ECLOSED", readErr)
	}
}
