// Function hello answers "hello".
package main

import (
	"github.com/wfn-dev/wfn/guests/sdk/go/wfn"
	"github.com/wfn-dev/wfn/guests/sdk/go/wfn/catchall"
)

func init() {
	catchall.HandleFunc(func(w *wfn.ResponseWriter, r *wfn.Request) {
		w.SetHeader("Content-Type", "text/plain; charset=utf-8")
		w.WriteString("hello\n")
	})
}

func main() {}
