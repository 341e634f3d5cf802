package wfnhttp_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wfn-dev/wfn/guests/sdk/go/wfn"
	"github.com/wfn-dev/wfn/guests/sdk/go/wfn/wfnhttp"
	"github.com/wfn-dev/wfn/guests/sdk/go/wfn/wfntest"
)

// optional is every optional interface a net/http server's ResponseWriter
// may have, including the methods http.ResponseController looks for.
var optional = []struct {
	name string
	is   func(http.ResponseWriter) bool
}{
	{"http.Flusher", func(w http.ResponseWriter) bool { _, ok := w.(http.Flusher); return ok }},
	{"http.CloseNotifier", func(w http.ResponseWriter) bool { _, ok := w.(http.CloseNotifier); return ok }},
	{"http.Hijacker", func(w http.ResponseWriter) bool { _, ok := w.(http.Hijacker); return ok }},
	{"http.Pusher", func(w http.ResponseWriter) bool { _, ok := w.(http.Pusher); return ok }},
	{"io.ReaderFrom", func(w http.ResponseWriter) bool { _, ok := w.(io.ReaderFrom); return ok }},
	{"io.StringWriter", func(w http.ResponseWriter) bool { _, ok := w.(io.StringWriter); return ok }},
	{"FlushError", func(w http.ResponseWriter) bool { _, ok := w.(interface{ FlushError() error }); return ok }},
	{"SetReadDeadline", func(w http.ResponseWriter) bool {
		_, ok := w.(interface{ SetReadDeadline(time.Time) error })
		return ok
	}},
	{"SetWriteDeadline", func(w http.ResponseWriter) bool {
		_, ok := w.(interface{ SetWriteDeadline(time.Time) error })
		return ok
	}},
	{"EnableFullDuplex", func(w http.ResponseWriter) bool { _, ok := w.(interface{ EnableFullDuplex() error }); return ok }},
}

// readerOnly hides a reader's WriteTo, so that io.Copy calls the
// writer's ReadFrom.
type readerOnly struct{ io.Reader }

// implemented lists the optional interfaces of the writer h is given.
func implemented(got *map[string]bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		*got = map[string]bool{}
		for _, o := range optional {
			(*got)[o.name] = o.is(w)
		}
	}
}

// The adapter's writer has every optional interface a real net/http
// server's writer has, but http.Hijacker: a guest has no connection.
func TestWriterInterfaces(t *testing.T) {
	var server, adapter map[string]bool
	srv := httptest.NewServer(implemented(&server))
	defer srv.Close()
	resp, err := http.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	wfntest.Do(wfnhttp.Handler(implemented(&adapter)), httptest.NewRequest("GET", "/", nil), nil)
	for _, o := range optional {
		want := server[o.name] && o.name != "http.Hijacker"
		if adapter[o.name] != want {
			t.Errorf("%s: adapter has it %v, want %v (net/http's server: %v)", o.name, adapter[o.name], want, server[o.name])
		}
	}
	if !server["http.Flusher"] || !server["SetWriteDeadline"] {
		t.Errorf("the net/http server's writer lacks the usual interfaces: %v", server)
	}
}

func TestResponseController(t *testing.T) {
	tests := []struct {
		name       string
		body       string
		handler    func(t *testing.T, w http.ResponseWriter, r *http.Request)
		wantStatus int
		wantHeader string // Content-Type, when set
		wantBody   string
	}{
		{
			name: "flush, full duplex, no hijack",
			handler: func(t *testing.T, w http.ResponseWriter, r *http.Request) {
				rc := http.NewResponseController(w)
				if err := rc.EnableFullDuplex(); err != nil {
					t.Errorf("EnableFullDuplex: %v", err)
				}
				io.WriteString(w, "a")
				if err := rc.Flush(); err != nil {
					t.Errorf("Flush: %v", err)
				}
				if _, _, err := rc.Hijack(); !errors.Is(err, http.ErrNotSupported) {
					t.Errorf("Hijack: %v, want http.ErrNotSupported", err)
				}
				io.WriteString(w, "b")
			},
			wantStatus: 200,
			wantBody:   "ab",
		},
		{
			name: "read deadline passed",
			body: "hello",
			handler: func(t *testing.T, w http.ResponseWriter, r *http.Request) {
				rc := http.NewResponseController(w)
				if err := rc.SetReadDeadline(time.Now().Add(-time.Second)); err != nil {
					t.Errorf("SetReadDeadline: %v", err)
				}
				if _, err := r.Body.Read(make([]byte, 8)); !errors.Is(err, os.ErrDeadlineExceeded) {
					t.Errorf("Read after the deadline: %v, want os.ErrDeadlineExceeded", err)
				}
				rc.SetReadDeadline(time.Time{})
				b, err := io.ReadAll(r.Body)
				if err != nil {
					t.Errorf("Read without a deadline: %v", err)
				}
				w.Write(b)
			},
			wantStatus: 200,
			wantBody:   "hello",
		},
		{
			name: "read deadline ahead",
			body: "hello",
			handler: func(t *testing.T, w http.ResponseWriter, r *http.Request) {
				http.NewResponseController(w).SetReadDeadline(time.Now().Add(time.Hour))
				io.Copy(w, r.Body)
			},
			wantStatus: 200,
			wantBody:   "hello",
		},
		{
			name: "write deadline passed before anything was written",
			handler: func(t *testing.T, w http.ResponseWriter, r *http.Request) {
				rc := http.NewResponseController(w)
				if err := rc.SetWriteDeadline(time.Now().Add(-time.Second)); err != nil {
					t.Errorf("SetWriteDeadline: %v", err)
				}
				if _, err := io.WriteString(w, "late"); !errors.Is(err, os.ErrDeadlineExceeded) {
					t.Errorf("Write after the deadline: %v, want os.ErrDeadlineExceeded", err)
				}
				if err := rc.Flush(); !errors.Is(err, os.ErrDeadlineExceeded) {
					t.Errorf("Flush after the deadline: %v, want os.ErrDeadlineExceeded", err)
				}
				if _, err := io.Copy(w, readerOnly{strings.NewReader("x")}); !errors.Is(err, os.ErrDeadlineExceeded) {
					t.Errorf("ReadFrom after the deadline: %v, want os.ErrDeadlineExceeded", err)
				}
			},
			wantStatus: 500,
			wantBody:   "Internal Server Error\n",
		},
		{
			name: "write deadline ahead",
			handler: func(t *testing.T, w http.ResponseWriter, r *http.Request) {
				http.NewResponseController(w).SetWriteDeadline(time.Now().Add(time.Hour))
				io.Copy(w, readerOnly{strings.NewReader("<p>in time")})
			},
			wantStatus: 200,
			wantHeader: "text/html; charset=utf-8",
			wantBody:   "<p>in time",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var logs bytes.Buffer
			defer wfnhttp.SetLog(&logs, &logs)()
			h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { tt.handler(t, w, r) })
			resp := wfntest.Do(wfnhttp.Handler(h), httptest.NewRequest("POST", "/", strings.NewReader(tt.body)), nil)
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tt.wantStatus || string(body) != tt.wantBody {
				t.Errorf("got %d %q, want %d %q", resp.StatusCode, body, tt.wantStatus, tt.wantBody)
			}
			if ct := resp.Header.Get("Content-Type"); tt.wantHeader != "" && ct != tt.wantHeader {
				t.Errorf("Content-Type = %q, want %q", ct, tt.wantHeader)
			}
		})
	}
}

// A write deadline that fails a write after the response started breaks
// it: the client sees an incomplete response, never a clean end.
func TestWriteDeadlineCutsStartedResponse(t *testing.T) {
	var logs lockedBuffer
	defer wfnhttp.SetLog(&logs, &logs)()
	h := wfnhttp.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rc := http.NewResponseController(w)
		io.WriteString(w, "first part,")
		rc.Flush()
		rc.SetWriteDeadline(time.Now().Add(-time.Second))
		io.WriteString(w, "second part")
	}))
	wantCut(t, h, "first part,")
}

// A handler's panic is recovered as a net/http server does: logged with
// its stack in one line, answered with 500 when nothing had been
// written, and the response cut when it had started.
func TestPanic(t *testing.T) {
	tests := []struct {
		name       string
		handler    http.HandlerFunc
		wantStatus int
		wantHeader http.Header
		wantBody   string
		wantOut    string // in the info line
		wantErr    string // in the warn line, with a stack
	}{
		{
			name:       "before writing",
			handler:    func(w http.ResponseWriter, r *http.Request) { panic("boom") },
			wantStatus: 500,
			wantHeader: http.Header{"Content-Type": {"text/plain; charset=utf-8"}, "X-Content-Type-Options": {"nosniff"}},
			wantBody:   "Internal Server Error\n",
			wantErr:    "wfnhttp: panic serving GET /p?q=1: boom",
		},
		{
			name: "after WriteHeader",
			handler: func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("X-Partial", "yes")
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(http.StatusCreated)
				panic(errors.New("bad state\nsecond line"))
			},
			wantStatus: 500,
			wantHeader: http.Header{"Content-Type": {"text/plain; charset=utf-8"}, "X-Content-Type-Options": {"nosniff"}},
			wantBody:   "Internal Server Error\n",
			wantErr:    `wfnhttp: panic serving GET /p?q=1: bad state\nsecond line\ngoroutine `,
		},
		{
			name:       "invalid status",
			handler:    func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(42) },
			wantStatus: 500,
			wantBody:   "Internal Server Error\n",
			wantErr:    "invalid WriteHeader code 42",
		},
		{
			name: "after writing, before a flush",
			handler: func(w http.ResponseWriter, r *http.Request) {
				io.WriteString(w, "partial")
				panic("boom")
			},
			wantStatus: 500,
			wantHeader: http.Header{"X-Wfn-Error": {wfntest.CodeInvocationFailed}},
			wantErr:    "wfnhttp: panic serving GET /p?q=1: boom",
		},
		{
			name:       "abort before writing",
			handler:    func(w http.ResponseWriter, r *http.Request) { panic(http.ErrAbortHandler) },
			wantStatus: 500,
			wantBody:   "Internal Server Error\n",
			wantOut:    "wfnhttp: handler aborted serving GET /p?q=1: net/http: abort Handler",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			defer wfnhttp.SetLog(&out, &errOut)()
			resp := wfntest.Do(wfnhttp.Handler(tt.handler), httptest.NewRequest("GET", "/p?q=1", nil), nil)
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tt.wantStatus {
				t.Errorf("status = %d, want %d", resp.StatusCode, tt.wantStatus)
			}
			if tt.wantBody != "" && string(body) != tt.wantBody {
				t.Errorf("body = %q, want %q", body, tt.wantBody)
			}
			for k, v := range tt.wantHeader {
				if got := resp.Header[k]; strings.Join(got, ",") != strings.Join(v, ",") {
					t.Errorf("header %s = %q, want %q", k, got, v)
				}
			}
			if resp.Header.Get("X-Partial") != "" {
				t.Errorf("a header of the failed response was sent: %v", resp.Header)
			}
			checkLine(t, "stdout", out.String(), tt.wantOut, false)
			checkLine(t, "stderr", errOut.String(), tt.wantErr, true)
		})
	}
}

// checkLine checks that got is one line holding want (or nothing when
// want is empty), with a stack when stack is set.
func checkLine(t *testing.T, stream, got, want string, stack bool) {
	t.Helper()
	if want == "" {
		if got != "" {
			t.Errorf("%s = %q, want nothing", stream, got)
		}
		return
	}
	if strings.Count(got, "\n") != 1 || !strings.HasSuffix(got, "\n") {
		t.Errorf("%s is not one line: %q", stream, got)
	}
	if !strings.Contains(got, want) {
		t.Errorf("%s = %q, want it to hold %q", stream, got, want)
	}
	if hasStack := strings.Contains(got, `\ngoroutine `); hasStack != stack {
		t.Errorf("%s has a stack: %v, want %v: %q", stream, hasStack, stack, got)
	}
}

// lockedBuffer is a log destination written by a server's goroutine.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// A panic after the response started streaming cuts it.
func TestPanicAfterFlushCuts(t *testing.T) {
	var out, errOut lockedBuffer
	defer wfnhttp.SetLog(&out, &errOut)()
	h := wfnhttp.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "started,")
		w.(http.Flusher).Flush()
		panic("boom")
	}))
	wantCut(t, h, "started,")
	checkLine(t, "stderr", errOut.String(), "wfnhttp: panic serving GET /: boom", true)
}

// CloseNotify fires when the client goes away (here an abort: wfntest
// aborts when the request's context is done), as gin's c.Stream needs.
func TestCloseNotify(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	var notified bool
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gone := w.(http.CloseNotifier).CloseNotify()
		if w.(http.CloseNotifier).CloseNotify() != gone {
			t.Error("CloseNotify returned another channel")
		}
		select {
		case <-gone:
			t.Error("notified before the client left")
		default:
		}
		cancel()
		notified = <-gone
	})
	wfntest.Do(wfnhttp.Handler(h), httptest.NewRequestWithContext(ctx, "GET", "/", nil), nil)
	if !notified {
		t.Error("CloseNotify did not say true")
	}
}

// wantCut serves h through wfntest behind a real server and checks that
// the client gets want and then a cut stream (io.ErrUnexpectedEOF).
func wantCut(t *testing.T, h wfn.Handler, want string) {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		wfntest.Serve(w, r, nil, func() { wfn.Serve(h) })
	}))
	defer srv.Close()
	resp, err := http.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if string(body) != want || !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("got %q, %v; want %q, then io.ErrUnexpectedEOF", body, err, want)
	}
}
