// Function expire expires Runtime Cache entries by tag: GET or POST
// /api/expire?tag=T calls expireTag(T) on the Runtime Cache, after which
// every entry stored with tag T is a miss, and answers {"expired": T}.
// Unlike /api/revalidate it leaves the CDN alone. Without a tag, or with a
// tag the host refuses (one with a comma, or over 256 bytes), it answers
// 400.
//
// Try it with /api/cache: its value is stored with the tag "example-tag".
package main

import (
	"encoding/json"
	"errors"
	"net/url"

	"github.com/wfn-dev/wfn/abi"
	"github.com/wfn-dev/wfn/guests/sdk/go/wfn"
	"github.com/wfn-dev/wfn/guests/sdk/go/wfn/catchall"
	"github.com/wfn-dev/wfn/guests/sdk/go/wfn/wfncache"
)

func init() { catchall.HandleFunc(expire) }

func expire(w *wfn.ResponseWriter, r *wfn.Request) {
	w.SetHeader("Cache-Control", "no-store")
	u, err := url.Parse(r.URL())
	tag := ""
	if err == nil {
		tag = u.Query().Get("tag")
	}
	if tag == "" {
		fail(w, 400, "missing tag: /api/expire?tag=example-tag")
		return
	}
	switch err := wfncache.GetCache().ExpireTag(tag); {
	case errors.Is(err, abi.EINVAL), errors.Is(err, abi.ETOOLARGE):
		fail(w, 400, "bad tag: "+err.Error())
		return
	case err != nil:
		fail(w, 500, "cache: "+err.Error())
		return
	}
	writeJSON(w, 200, struct {
		Expired string `json:"expired"`
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
