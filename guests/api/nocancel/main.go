// Function nocancel streams a line every 100 ms for 3 s, then prints
// "completed". It does not have supportsCancellation, so it runs to the
// end even when the client goes away: its writes then fail, and it
// ignores that.
package main

import (
	"fmt"
	"strconv"
	"time"

	"github.com/wfn-dev/wfn/guests/sdk/go/wfn"
	"github.com/wfn-dev/wfn/guests/sdk/go/wfn/catchall"
)

// The stream's length and pace; tests shorten them.
var (
	lines    = 30
	interval = 100 * time.Millisecond
)

func init() { catchall.HandleFunc(nocancel) }

func nocancel(w *wfn.ResponseWriter, r *wfn.Request) {
	w.SetHeader("Content-Type", "text/plain; charset=utf-8")
	for i := 1; i <= lines; i++ {
		if i > 1 {
			time.Sleep(interval)
		}
		// Errors (the client left) are ignored: the work goes on.
		w.WriteString("line " + strconv.Itoa(i) + "\n")
		w.Flush()
	}
	fmt.Println("completed")
}

func main() {}
