package wfntest_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/wfn-dev/wfn/abi"
	"github.com/wfn-dev/wfn/guests/sdk/go/wfn"
	"github.com/wfn-dev/wfn/guests/sdk/go/wfn/wfntest"
)

var ok = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") })

// fetchStatus runs one invocation that fetches url and returns the error
// of Fetch or Status.
func fetchStatus(url string, opts ...wfntest.Option) (int, error) {
	var status int
	var err error
	wfntest.Do(wfn.HandlerFunc(func(w *wfn.ResponseWriter, r *wfn.Request) {
		var f *wfn.FetchResponse
		if f, err = wfn.Fetch("GET", url, nil, nil); err != nil {
			return
		}
		defer f.Close()
		status, err = f.Status()
	}), httptest.NewRequest("GET", "/", nil), nil, append([]wfntest.Option{wfntest.Outbound(ok)}, opts...)...)
	return status, err
}

func TestOutboundPolicy(t *testing.T) {
	tests := []struct {
		name  string
		url   string
		allow []string // nil: the default rule
		want  error
	}{
		{name: "public name", url: "https://example.com/"},
		{name: "public address", url: "http://203.0.113.9/"},
		{name: "public IPv6", url: "http://[2606:4700::1111]/"},
		{name: "loopback", url: "http://127.0.0.2/", want: abi.EDENIED},
		{name: "IPv4-mapped loopback", url: "http://[::ffff:127.0.0.1]/", want: abi.EDENIED},
		{name: "private 172.16/12", url: "http://172.20.0.1/", want: abi.EDENIED},
		{name: "private 192.168/16", url: "http://192.168.0.10:8080/", want: abi.EDENIED},
		{name: "unique local IPv6", url: "http://[fd00:ec2::254]/", want: abi.EDENIED},
		{name: "link-local IPv6", url: "http://[fe80::1]/", want: abi.EDENIED},
		{name: "unspecified", url: "http://0.0.0.0/", want: abi.EDENIED},
		{name: "metadata", url: "http://169.254.169.254/", want: abi.EDENIED},
		{name: "localhost name", url: "http://localhost/", want: abi.EDENIED},
		{name: "sub.localhost name", url: "http://app.localhost/", want: abi.EDENIED},
		{name: "listed address, any port", url: "http://127.0.0.1:9000/", allow: []string{"127.0.0.1:*"}},
		{name: "bare host is 80 and 443", url: "https://127.0.0.1/", allow: []string{"127.0.0.1"}},
		{name: "bare host, other port", url: "http://127.0.0.1:9000/", allow: []string{"127.0.0.1"}, want: abi.EDENIED},
		{name: "shared address space", url: "http://100.100.100.200/", want: abi.EDENIED},
		{name: "localhost with a trailing dot", url: "http://localhost./", want: abi.EDENIED},
		{name: "listed port", url: "https://api.example.com/", allow: []string{"api.example.com:443"}},
		{name: "other port", url: "http://api.example.com/", allow: []string{"api.example.com:443"}, want: abi.EDENIED},
		{name: "case-insensitive", url: "http://API.Example.com/", allow: []string{"api.example.COM:*"}},
		{name: "wildcard subdomain", url: "http://a.b.example.com/", allow: []string{"*.example.com:*"}},
		{name: "wildcard is not the domain", url: "http://example.com/", allow: []string{"*.example.com:*"}, want: abi.EDENIED},
		{name: "any host", url: "http://10.0.0.1:81/", allow: []string{"*:81"}},
		{name: "IPv6 entry", url: "http://[::1]:3000/", allow: []string{"[::1]:3000"}},
		{name: "public off the list", url: "https://example.com/", allow: []string{"localhost:*"}, want: abi.EDENIED},
		{name: "empty list is the default rule", url: "https://example.com/", allow: []string{}},
		{name: "empty list, loopback", url: "http://127.0.0.1/", allow: []string{}, want: abi.EDENIED},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var opts []wfntest.Option
			if tt.allow != nil {
				opts = append(opts, wfntest.AllowedOutboundHosts(tt.allow...))
			}
			status, err := fetchStatus(tt.url, opts...)
			if !errors.Is(err, tt.want) {
				t.Fatalf("got %v, want %v", err, tt.want)
			}
			if err == nil && status != 200 {
				t.Errorf("status %d", status)
			}
		})
	}
}

func TestAllowedOutboundHostsMalformed(t *testing.T) {
	for _, entry := range []string{"", "http://x.com", "x.com:http", ":80", "x.com:0", "a*.com", "x.*.com"} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("AllowedOutboundHosts(%q) did not panic", entry)
				}
			}()
			wfntest.AllowedOutboundHosts(entry)
		}()
	}
}

// An aborted invocation fails waiting imports with ECANCELED, and new
// requests too.
func TestOutboundAbort(t *testing.T) {
	hang := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() })
	ctx, cancel := context.WithCancel(t.Context())
	var statusErr, sendErr error
	time.AfterFunc(50*time.Millisecond, cancel)
	wfntest.Do(wfn.HandlerFunc(func(w *wfn.ResponseWriter, r *wfn.Request) {
		f, err := wfn.Fetch("GET", "https://slow.example.com/", nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		_, statusErr = f.Status()
		_, sendErr = wfn.Fetch("GET", "https://slow.example.com/", nil, nil)
	}), httptest.NewRequest("GET", "/", nil).WithContext(ctx), nil, wfntest.Outbound(hang))
	if !errors.Is(statusErr, abi.ECANCELED) || !errors.Is(sendErr, abi.ECANCELED) {
		t.Errorf("Status() = %v, Fetch() = %v; want ECANCELED for both", statusErr, sendErr)
	}
}

// Past the deadline the host closes outbound requests too.
func TestOutboundDeadline(t *testing.T) {
	hang := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() })
	var err error
	resp := wfntest.Do(wfn.HandlerFunc(func(w *wfn.ResponseWriter, r *wfn.Request) {
		f, ferr := wfn.Fetch("GET", "https://slow.example.com/", nil, nil)
		if ferr != nil {
			t.Fatal(ferr)
		}
		_, err = f.Status()
	}), httptest.NewRequest("GET", "/", nil), nil, wfntest.Outbound(hang), wfntest.MaxDuration(100*time.Millisecond))
	if resp.StatusCode != 504 || !errors.Is(err, abi.ECANCELED) {
		t.Errorf("got %d, Status() = %v; want 504 and ECANCELED", resp.StatusCode, err)
	}
}

// A backend handler that panics before its head fails the request with
// EIO; after it, the body read fails with EIO.
func TestOutboundHandlerPanics(t *testing.T) {
	early := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { panic(http.ErrAbortHandler) })
	late := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "partial")
		w.(http.Flusher).Flush()
		panic(http.ErrAbortHandler)
	})
	if _, err := fetchStatus("https://x.example.com/", wfntest.Outbound(early)); !errors.Is(err, abi.EIO) {
		t.Errorf("early panic: %v, want EIO", err)
	}
	var readErr error
	var got []byte
	wfntest.Do(wfn.HandlerFunc(func(w *wfn.ResponseWriter, r *wfn.Request) {
		f, err := wfn.Fetch("GET", "https://x.example.com/", nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		got, readErr = io.ReadAll(f)
	}), httptest.NewRequest("GET", "/", nil), nil, wfntest.Outbound(late))
	if string(got) != "partial" || !errors.Is(readErr, abi.EIO) {
		t.Errorf("late panic: %q, %v; want \"partial\", EIO", got, readErr)
	}
}

var (
	idleOnce  sync.Once
	idleFetch error
	idleIP    bool
	idleGeo   wfn.Geo
)

// Outside an invocation the imports return EBADHANDLE.
func TestOutboundOutsideInvocation(t *testing.T) {
	idleOnce.Do(func() {
		wfn.OnSigterm(func() {
			_, idleFetch = wfn.Fetch("GET", "https://example.com/", nil, nil)
			_, idleIP = (&wfn.Request{}).IPAddress()
			idleGeo = (&wfn.Request{}).Geolocation()
		})
	})
	sigtermSlow = false // TestSigterm's functions run too
	idleFetch, idleIP, idleGeo = nil, true, wfn.Geo{}
	if err := wfntest.Sigterm(); err != nil {
		t.Fatal(err)
	}
	if !errors.Is(idleFetch, abi.EBADHANDLE) || idleIP || idleGeo != (wfn.Geo{Region: "dev1"}) {
		t.Errorf("Fetch() = %v, IPAddress ok = %v, Geolocation = %+v", idleFetch, idleIP, idleGeo)
	}
}

// As on the host, the bodies of the open requests hold MaxOutboundBodies
// together, and a closed request gives its share back.
func TestOutboundBodiesBound(t *testing.T) {
	var errs []error
	wfntest.Do(wfn.HandlerFunc(func(w *wfn.ResponseWriter, r *wfn.Request) {
		half := make([]byte, wfntest.MaxOutboundBodies/2)
		a, err := wfn.Fetch("POST", "https://example.com/", nil, half)
		errs = append(errs, err)
		b, err := wfn.Fetch("POST", "https://example.com/", nil, half)
		errs = append(errs, err)
		_, err = wfn.Fetch("POST", "https://example.com/", nil, []byte{1})
		errs = append(errs, err)
		if a != nil {
			a.Close()
		}
		c, err := wfn.Fetch("POST", "https://example.com/", nil, half)
		errs = append(errs, err)
		for _, f := range []*wfn.FetchResponse{b, c} {
			if f != nil {
				f.Close()
			}
		}
	}), httptest.NewRequest("GET", "/", nil), nil, wfntest.Outbound(ok))
	want := []error{nil, nil, abi.ETOOLARGE, nil}
	if len(errs) != len(want) {
		t.Fatalf("errors = %v", errs)
	}
	for i := range want {
		if !errors.Is(errs[i], want[i]) || (want[i] == nil) != (errs[i] == nil) {
			t.Errorf("fetch %d: err = %v, want %v", i, errs[i], want[i])
		}
	}
	if wfn.MaxOutboundBodies != wfntest.MaxOutboundBodies {
		t.Errorf("wfn.MaxOutboundBodies = %d, wfntest's %d", wfn.MaxOutboundBodies, wfntest.MaxOutboundBodies)
	}
}
