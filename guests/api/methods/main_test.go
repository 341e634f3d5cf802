package main

import (
	"io"
	"net/http/httptest"
	"testing"

	"github.com/wfn-dev/wfn/guests/sdk/go/wfn/wfntest"
)

func TestMethods(t *testing.T) {
	tests := []struct {
		name   string
		export func()
		method string
		want   string
	}{
		{"GET", get, "GET", "GET ok"},
		{"POST", post, "POST", "POST ok"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := wfntest.Call(tt.export, httptest.NewRequest(tt.method, "/api/methods", nil), nil)
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != 200 || string(body) != tt.want {
				t.Errorf("got %d %q, want 200 %q", resp.StatusCode, body, tt.want)
			}
		})
	}
}
