package wfn_test

import (
	"context"
	"fmt"
	"io"
	"net/http/httptest"
	"time"

	"github.com/wfn-dev/wfn/guests/sdk/go/wfn"
	"github.com/wfn-dev/wfn/guests/sdk/go/wfn/wfntest"
)

// Work registered with WaitUntil runs after the response is complete,
// under the same deadline.
func ExampleWaitUntil() {
	h := wfn.HandlerFunc(func(w *wfn.ResponseWriter, r *wfn.Request) {
		wfn.WaitUntil(func(ctx context.Context) {
			_, ok := ctx.Deadline()
			fmt.Println("task: has a deadline:", ok)
		})
		w.WriteString("scheduled")
		fmt.Println("handler returns")
	})

	resp := wfntest.Do(h, httptest.NewRequest("GET", "/api/after", nil), nil)
	body, _ := io.ReadAll(resp.Body)
	fmt.Println("client got:", string(body))
	// Output:
	// handler returns
	// task: has a deadline: true
	// client got: scheduled
}

// A handler streams until the invocation is aborted: here wfntest aborts
// it when the request's context is canceled.
func ExampleRequest_Context() {
	h := wfn.HandlerFunc(func(w *wfn.ResponseWriter, r *wfn.Request) {
		tick := time.NewTicker(10 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-r.Context().Done():
				fmt.Println("aborted:", context.Cause(r.Context()))
				return
			case <-tick.C:
				w.WriteString("tick\n")
				w.Flush()
			}
		}
	})

	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	wfntest.Do(h, httptest.NewRequestWithContext(ctx, "GET", "/api/cancel", nil), nil)
	// Output: aborted: wfn: ECANCELED
}

// Functions registered with OnSigterm run when the host shuts down;
// wfntest.Sigterm runs them in tests.
func ExampleOnSigterm() {
	wfn.OnSigterm(func() { fmt.Println("flushing metrics") }) // in a function: from init

	if err := wfntest.Sigterm(); err != nil {
		fmt.Println(err)
	}
	// Output: flushing metrics
}
