// Function deep recurses as deep as ?n= says (default 1000) and answers the
// depth it reached: a legitimate deep recursion, to check that the host's
// stack limit leaves room for it. With ?n=-1 it recurses without end, as
// a bug would.
package main

import (
	"net/url"
	"strconv"
	"strings"

	"github.com/wfn-dev/wfn/guests/sdk/go/wfn"
	"github.com/wfn-dev/wfn/guests/sdk/go/wfn/catchall"
)

// depth returns how many calls deep it went: n, or forever when n < 0.
//
//go:noinline
func depth(n int) int {
	if n == 0 {
		return 0
	}
	return depth(n-1) + 1
}

func init() {
	catchall.HandleFunc(func(w *wfn.ResponseWriter, r *wfn.Request) {
		n := 1000
		if _, q, ok := strings.Cut(r.URL(), "?"); ok {
			if v, err := url.ParseQuery(q); err == nil && v.Get("n") != "" {
				n, _ = strconv.Atoi(v.Get("n"))
			}
		}
		w.WriteString(strconv.Itoa(depth(n)))
	})
}

func main() {}
