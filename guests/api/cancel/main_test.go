package main

import (
	"context"
	"net/http/httptest"
	"time"

	"github.com/wfn-dev/wfn/guests/sdk/go/wfn/catchall"
	"github.com/wfn-dev/wfn/guests/sdk/go/wfn/wfntest"
)

// Canceling the request's context aborts the invocation, as a client
// leaving a function with supportsCancellation does.
func Example() {
	lines, interval = 1000, 5*time.Millisecond
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	wfntest.Call(catchall.Serve, httptest.NewRequestWithContext(ctx, "GET", "/api/cancel", nil), nil)
	// Output:
	// request aborted
	// cleanup done
}
