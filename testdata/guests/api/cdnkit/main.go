// Function cdnkit answers what the CDN cache tests need, by ?mode=:
//
//   - etag: "etag run <N> if-none-match <value>", cacheable for a minute,
//     with ETag "e1" and a Last-Modified; 304 when If-None-Match is "e1".
//   - validate&id=X: "validate run <N> if-none-match <value>" with ETag
//     "r1", X-Run: N and s-maxage=60, which the first call's Age: 59 leaves
//     one second of; later calls with If-None-Match "r1" answer 304 with
//     X-Run: N and s-maxage=60.
//   - stream&id=X: server-sent events cacheable for a minute: "data: 1",
//     flushed, then, once /api/cdnkit?mode=release&id=X was requested,
//     "data: 2".
//   - release&id=X: lets the stream X end.
//   - fail&id=X: the first call answers "fail run 1", fresh for a second
//     and usable for a minute after if the function fails
//     (stale-if-error=60); every later call for X fails with 500.
//   - maxage&id=X: "maxage run <N>" with only Cache-Control: max-age=60,
//     which an RFC 9111 shared cache stores and Vercel's CDN does not.
//   - swr&id=X: "swr run <N>", fresh for a second, with a bare
//     stale-while-revalidate (no number).
//
// N counts calls per mode and id in the Runtime Cache, which every
// instance shares.
package main

import (
	"net/url"
	"strconv"
	"time"

	"github.com/wfn-dev/wfn/guests/sdk/go/wfn"
	"github.com/wfn-dev/wfn/guests/sdk/go/wfn/catchall"
	"github.com/wfn-dev/wfn/guests/sdk/go/wfn/wfncache"
)

var kv = wfncache.GetCache(wfncache.Namespace("cdnkit"))

func init() { catchall.HandleFunc(serve) }

func serve(w *wfn.ResponseWriter, r *wfn.Request) {
	u, err := url.Parse(r.URL())
	if err != nil {
		w.SetStatus(400)
		return
	}
	q := u.Query()
	mode, id := q.Get("mode"), q.Get("id")
	n := count(mode + "/" + id)
	switch mode {
	case "etag":
		w.SetHeader("Cache-Control", "s-maxage=60")
		w.SetHeader("ETag", `"e1"`)
		w.SetHeader("Last-Modified", "Mon, 02 Nov 2026 10:00:00 GMT")
		inm, _ := r.Header("if-none-match")
		if inm == `"e1"` {
			w.SetStatus(304)
			return
		}
		w.WriteString("etag run " + strconv.Itoa(n) + " if-none-match " + inm)
	case "validate":
		w.SetHeader("Cache-Control", "s-maxage=60")
		w.SetHeader("ETag", `"r1"`)
		w.SetHeader("X-Run", strconv.Itoa(n))
		inm, _ := r.Header("if-none-match")
		if n > 1 && inm == `"r1"` {
			w.SetStatus(304)
			return
		}
		if n == 1 {
			w.SetHeader("Age", "59")
		}
		w.WriteString("validate run " + strconv.Itoa(n) + " if-none-match " + inm)
	case "stream":
		w.SetHeader("Content-Type", "text/event-stream")
		w.SetHeader("Cache-Control", "s-maxage=60")
		w.WriteString("data: 1\n")
		w.Flush()
		deadline := time.Now().Add(30 * time.Second)
		for time.Now().Before(deadline) {
			if _, ok, _ := kv.GetBytes("release/" + id); ok {
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
		w.WriteString("data: 2\n")
	case "release":
		kv.Set("release/"+id, true)
		w.WriteString("released")
	case "fail":
		if n > 1 {
			w.SetStatus(500)
			w.WriteString("failed")
			return
		}
		w.SetHeader("Cache-Control", "s-maxage=1, stale-if-error=60")
		w.WriteString("fail run " + strconv.Itoa(n))
	case "maxage":
		w.SetHeader("Cache-Control", "max-age=60")
		w.WriteString("maxage run " + strconv.Itoa(n))
	case "swr":
		w.SetHeader("Cache-Control", "s-maxage=1, stale-while-revalidate")
		w.WriteString("swr run " + strconv.Itoa(n))
	default:
		w.SetStatus(400)
		w.WriteString("unknown mode")
	}
}

// count adds one to the counter key and returns it.
func count(key string) int {
	var n int
	kv.Get(key, &n)
	n++
	kv.Set(key, n)
	return n
}

func main() {}
