// Function after answers "scheduled" at once and then, as work after the
// response, waits 500 ms and prints "after-task done" to stdout, which
// the host logs with the request id.
package main

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/wfn-dev/wfn/guests/sdk/go/wfn"
	"github.com/wfn-dev/wfn/guests/sdk/go/wfn/catchall"
)

// taskDelay is how long the task waits; tests shorten it.
var taskDelay = 500 * time.Millisecond

func init() { catchall.HandleFunc(after) }

func after(w *wfn.ResponseWriter, r *wfn.Request) {
	if err := wfn.WaitUntil(task); err != nil {
		fmt.Fprintln(os.Stderr, "cannot schedule the task:", err)
	}
	w.SetHeader("Content-Type", "text/plain; charset=utf-8")
	w.WriteString("scheduled")
	// The client has the whole response now, while the function goes on.
	w.Close()
}

func task(ctx context.Context) {
	time.Sleep(taskDelay)
	fmt.Println("after-task done")
}

func main() {}
