// Function region answers "Hello from REGION" with the region it runs in,
// VERCEL_REGION from Vercel's system variables (wfn.GetEnv, as getEnv()),
// or "dev1" when it is not set.
package main

import (
	"github.com/wfn-dev/wfn/guests/sdk/go/wfn"
	"github.com/wfn-dev/wfn/guests/sdk/go/wfn/catchall"
)

func init() { catchall.HandleFunc(region) }

func region(w *wfn.ResponseWriter, r *wfn.Request) {
	name := wfn.GetEnv().VERCEL_REGION
	if name == "" {
		name = "dev1"
	}
	w.SetHeader("Content-Type", "text/plain; charset=utf-8")
	w.WriteString("Hello from " + name)
}

func main() {}
