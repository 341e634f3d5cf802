package main

import (
	"io"
	"net/http/httptest"
	"testing"

	"github.com/wfn-dev/wfn/guests/sdk/go/wfn/catchall"
	"github.com/wfn-dev/wfn/guests/sdk/go/wfn/wfntest"
)

func TestRegion(t *testing.T) {
	tests := []struct {
		name, env, want string
	}{
		{name: "set", env: "iad1", want: "Hello from iad1"},
		{name: "unset", env: "", want: "Hello from dev1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("VERCEL_REGION", tt.env) // the host sets it in the guest's environment
			resp := wfntest.Call(catchall.Serve, httptest.NewRequest("GET", "/api/region", nil), nil)
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != 200 || string(body) != tt.want {
				t.Errorf("got %d %q, want 200 %q", resp.StatusCode, body, tt.want)
			}
		})
	}
}
