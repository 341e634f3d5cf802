package main

import (
	"net/http/httptest"
	"testing"
	"time"

	"github.com/wfn-dev/wfn/guests/sdk/go/wfn/catchall"
	"github.com/wfn-dev/wfn/guests/sdk/go/wfn/wfntest"
)

// Past its maxDuration the host answers 504.
func TestSlow(t *testing.T) {
	sleep = 200 * time.Millisecond
	resp := wfntest.Call(catchall.Serve, httptest.NewRequest("GET", "/api/slow", nil), nil, wfntest.MaxDuration(50*time.Millisecond))
	if resp.StatusCode != 504 || resp.Header.Get("X-Wfn-Error") != wfntest.CodeInvocationTimeout {
		t.Errorf("got %d %q, want 504", resp.StatusCode, resp.Header.Get("X-Wfn-Error"))
	}
}
