// Function cache is the getCache example of Vercel's Runtime Cache: it
// reads the key "somekey" from the Runtime Cache and, on a miss, takes a
// value from ORIGIN_URL (an environment variable; the origin's JSON
// body, or its text as a JSON string) or, when that is unset, makes one
// (the time and a random id), and stores it for an hour with the tag
// "example-tag". It answers {"value": ..., "hit": true|false}.
//
// Every instance of the deployment's functions shares the Runtime Cache:
// after the first request, the others are hits until the hour has passed
// or the tag is expired (see /api/expire) or purged (/api/revalidate).
package main

import (
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"time"

	"github.com/wfn-dev/wfn/abi"
	"github.com/wfn-dev/wfn/guests/sdk/go/wfn"
	"github.com/wfn-dev/wfn/guests/sdk/go/wfn/catchall"
	"github.com/wfn-dev/wfn/guests/sdk/go/wfn/wfncache"
)

func init() { catchall.HandleFunc(handle) }

var cache = wfncache.GetCache()

type answer struct {
	Value json.RawMessage `json:"value"`
	Hit   bool            `json:"hit"`
}

func handle(w *wfn.ResponseWriter, r *wfn.Request) {
	var value json.RawMessage
	hit, err := cache.Get("somekey", &value)
	if err != nil {
		// The cache is down (EIO): serve without it.
		fmt.Fprintln(os.Stderr, "cache get:", err)
		hit = false
	}
	if !hit {
		if value, err = origin(); err != nil {
			fail(w, 502, err.Error())
			return
		}
		err := cache.Set("somekey", value, wfncache.TTL(3600), wfncache.Tags("example-tag"))
		if err != nil {
			fmt.Fprintln(os.Stderr, "cache set:", err)
		}
	}
	writeJSON(w, 200, answer{Value: value, Hit: hit})
}

// origin is the fresh value: ORIGIN_URL's body, or a made-up one.
func origin() (json.RawMessage, error) {
	url := os.Getenv("ORIGIN_URL")
	if url == "" {
		return json.Marshal(struct {
			Timestamp int64  `json:"timestamp"`
			ID        string `json:"id"`
		}{time.Now().UnixMilli(), rand.Text()})
	}
	resp, err := wfn.Fetch("GET", url, []string{"Accept", "application/json"}, nil)
	if err != nil {
		return nil, originErr(err)
	}
	defer resp.Close()
	status, err := resp.Status()
	if err != nil {
		return nil, originErr(err)
	}
	if status != 200 {
		return nil, errors.New("origin: status " + strconv.Itoa(status))
	}
	body, err := io.ReadAll(resp)
	if err != nil {
		return nil, originErr(err)
	}
	if json.Valid(body) {
		return body, nil
	}
	return json.Marshal(string(body))
}

func originErr(err error) error {
	if errors.Is(err, abi.EDENIED) {
		return errors.New("origin: ORIGIN_URL is not an allowed destination (allowedOutboundHosts)")
	}
	return errors.New("origin: " + err.Error())
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

// main never runs: a function is a WASI reactor.
func main() {}
