package main

import (
	"bytes"
	"io"
	"net/http/httptest"
	"testing"

	"github.com/wfn-dev/wfn/guests/sdk/go/wfn/catchall"
	"github.com/wfn-dev/wfn/guests/sdk/go/wfn/wfntest"
)

func TestEcho(t *testing.T) {
	in := make([]byte, 4<<20)
	for i := range in {
		in[i] = byte(i % 251)
	}
	req := httptest.NewRequest("POST", "/api/echo", bytes.NewReader(in))
	req.Header.Set("Content-Type", "application/x-test")
	resp := wfntest.Call(catchall.Serve, req, nil)
	out, _ := io.ReadAll(resp.Body)
	if !bytes.Equal(out, in) || resp.Header.Get("Content-Type") != "application/x-test" {
		t.Errorf("echoed %d bytes as %q, want %d", len(out), resp.Header.Get("Content-Type"), len(in))
	}
}

func TestEchoGet(t *testing.T) {
	resp := wfntest.Call(catchall.Serve, httptest.NewRequest("GET", "/api/echo", nil), nil)
	if resp.StatusCode != 405 || resp.Header.Get("Allow") != "POST" {
		t.Errorf("got %d, Allow %q", resp.StatusCode, resp.Header.Get("Allow"))
	}
}
