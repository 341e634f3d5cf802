// Function product is the addCacheTag example: GET /api/product?id=N
// answers {"id": N, "runs": R}, cacheable by the CDN for a day
// (Vercel-CDN-Cache-Control: public, max-age=86400) and tagged
// "product-N" and "products", so that /api/revalidate?tag=product-N (or
// tag=products) refreshes it.
//
// R counts the runs of this function for that id, in the Runtime Cache
// that every instance shares: while the CDN serves the cached response it
// does not grow; after a revalidation it does. An id that is missing or
// not a non-negative integer gets 400.
package main

import (
	"encoding/json"
	"net/url"
	"strconv"

	"github.com/wfn-dev/wfn/guests/sdk/go/wfn"
	"github.com/wfn-dev/wfn/guests/sdk/go/wfn/catchall"
	"github.com/wfn-dev/wfn/guests/sdk/go/wfn/wfncache"
)

func init() { catchall.HandleFunc(product) }

var runs = wfncache.GetCache(wfncache.Namespace("product-runs"))

func product(w *wfn.ResponseWriter, r *wfn.Request) {
	u, err := url.Parse(r.URL())
	if err != nil {
		fail(w, 400, "bad URL")
		return
	}
	id, err := strconv.ParseUint(u.Query().Get("id"), 10, 63)
	if err != nil {
		fail(w, 400, "id must be a non-negative integer: /api/product?id=1")
		return
	}
	sid := strconv.FormatUint(id, 10)

	// get, +1, set: two instances running at once may both count 1 for
	// the same id, as with Vercel's Runtime Cache, which has no increment.
	var n int
	if _, err := runs.Get(sid, &n); err != nil {
		fail(w, 500, "cache: "+err.Error())
		return
	}
	n++
	if err := runs.Set(sid, n); err != nil {
		fail(w, 500, "cache: "+err.Error())
		return
	}

	if err := wfn.AddCacheTag("product-"+sid, "products"); err != nil {
		fail(w, 500, "cache tags: "+err.Error())
		return
	}
	w.SetHeader("Vercel-CDN-Cache-Control", "public, max-age=86400")
	writeJSON(w, 200, struct {
		ID   uint64 `json:"id"`
		Runs int    `json:"runs"`
	}{id, n})
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
