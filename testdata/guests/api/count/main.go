// Function count answers how many invocations its instance has served:
// "1", then "2", and so on while the host reuses the instance. A fresh
// instance (for example after one trapped) starts again at "1". With
// ?panic=1 it panics after counting, ending its instance.
package main

import (
	"strconv"
	"strings"

	"github.com/wfn-dev/wfn/guests/sdk/go/wfn"
	"github.com/wfn-dev/wfn/guests/sdk/go/wfn/catchall"
)

var count int

func init() {
	catchall.HandleFunc(func(w *wfn.ResponseWriter, r *wfn.Request) {
		count++
		if strings.Contains(r.URL(), "panic=1") {
			panic("count: deliberate panic after " + strconv.Itoa(count))
		}
		w.SetHeader("Content-Type", "text/plain; charset=utf-8")
		w.WriteString(strconv.Itoa(count))
	})
}

func main() {}
