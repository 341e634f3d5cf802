package main

import (
	"context"
	"fmt"
	"io"
	"net/http/httptest"
	"time"

	"github.com/wfn-dev/wfn/guests/sdk/go/wfn/catchall"
	"github.com/wfn-dev/wfn/guests/sdk/go/wfn/wfntest"
)

func Example() {
	lines, interval = 3, time.Millisecond
	resp := wfntest.Call(catchall.Serve, httptest.NewRequest("GET", "/api/nocancel", nil), nil)
	body, _ := io.ReadAll(resp.Body)
	fmt.Print(string(body))
	// Output:
	// completed
	// line 1
	// line 2
	// line 3
}

// Writes that fail do not stop it.
func Example_clientGone() {
	lines, interval = 3, time.Millisecond
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	wfntest.Call(catchall.Serve, httptest.NewRequestWithContext(ctx, "GET", "/api/nocancel", nil), nil)
	// Output: completed
}
