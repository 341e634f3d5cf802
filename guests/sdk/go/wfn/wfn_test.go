package wfn_test

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/wfn-dev/wfn/abi"
	"github.com/wfn-dev/wfn/guests/sdk/go/wfn"
	"github.com/wfn-dev/wfn/guests/sdk/go/wfn/wfntest"
)

func TestRequest(t *testing.T) {
	long := strings.Repeat("x", 1000) // longer than the SDK's first buffer
	tests := []struct {
		name   string
		req    func() *http.Request
		params map[string]string
		got    func(r *wfn.Request) string
		want   string
	}{
		{
			name: "method",
			req:  func() *http.Request { return httptest.NewRequest("PATCH", "/", nil) },
			got:  func(r *wfn.Request) string { return r.Method() },
			want: "PATCH",
		},
		{
			name: "custom method",
			req:  func() *http.Request { return httptest.NewRequest("PROPFIND", "/", nil) },
			got:  func(r *wfn.Request) string { return r.Method() },
			want: "PROPFIND",
		},
		{
			name: "url",
			req:  func() *http.Request { return httptest.NewRequest("GET", "http://a.test/api/x?q=1&r=2", nil) },
			got:  func(r *wfn.Request) string { return r.URL() },
			want: "http://a.test/api/x?q=1&r=2",
		},
		{
			name: "long url",
			req:  func() *http.Request { return httptest.NewRequest("GET", "http://a.test/"+long, nil) },
			got:  func(r *wfn.Request) string { return r.URL() },
			want: "http://a.test/" + long,
		},
		{
			name: "header case-insensitive",
			req: func() *http.Request {
				r := httptest.NewRequest("GET", "/", nil)
				r.Header.Set("X-Thing", "one")
				return r
			},
			got: func(r *wfn.Request) string {
				v, ok := r.Header("x-THING")
				return v + " " + boolString(ok)
			},
			want: "one true",
		},
		{
			name: "header absent",
			req:  func() *http.Request { return httptest.NewRequest("GET", "/", nil) },
			got: func(r *wfn.Request) string {
				v, ok := r.Header("x-none")
				return v + "|" + boolString(ok)
			},
			want: "|false",
		},
		{
			name: "long header",
			req: func() *http.Request {
				r := httptest.NewRequest("GET", "/", nil)
				r.Header.Set("X-Long", long)
				return r
			},
			got: func(r *wfn.Request) string {
				v, _ := r.Header("x-long")
				return v
			},
			want: long,
		},
		{
			name: "header values",
			req: func() *http.Request {
				r := httptest.NewRequest("GET", "/", nil)
				r.Header.Add("Accept", "a")
				r.Header.Add("Accept", "")
				r.Header.Add("Accept", "c")
				return r
			},
			got:  func(r *wfn.Request) string { return strings.Join(r.HeaderValues("accept"), ",") },
			want: "a,,c",
		},
		{
			name: "first of header values",
			req: func() *http.Request {
				r := httptest.NewRequest("GET", "/", nil)
				r.Header.Add("Accept", "a")
				r.Header.Add("Accept", "b")
				return r
			},
			got: func(r *wfn.Request) string {
				v, _ := r.Header("Accept")
				return v
			},
			want: "a",
		},
		{
			name: "header names",
			req: func() *http.Request {
				r := httptest.NewRequest("GET", "/", nil)
				r.Header.Set("X-B", "1")
				r.Header.Set("X-A", "2")
				return r
			},
			got: func(r *wfn.Request) string {
				names := r.HeaderNames()
				slices.Sort(names)
				return strings.Join(names, ",")
			},
			want: "host,x-a,x-b",
		},
		{
			name:   "param",
			req:    func() *http.Request { return httptest.NewRequest("GET", "/api/greet/ada", nil) },
			params: map[string]string{"name": "ada"},
			got: func(r *wfn.Request) string {
				v, ok := r.Param("name")
				return v + " " + boolString(ok)
			},
			want: "ada true",
		},
		{
			name:   "param absent",
			req:    func() *http.Request { return httptest.NewRequest("GET", "/", nil) },
			params: map[string]string{"name": "ada"},
			got: func(r *wfn.Request) string {
				v, ok := r.Param("id")
				return v + "|" + boolString(ok)
			},
			want: "|false",
		},
		{
			name: "body",
			req:  func() *http.Request { return httptest.NewRequest("POST", "/", strings.NewReader("hello body")) },
			got: func(r *wfn.Request) string {
				b, err := io.ReadAll(r.Body())
				if err != nil {
					return err.Error()
				}
				return string(b)
			},
			want: "hello body",
		},
		{
			name: "empty body",
			req:  func() *http.Request { return httptest.NewRequest("GET", "/", nil) },
			got: func(r *wfn.Request) string {
				b, err := io.ReadAll(r.Body())
				if err != nil {
					return err.Error()
				}
				return "[" + string(b) + "]"
			},
			want: "[]",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got string
			wfntest.Do(wfn.HandlerFunc(func(w *wfn.ResponseWriter, r *wfn.Request) {
				got = tt.got(r)
			}), tt.req(), tt.params)
			if got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func boolString(b bool) string {
	if b {
		return "true"
	}
	return "false"
}

func TestBodyReadError(t *testing.T) {
	req := httptest.NewRequest("POST", "/", io.MultiReader(strings.NewReader("ab"), errReader{}))
	var got []byte
	var gotErr error
	wfntest.Do(wfn.HandlerFunc(func(w *wfn.ResponseWriter, r *wfn.Request) {
		got, gotErr = io.ReadAll(r.Body())
	}), req, nil)
	if string(got) != "ab" || !errors.Is(gotErr, abi.EIO) {
		t.Errorf("got %q, %v; want \"ab\", EIO", got, gotErr)
	}
}

type errReader struct{}

func (errReader) Read([]byte) (int, error) { return 0, errors.New("connection reset") }

func TestResponse(t *testing.T) {
	tests := []struct {
		name       string
		handler    func(w *wfn.ResponseWriter, r *wfn.Request) error
		wantErr    error
		wantStatus int
		wantHeader http.Header
		wantBody   string
	}{
		{
			name:       "nothing written is an empty 200",
			handler:    func(w *wfn.ResponseWriter, r *wfn.Request) error { return nil },
			wantStatus: 200,
			wantHeader: http.Header{},
		},
		{
			name: "status and headers",
			handler: func(w *wfn.ResponseWriter, r *wfn.Request) error {
				return errors.Join(
					w.SetStatus(201),
					w.SetHeader("X-A", "1"),
					w.AddHeader("x-a", "2"),
					w.SetHeader("X-Gone", "1"),
					w.DelHeader("x-gone"),
				)
			},
			wantStatus: 201,
			wantHeader: http.Header{"X-A": {"1", "2"}},
		},
		{
			name: "set replaces",
			handler: func(w *wfn.ResponseWriter, r *wfn.Request) error {
				return errors.Join(w.AddHeader("X-A", "1"), w.SetHeader("X-A", "2"))
			},
			wantStatus: 200,
			wantHeader: http.Header{"X-A": {"2"}},
		},
		{
			name: "writes",
			handler: func(w *wfn.ResponseWriter, r *wfn.Request) error {
				_, err1 := w.WriteString("one ")
				_, err2 := w.Write([]byte("two"))
				return errors.Join(err1, err2)
			},
			wantStatus: 200,
			wantHeader: http.Header{"Content-Type": {"text/plain; charset=utf-8"}},
			wantBody:   "one two",
		},
		{
			name:       "status below 100",
			handler:    func(w *wfn.ResponseWriter, r *wfn.Request) error { return w.SetStatus(99) },
			wantErr:    abi.EINVAL,
			wantStatus: 200,
			wantHeader: http.Header{},
		},
		{
			name:       "status above 999",
			handler:    func(w *wfn.ResponseWriter, r *wfn.Request) error { return w.SetStatus(1000) },
			wantErr:    abi.EINVAL,
			wantStatus: 200,
			wantHeader: http.Header{},
		},
		{
			name:       "header value with LF",
			handler:    func(w *wfn.ResponseWriter, r *wfn.Request) error { return w.SetHeader("X-A", "a\nb") },
			wantErr:    abi.EINVAL,
			wantStatus: 200,
			wantHeader: http.Header{},
		},
		{
			name:       "header value with NUL",
			handler:    func(w *wfn.ResponseWriter, r *wfn.Request) error { return w.AddHeader("X-A", "a\x00") },
			wantErr:    abi.EINVAL,
			wantStatus: 200,
			wantHeader: http.Header{},
		},
		{
			name:       "empty header name",
			handler:    func(w *wfn.ResponseWriter, r *wfn.Request) error { return w.SetHeader("", "a") },
			wantErr:    abi.EINVAL,
			wantStatus: 200,
			wantHeader: http.Header{},
		},
		{
			name:       "header name with space",
			handler:    func(w *wfn.ResponseWriter, r *wfn.Request) error { return w.DelHeader("X A") },
			wantErr:    abi.EINVAL,
			wantStatus: 200,
			wantHeader: http.Header{},
		},
		{
			name: "status after write",
			handler: func(w *wfn.ResponseWriter, r *wfn.Request) error {
				w.WriteString("x")
				return w.SetStatus(500)
			},
			wantErr:    abi.ECLOSED,
			wantStatus: 200,
			wantHeader: http.Header{"Content-Type": {"text/plain; charset=utf-8"}},
			wantBody:   "x",
		},
		{
			name: "header after flush",
			handler: func(w *wfn.ResponseWriter, r *wfn.Request) error {
				w.SetStatus(202)
				w.Flush()
				return w.SetHeader("X-Late", "1")
			},
			wantErr:    abi.ECLOSED,
			wantStatus: 202,
			wantHeader: http.Header{},
		},
		{
			name: "write after close",
			handler: func(w *wfn.ResponseWriter, r *wfn.Request) error {
				w.WriteString("a")
				w.Close()
				_, err := w.WriteString("b")
				return err
			},
			wantErr:    abi.ECLOSED,
			wantStatus: 200,
			wantHeader: http.Header{"Content-Type": {"text/plain; charset=utf-8"}},
			wantBody:   "a",
		},
		{
			name: "close twice",
			handler: func(w *wfn.ResponseWriter, r *wfn.Request) error {
				w.SetStatus(204)
				w.Close()
				return w.Close()
			},
			wantErr:    abi.ECLOSED,
			wantStatus: 204,
			wantHeader: http.Header{},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var err error
			resp := wfntest.Do(wfn.HandlerFunc(func(w *wfn.ResponseWriter, r *wfn.Request) {
				err = tt.handler(w, r)
			}), httptest.NewRequest("GET", "/", nil), nil)
			if !errors.Is(err, tt.wantErr) || (tt.wantErr == nil && err != nil) {
				t.Errorf("err = %v, want %v", err, tt.wantErr)
			}
			if resp.StatusCode != tt.wantStatus {
				t.Errorf("status = %d, want %d", resp.StatusCode, tt.wantStatus)
			}
			body, _ := io.ReadAll(resp.Body)
			// A response never flushed is sent whole, with its length.
			if cl, ok := resp.Header["Content-Length"]; ok && cl[0] != strconv.Itoa(len(body)) {
				t.Errorf("Content-Length %s for %d bytes", cl[0], len(body))
			}
			resp.Header.Del("Content-Length")
			if !equalHeader(resp.Header, tt.wantHeader) {
				t.Errorf("header = %v, want %v", resp.Header, tt.wantHeader)
			}
			if string(body) != tt.wantBody {
				t.Errorf("body = %q, want %q", body, tt.wantBody)
			}
		})
	}
}

func equalHeader(a, b http.Header) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if !slices.Equal(v, b[k]) {
			return false
		}
	}
	return true
}

func TestEchoLargeBody(t *testing.T) {
	in := make([]byte, 4<<20)
	for i := range in {
		in[i] = byte(i * 7)
	}
	resp := wfntest.Do(wfn.HandlerFunc(func(w *wfn.ResponseWriter, r *wfn.Request) {
		if _, err := io.Copy(w, r.Body()); err != nil {
			t.Error(err)
		}
	}), httptest.NewRequest("POST", "/", strings.NewReader(string(in))), nil)
	out, _ := io.ReadAll(resp.Body)
	if string(out) != string(in) {
		t.Errorf("echoed %d bytes, not the %d sent", len(out), len(in))
	}
}

// A request is fresh for each invocation: nothing cached leaks over.
func TestServeResetsRequest(t *testing.T) {
	var urls []string
	h := wfn.HandlerFunc(func(w *wfn.ResponseWriter, r *wfn.Request) {
		urls = append(urls, r.Method()+" "+r.URL())
		io.ReadAll(r.Body())
	})
	wfntest.Do(h, httptest.NewRequest("GET", "http://a.test/1", nil), nil)
	wfntest.Do(h, httptest.NewRequest("POST", "http://a.test/2", strings.NewReader("x")), nil)
	want := []string{"GET http://a.test/1", "POST http://a.test/2"}
	if !slices.Equal(urls, want) {
		t.Errorf("got %q, want %q", urls, want)
	}
}
