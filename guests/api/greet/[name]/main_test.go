package main

import (
	"io"
	"net/http/httptest"
	"testing"

	"github.com/wfn-dev/wfn/guests/sdk/go/wfn/catchall"
	"github.com/wfn-dev/wfn/guests/sdk/go/wfn/wfntest"
)

// Run with "go test main.go main_test.go" in this directory: its import
// path contains '[', which go test ./... rejects.
func TestGreet(t *testing.T) {
	resp := wfntest.Call(catchall.Serve, httptest.NewRequest("GET", "/api/greet/ada", nil), map[string]string{"name": "ada"})
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || string(body) != "Hello ada!" {
		t.Errorf("got %d %q", resp.StatusCode, body)
	}
}
