// Function echo answers with the URL it was given ("echo /path?query"),
// the header X-From: function, and with ?cc=VALUE a Cache-Control of
// VALUE, so that tests see where a rewrite led and which headers win.
package main

import (
	"net/url"

	"github.com/wfn-dev/wfn/guests/sdk/go/wfn"
	"github.com/wfn-dev/wfn/guests/sdk/go/wfn/catchall"
)

func init() {
	catchall.HandleFunc(func(w *wfn.ResponseWriter, r *wfn.Request) {
		w.SetHeader("Content-Type", "text/plain; charset=utf-8")
		w.SetHeader("X-From", "function")
		if u, err := url.Parse(r.URL()); err == nil {
			if cc := u.Query().Get("cc"); cc != "" {
				w.SetHeader("Cache-Control", cc)
			}
			w.WriteString("echo " + u.RequestURI() + "\n")
			return
		}
		w.WriteString("echo " + r.URL() + "\n")
	})
}

func main() {}
