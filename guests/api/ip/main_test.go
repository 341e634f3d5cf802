package main

import (
	"io"
	"net/http/httptest"
	"testing"

	"github.com/wfn-dev/wfn/guests/sdk/go/wfn/catchall"
	"github.com/wfn-dev/wfn/guests/sdk/go/wfn/wfntest"
)

func TestIP(t *testing.T) {
	tests := []struct {
		name string
		opts []wfntest.Option
		want string
	}{
		{name: "IPv4", opts: []wfntest.Option{wfntest.ClientIP("203.0.113.7")}, want: "Your ip is 203.0.113.7"},
		{name: "IPv6", opts: []wfntest.Option{wfntest.ClientIP("2001:db8::1")}, want: "Your ip is 2001:db8::1"},
		{name: "unknown", opts: []wfntest.Option{wfntest.ClientIP("")}, want: "Your ip is unknown"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := wfntest.Call(catchall.Serve, httptest.NewRequest("GET", "/api/ip", nil), nil, tt.opts...)
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != 200 || string(body) != tt.want {
				t.Errorf("got %d %q, want 200 %q", resp.StatusCode, body, tt.want)
			}
		})
	}
}
