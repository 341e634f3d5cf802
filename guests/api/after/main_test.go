package main

import (
	"fmt"
	"io"
	"net/http/httptest"
	"time"

	"github.com/wfn-dev/wfn/guests/sdk/go/wfn/catchall"
	"github.com/wfn-dev/wfn/guests/sdk/go/wfn/wfntest"
)

// wfntest returns after the task, which printed its line.
func Example() {
	taskDelay = 10 * time.Millisecond
	resp := wfntest.Call(catchall.Serve, httptest.NewRequest("GET", "/api/after", nil), nil)
	body, _ := io.ReadAll(resp.Body)
	fmt.Println(resp.StatusCode, string(body))
	// Output:
	// after-task done
	// 200 scheduled
}
