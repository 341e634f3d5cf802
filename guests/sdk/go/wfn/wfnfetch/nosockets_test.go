package wfnfetch

import (
	"errors"
	"net/http"
	"strings"
	"testing"
)

// In a function (WebAssembly), http.DefaultTransport's dials fail with an
// error that names what works instead.
func TestDefaultTransportNamesTheDialer(t *testing.T) {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	saved := http.DefaultTransport
	http.DefaultTransport = tr
	defer func() { http.DefaultTransport = saved }()
	nameTheDialer()
	_, err := (&http.Client{Transport: tr}).Get("http://192.0.2.1/")
	if !errors.Is(err, ErrNoSockets) {
		t.Fatalf("Get through the default transport: %v, want ErrNoSockets", err)
	}
	for _, name := range []string{"wfnfetch.Transport", "wfnnet.DialContext", "192.0.2.1:80"} {
		if !strings.Contains(err.Error(), name) {
			t.Errorf("%q does not name %s", err, name)
		}
	}
}
