// Function kv is a Runtime Cache through the raw bytes API, for tests and
// benchmarks: GET /api/kv?key=K answers the value stored under K (404 on a
// miss); PUT /api/kv?key=K&ttl=S&tags=a,b stores the request body; POST
// /api/kv?expire=a,b expires tags.
package main

import (
	"errors"
	"fmt"
	"io"
	"net/url"
	"strconv"
	"strings"

	"github.com/wfn-dev/wfn/abi"
	"github.com/wfn-dev/wfn/guests/sdk/go/wfn"
	"github.com/wfn-dev/wfn/guests/sdk/go/wfn/catchall"
	"github.com/wfn-dev/wfn/guests/sdk/go/wfn/wfncache"
)

var cache = wfncache.GetCache(wfncache.Namespace("kv"))

func init() {
	catchall.HandleFunc(func(w *wfn.ResponseWriter, r *wfn.Request) {
		u, err := url.Parse(r.URL())
		if err != nil {
			w.SetStatus(400)
			return
		}
		q := u.Query()
		key := q.Get("key")
		switch r.Method() {
		case "GET":
			v, ok, err := cache.GetBytes(key)
			switch {
			case err != nil:
				fail(w, err)
			case !ok:
				w.SetStatus(404)
			default:
				w.Write(v)
			}
		case "PUT":
			body, _ := io.ReadAll(r.Body())
			ttl, _ := strconv.Atoi(q.Get("ttl"))
			var tags []string
			if t := q.Get("tags"); t != "" {
				tags = strings.Split(t, ",")
			}
			// gen=N,SIZE: N tags of SIZE digits, made here because
			// tags past the limits do not fit in a URL (14 KB).
			if n, size, ok := strings.Cut(q.Get("gen"), ","); ok {
				count, _ := strconv.Atoi(n)
				width, _ := strconv.Atoi(size)
				for i := range count {
					tags = append(tags, fmt.Sprintf("%0*d", width, i))
				}
			}
			if err := cache.SetBytes(key, body, wfncache.TTL(ttl), wfncache.Tags(tags...)); err != nil {
				fail(w, err)
			}
		case "POST":
			if err := cache.ExpireTag(strings.Split(q.Get("expire"), ",")...); err != nil {
				fail(w, err)
			}
		default:
			w.SetStatus(405)
		}
	})
}

// fail answers the error code the host returned.
func fail(w *wfn.ResponseWriter, err error) {
	var e abi.Errno
	switch {
	case errors.As(err, &e) && (e == abi.ETOOLARGE || e == abi.EINVAL):
		w.SetStatus(400)
	default:
		w.SetStatus(503)
	}
	w.WriteString(err.Error())
}

func main() {}
