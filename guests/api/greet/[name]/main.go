// Function greet/[name] answers "Hello NAME!" with the name route param:
// GET /api/greet/ada gives "Hello ada!".
package main

import (
	"github.com/wfn-dev/wfn/guests/sdk/go/wfn"
	"github.com/wfn-dev/wfn/guests/sdk/go/wfn/catchall"
)

func init() { catchall.HandleFunc(greet) }

func greet(w *wfn.ResponseWriter, r *wfn.Request) {
	name, ok := r.Param("name")
	if !ok {
		w.SetStatus(404)
		return
	}
	w.SetHeader("Content-Type", "text/plain; charset=utf-8")
	w.WriteString("Hello ")
	w.WriteString(name)
	w.WriteString("!")
}

func main() {}
