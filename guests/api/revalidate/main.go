// Function revalidate purges the CDN by tag: GET or POST
// /api/revalidate?tag=T calls InvalidateByTag(T), which marks every
// cached response tagged T stale (the next request gets the stale copy
// while the function runs again in the background; on Vercel the purge
// reaches the Runtime Cache and the Data Cache too), and answers
// {"revalidated": T}. Without a tag, or with a tag the host refuses (one
// with a comma, or over 256 bytes), it answers 400.
//
// Try it with /api/product: GET /api/product?id=1 twice (the second from
// the CDN), then /api/revalidate?tag=product-1.
package main

import (
	"encoding/json"
	"errors"
	"net/url"

	"github.com/wfn-dev/wfn/abi"
	"github.com/wfn-dev/wfn/guests/sdk/go/wfn"
	"github.com/wfn-dev/wfn/guests/sdk/go/wfn/catchall"
)

func init() { catchall.HandleFunc(revalidate) }

func revalidate(w *wfn.ResponseWriter, r *wfn.Request) {
	w.SetHeader("Cache-Control", "no-store")
	u, err := url.Parse(r.URL())
	tag := ""
	if err == nil {
		tag = u.Query().Get("tag")
	}
	if tag == "" {
		fail(w, 400, "missing tag: /api/revalidate?tag=products")
		return
	}
	switch err := wfn.InvalidateByTag(tag); {
	case errors.Is(err, abi.EINVAL), errors.Is(err, abi.ETOOLARGE):
		fail(w, 400, "bad tag: "+err.Error())
		return
	case err != nil:
		fail(w, 500, "purge: "+err.Error())
		return
	}
	writeJSON(w, 200, struct {
		Revalidated string `json:"revalidated"`
	}{tag})
}

func fail(w *wfn.ResponseWriter, status int, msg string) {
	writeJSON(w, status, struct {
		Error string `json:"error"`
	}{msg})
}

func writeJSON(w *wfn.ResponseWriter, status int, v any) {
	b, _ := json.Marshal(v)
	w.SetStatus(status)
	w.SetHeader("Content-Type", "application/json")
	w.Write(b)
}

func main() {}
