package outbound

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/wfn-dev/wfn/abi"
)

// newSink is a loopback backend that reads each request body whole and
// answers its length; bodies go to got when it is not nil.
func newSink(t testing.TB, got chan<- []byte) (*httptest.Server, *Session) {
	t.Helper()
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		if got != nil {
			got <- b
		}
	}))
	t.Cleanup(backend.Close)
	p, _ := NewPolicy([]string{"127.0.0.1:*"})
	s := NewSession(context.Background(), NewClient(p), func(string, ...any) {})
	t.Cleanup(s.Close)
	return backend, s
}

// The body is taken at the call: the caller (a guest) may change its
// buffer as soon as Send returns.
func TestSendCopiesTheBody(t *testing.T) {
	got := make(chan []byte, 1)
	backend, s := newSink(t, got)
	body := bytes.Repeat([]byte("guest bytes "), 100_000) // 1.2 MB: more than a socket takes at once
	want := bytes.Clone(body)
	h := s.Send("POST", backend.URL, nil, body)
	clear(body)
	if h <= 0 {
		t.Fatalf("Send = %d", h)
	}
	if st := s.Status(h); st != 200 {
		t.Fatalf("Status = %d", st)
	}
	if b := <-got; !bytes.Equal(b, want) {
		t.Errorf("the backend received %d bytes that are not the body given to Send", len(b))
	}
}

// The bodies of the open handles hold MaxRequestBodies at most; closing a
// handle gives its share back.
func TestSendBoundsTheBodiesInFlight(t *testing.T) {
	backend, s := newSink(t, nil)
	half := make([]byte, MaxRequestBodies/2)
	h1 := s.Send("POST", backend.URL, nil, half)
	h2 := s.Send("POST", backend.URL, nil, half)
	if h1 <= 0 || h2 <= 0 {
		t.Fatalf("two halves: Send = %d, %d", h1, h2)
	}
	if h := s.Send("POST", backend.URL, nil, []byte{1}); h != int32(abi.ETOOLARGE) {
		t.Errorf("one byte past the bound: Send = %d, want ETOOLARGE", h)
	}
	if h := s.Send("GET", backend.URL, nil, nil); h <= 0 {
		t.Errorf("no body at the bound: Send = %d, want a handle", h)
	}
	if s.CloseHandle(h1) != 0 {
		t.Fatal("CloseHandle failed")
	}
	if h := s.Send("POST", backend.URL, nil, half); h <= 0 {
		t.Errorf("after a close: Send = %d, want a handle", h)
	}
	if h := s.Send("POST", backend.URL, nil, make([]byte, MaxRequestBodies+1)); h != int32(abi.ETOOLARGE) {
		t.Errorf("a body past the bound alone: Send = %d, want ETOOLARGE", h)
	}
}

// BenchmarkSendBody sets the copy Send makes of a 48 MiB body beside the
// upload of that body to a loopback backend.
func BenchmarkSendBody(b *testing.B) {
	body := make([]byte, 48<<20)
	for i := range body {
		body[i] = byte(i % 251)
	}
	b.Run("copy", func(b *testing.B) {
		b.SetBytes(int64(len(body)))
		for b.Loop() {
			_ = bytes.Clone(body)
		}
	})
	b.Run("upload", func(b *testing.B) {
		backend, s := newSink(b, nil)
		b.SetBytes(int64(len(body)))
		for b.Loop() {
			h := s.Send("POST", backend.URL, nil, body)
			if st := s.Status(h); st != 200 {
				b.Fatalf("Status = %d", st)
			}
			s.CloseHandle(h)
		}
	})
}
