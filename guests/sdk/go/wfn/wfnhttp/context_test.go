package wfnhttp_test

import (
	"net"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/wfn-dev/wfn/guests/sdk/go/wfn"
	"github.com/wfn-dev/wfn/guests/sdk/go/wfn/wfnhttp"
	"github.com/wfn-dev/wfn/guests/sdk/go/wfn/wfntest"
)

func TestClientAddress(t *testing.T) {
	tests := []struct {
		name       string
		opts       []wfntest.Option
		remoteAddr string
		ip         string
		ipOK       bool
		geo        wfn.Geo
	}{
		{name: "IPv4", opts: []wfntest.Option{wfntest.ClientIP("203.0.113.7")}, remoteAddr: "203.0.113.7:0", ip: "203.0.113.7", ipOK: true, geo: wfn.Geo{Region: "dev1"}},
		{name: "IPv6", opts: []wfntest.Option{wfntest.ClientIP("2001:db8::1")}, remoteAddr: "[2001:db8::1]:0", ip: "2001:db8::1", ipOK: true, geo: wfn.Geo{Region: "dev1"}},
		{name: "unknown", opts: []wfntest.Option{wfntest.ClientIP("")}, geo: wfn.Geo{Region: "dev1"}},
		{
			name:       "located",
			opts:       []wfntest.Option{wfntest.Geolocation(wfn.Geo{Country: "DE", City: "Berlin", Region: "fra1"})},
			remoteAddr: "192.0.2.1:0", ip: "192.0.2.1", ipOK: true,
			geo: wfn.Geo{Country: "DE", Flag: "🇩🇪", City: "Berlin", Region: "fra1"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.RemoteAddr != tt.remoteAddr {
					t.Errorf("RemoteAddr = %q, want %q", r.RemoteAddr, tt.remoteAddr)
				}
				if r.RemoteAddr != "" {
					if host, port, err := net.SplitHostPort(r.RemoteAddr); host != tt.ip || port != "0" || err != nil {
						t.Errorf("SplitHostPort(RemoteAddr) = %q, %q, %v", host, port, err)
					}
				}
				if ip, ok := wfnhttp.IPAddress(r); ip != tt.ip || ok != tt.ipOK {
					t.Errorf("IPAddress = %q, %v; want %q, %v", ip, ok, tt.ip, tt.ipOK)
				}
				if g := wfnhttp.Geolocation(r); g != tt.geo {
					t.Errorf("Geolocation = %+v, want %+v", g, tt.geo)
				}
			})
			wfntest.Do(wfnhttp.Handler(h), httptest.NewRequest("GET", "/api/x", nil), nil, tt.opts...)
		})
	}
}

// Outside the adapter, IPAddress reads RemoteAddr and Geolocation knows
// only the default region.
func TestClientAddressOutsideAdapter(t *testing.T) {
	tests := []struct {
		remoteAddr string
		ip         string
		ok         bool
	}{
		{"192.0.2.9:1234", "192.0.2.9", true},
		{"[2001:db8::9]:80", "2001:db8::9", true},
		{"198.51.100.1", "198.51.100.1", true},
		{"", "", false},
	}
	for _, tt := range tests {
		r := httptest.NewRequest("GET", "/", nil)
		r.RemoteAddr = tt.remoteAddr
		if ip, ok := wfnhttp.IPAddress(r); ip != tt.ip || ok != tt.ok {
			t.Errorf("IPAddress(RemoteAddr %q) = %q, %v; want %q, %v", tt.remoteAddr, ip, ok, tt.ip, tt.ok)
		}
	}
	if g := wfnhttp.Geolocation(httptest.NewRequest("GET", "/", nil)); g != (wfn.Geo{Region: "dev1"}) {
		t.Errorf("Geolocation = %+v", g)
	}
}
