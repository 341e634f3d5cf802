// Command membomb allocates until the runtime gives up: past its memory
// limit, the Go runtime fails and the instance with it.
package main

import (
	"github.com/wfn-dev/wfn/guests/sdk/go/wfn"
	"github.com/wfn-dev/wfn/guests/sdk/go/wfn/catchall"
)

var keep [][]byte

func init() {
	catchall.HandleFunc(func(w *wfn.ResponseWriter, r *wfn.Request) {
		for i := 0; i < 1<<14; i++ { // up to 16 GiB, in 1 MiB pieces
			b := make([]byte, 1<<20)
			b[len(b)-1] = 1
			keep = append(keep, b)
		}
		w.WriteString("survived")
	})
}

func main() {}
