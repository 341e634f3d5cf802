package main

import (
	"io"
	"net/http/httptest"
	"testing"

	"github.com/wfn-dev/wfn/guests/sdk/go/wfn/catchall"
	"github.com/wfn-dev/wfn/guests/sdk/go/wfn/wfntest"
)

func TestHello(t *testing.T) {
	resp := wfntest.Call(catchall.Serve, httptest.NewRequest("GET", "/api/hello", nil), nil)
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || string(body) != "Hello from wfn!" || resp.Header.Get("Content-Type") != "text/plain; charset=utf-8" {
		t.Errorf("got %d %q %q", resp.StatusCode, resp.Header.Get("Content-Type"), body)
	}
}
