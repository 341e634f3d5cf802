// Function tenant answers "tenant <X-Tenant> run <N>", cacheable by the
// CDN for a minute and varying on the X-Tenant request header. N counts
// the runs of its instance, so a response served from the cache shows the
// run that stored it. A request without X-Tenant gets "tenant (none)".
package main

import (
	"strconv"

	"github.com/wfn-dev/wfn/guests/sdk/go/wfn"
	"github.com/wfn-dev/wfn/guests/sdk/go/wfn/catchall"
)

var runs int

func init() {
	catchall.HandleFunc(func(w *wfn.ResponseWriter, r *wfn.Request) {
		runs++
		tenant, ok := r.Header("x-tenant")
		if !ok {
			tenant = "(none)"
		}
		w.SetHeader("Content-Type", "text/plain; charset=utf-8")
		w.SetHeader("Cache-Control", "s-maxage=60")
		w.SetHeader("Vary", "X-Tenant")
		w.WriteString("tenant " + tenant + " run " + strconv.Itoa(runs))
	})
}

func main() {}
