package outbound

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/wfn-dev/wfn/abi"
)

func TestDefaultPolicy(t *testing.T) {
	tests := []struct {
		host string
		deny bool
	}{
		{"example.com", false},
		{"93.184.215.14", false},
		{"2606:2800:21f:cb07:6820:80da:af6b:8b2c", false},
		{"127.0.0.1", true},
		{"127.9.9.9", true},
		{"::1", true},
		{"[::1]", true},
		{"localhost", true},
		{"api.localhost", true},
		{"10.1.2.3", true},
		{"172.16.0.1", true},
		{"192.168.1.1", true},
		{"169.254.169.254", true}, // cloud metadata
		{"fd00:ec2::254", true},
		{"fe80::1", true},
		{"0.0.0.0", true},
		{"100.64.0.1", true},
		{"::ffff:127.0.0.1", true},
		{"224.0.0.1", true},
	}
	var p Policy
	for _, tt := range tests {
		err := p.CheckURLHost(tt.host, "80")
		if (err != nil) != tt.deny || (err != nil && !errors.Is(err, ErrDenied)) {
			t.Errorf("CheckURLHost(%q) = %v, want denied %v", tt.host, err, tt.deny)
		}
	}
}

func TestAllowList(t *testing.T) {
	p, err := NewPolicy([]string{"127.0.0.1:*", "localhost:8080", "*.example.com", "[::1]:9000", "api.test:443"})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		host, port string
		allow      bool
	}{
		{"127.0.0.1", "1234", true},
		{"localhost", "8080", true},
		{"localhost", "8081", false},
		{"a.example.com", "443", true},
		{"a.example.com", "80", true},
		{"a.example.com", "8443", false},
		{"example.com", "443", false},
		{"::1", "9000", true},
		{"api.test", "443", true},
		{"api.test", "80", false},
		{"93.184.215.14", "80", false}, // public, but not listed
	}
	for _, tt := range tests {
		err := p.CheckURLHost(tt.host, tt.port)
		if (err == nil) != tt.allow {
			t.Errorf("CheckURLHost(%q, %q) = %v, want allowed %v", tt.host, tt.port, err, tt.allow)
		}
	}
	for _, bad := range []string{"", "a b", "http://x", "x:port", "x:70000", "a.*.com"} {
		if _, err := NewPolicy([]string{bad}); err == nil {
			t.Errorf("NewPolicy(%q) accepted", bad)
		}
	}
}

// A name that resolves to a denied address is refused by the dialer, with
// no connection made.
func TestDialerChecksResolvedAddresses(t *testing.T) {
	var p Policy
	d := &dialer{policy: p, resolver: net.DefaultResolver}
	_, err := d.DialContext(context.Background(), "tcp", "localhost:1")
	if !errors.Is(err, ErrDenied) {
		t.Fatalf("dial localhost = %v, want ErrDenied", err)
	}
}

func TestSession(t *testing.T) {
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/redirect":
			http.Redirect(w, r, "http://169.254.169.254/latest/meta-data", http.StatusFound)
		default:
			w.Header().Set("X-Echo", r.Header.Get("X-Test"))
			w.WriteHeader(201)
			_, _ = w.Write([]byte("body:" + r.Method))
		}
	}))
	defer backend.Close()
	u, _ := url.Parse(backend.URL)
	allowed, _ := NewPolicy([]string{u.Host})
	var logs []string
	logf := func(msg string, args ...any) { logs = append(logs, msg) }

	s := NewSession(context.Background(), NewClient(allowed), logf)
	defer s.Close()
	h := s.Send("POST", backend.URL+"/x", []byte("x-test\x00yes\x00"), []byte("hi"))
	if h <= 0 {
		t.Fatalf("Send = %d", h)
	}
	if st := s.Status(h); st != 201 {
		t.Fatalf("Status = %d", st)
	}
	v, errno := s.Header(h, []byte("x-echo"), nil)
	if errno != 0 || string(v) != "yes\x00" {
		t.Errorf("Header = %q, %v", v, errno)
	}
	buf := make([]byte, 64)
	n := s.BodyRead(h, buf)
	if string(buf[:n]) != "body:POST" || s.BodyRead(h, buf) != 0 {
		t.Errorf("body = %q", buf[:n])
	}
	if s.CloseHandle(h) != 0 || s.CloseHandle(h) != abi.EBADHANDLE || s.Status(h) != int32(abi.EBADHANDLE) {
		t.Error("handle not released once")
	}

	// A redirect to a denied address: EDENIED, logged.
	h = s.Send("GET", backend.URL+"/redirect", nil, nil)
	if st := s.Status(h); st != int32(abi.EDENIED) {
		t.Errorf("redirect to metadata: Status = %d, want EDENIED", st)
	}
	// The default policy refuses the loopback backend before connecting.
	d := NewSession(context.Background(), NewClient(Policy{}), logf)
	defer d.Close()
	if h := d.Send("GET", backend.URL, nil, nil); h != int32(abi.EDENIED) {
		t.Errorf("default policy, loopback: Send = %d, want EDENIED", h)
	}
	if len(logs) < 2 || !strings.Contains(logs[0], "denied") {
		t.Errorf("logs = %v", logs)
	}
	// Bad input.
	for _, bad := range []struct{ method, url, headers string }{
		{"G ET", backend.URL, ""}, {"GET", "ftp://x/", ""}, {"GET", "/relative", ""}, {"GET", backend.URL, "x\x00"}, {"GET", backend.URL, "a\x00b\nc\x00"},
	} {
		if h := s.Send(bad.method, bad.url, []byte(bad.headers), nil); h != int32(abi.EINVAL) {
			t.Errorf("Send(%q, %q, %q) = %d, want EINVAL", bad.method, bad.url, bad.headers, h)
		}
	}
}

func TestSessionBackendDownAndCancel(t *testing.T) {
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	addr := ln.Addr().String()
	ln.Close() // nothing listens there now
	p, _ := NewPolicy([]string{"127.0.0.1:*"})
	s := NewSession(context.Background(), NewClient(p), func(string, ...any) {})
	defer s.Close()
	if st := s.Status(s.Send("GET", "http://"+addr+"/", nil, nil)); st != int32(abi.EIO) {
		t.Errorf("backend down: Status = %d, want EIO", st)
	}

	// A backend that hangs: Cancel ends the request and its connection.
	closed, entered := make(chan struct{}), make(chan struct{})
	hang := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(entered)
		<-r.Context().Done()
	}))
	hang.Config.ConnState = func(c net.Conn, st http.ConnState) {
		if st == http.StateClosed {
			close(closed)
		}
	}
	hang.Start()
	defer hang.Close()
	h := s.Send("GET", hang.URL, nil, nil)
	<-entered
	// http_wait: the head is not in, so a bounded wait ends without it.
	if r := s.Wait(h, 20*time.Millisecond); r != 0 {
		t.Errorf("Wait on a hanging backend = %d, want 0", r)
	}
	if r := s.Wait(h, 0); r != 0 {
		t.Errorf("Wait(0) on a hanging backend = %d, want 0", r)
	}
	if r := s.Wait(999, time.Second); r != int32(abi.EBADHANDLE) {
		t.Errorf("Wait(unknown handle) = %d, want EBADHANDLE", r)
	}
	go s.CancelInFlight()
	if st := s.Status(h); st != int32(abi.ECANCELED) {
		t.Errorf("cancelled: Status = %d, want ECANCELED", st)
	}
	select {
	case <-closed:
	case <-time.After(30 * time.Second):
		t.Fatal("the backend's connection was not closed")
	}

	// A request sent after CancelInFlight (an aborted invocation's
	// cleanup) runs.
	ok := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "cleaned up") }))
	defer ok.Close()
	h = s.Send("POST", ok.URL+"/cancel", nil, nil)
	if r := s.Wait(h, time.Minute); r != 1 {
		t.Errorf("Wait on an answering backend = %d, want 1", r)
	}
	if st := s.Status(h); st != 200 {
		t.Errorf("after CancelInFlight: Status = %d, want 200", st)
	}
	buf := make([]byte, 64)
	if n := s.BodyRead(h, buf); n <= 0 || string(buf[:n]) != "cleaned up" {
		t.Errorf("after CancelInFlight: BodyRead = %d %q", n, buf[:max(n, 0)])
	}

	// Once the head is in, http_wait waits for the body's next bytes: a
	// body that stalls after its first part times out, then its bytes
	// come through BodyRead, then the end.
	more := make(chan struct{})
	stall := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "first")
		w.(http.Flusher).Flush()
		select {
		case <-more:
			io.WriteString(w, "second")
		case <-r.Context().Done():
		}
	}))
	defer stall.Close()
	h = s.Send("GET", stall.URL, nil, nil)
	if st := s.Status(h); st != 200 {
		t.Fatalf("stalling backend: Status = %d", st)
	}
	var got []byte
	for !bytes.Equal(got, []byte("first")) {
		if r := s.Wait(h, time.Minute); r != 1 {
			t.Fatalf("Wait for the first part = %d, want 1", r)
		}
		n := s.BodyRead(h, buf[:3])
		if n <= 0 {
			t.Fatalf("BodyRead = %d after %q", n, got)
		}
		got = append(got, buf[:n]...)
	}
	if r := s.Wait(h, 20*time.Millisecond); r != 0 {
		t.Errorf("Wait on a stalled body = %d, want 0", r)
	}
	close(more)
	if r := s.Wait(h, time.Minute); r != 1 {
		t.Errorf("Wait once the body goes on = %d, want 1", r)
	}
	got = got[:0]
	for {
		n := s.BodyRead(h, buf)
		if n <= 0 {
			if n < 0 {
				t.Errorf("BodyRead = %d", n)
			}
			break
		}
		got = append(got, buf[:n]...)
	}
	if string(got) != "second" {
		t.Errorf("the rest of the body = %q, want \"second\"", got)
	}
}
