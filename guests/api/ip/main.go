// Function ip answers "Your ip is ADDR" with the client's address as the
// host trusts it (Vercel's ipAddress).
package main

import (
	"github.com/wfn-dev/wfn/guests/sdk/go/wfn"
	"github.com/wfn-dev/wfn/guests/sdk/go/wfn/catchall"
)

func init() { catchall.HandleFunc(ip) }

func ip(w *wfn.ResponseWriter, r *wfn.Request) {
	addr, ok := r.IPAddress()
	if !ok {
		addr = "unknown"
	}
	w.SetHeader("Content-Type", "text/plain; charset=utf-8")
	w.WriteString("Your ip is " + addr)
}

func main() {}
