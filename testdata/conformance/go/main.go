// Command go is the Go SDK's conformance guest: it implements every case
// of the wfn ABI conformance suite (package
// github.com/wfn-dev/wfn/abi/conformance, whose documentation is the
// protocol) with the SDK's public API only.
//
//	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o conformance.wasm .
//	wfn conformance conformance.wasm
//
// It exports wfn_handle (through catchall) and the method exports GET and
// POST; every export runs the same dispatcher. It uses wfn.Fetch for the
// outbound cases rather than wfnfetch (a layer over it), which would link
// net/http: the module would be 11 MB instead of 4, and the suite's own
// test three times slower.
package main

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/wfn-dev/wfn/abi"
	"github.com/wfn-dev/wfn/guests/sdk/go/wfn"
	"github.com/wfn-dev/wfn/guests/sdk/go/wfn/catchall"
	"github.com/wfn-dev/wfn/guests/sdk/go/wfn/wfncache"
)

func init() { catchall.Handle(dispatcher("wfn_handle")) }

//go:wasmexport GET
func exportGET() { wfn.Serve(dispatcher("GET")) }

//go:wasmexport POST
func exportPOST() { wfn.Serve(dispatcher("POST")) }

func main() {}

// dispatcher serves the case named by the route param "case"; export is
// the name of the export that was called.
func dispatcher(export string) wfn.HandlerFunc {
	return func(w *wfn.ResponseWriter, r *wfn.Request) {
		name, _ := r.Param("case")
		w.SetHeader("x-wfn-export", export)
		c, ok := cases[name]
		if !ok {
			// An unknown case: 404 with the param as the body.
			w.SetStatus(404)
			w.SetHeader("content-type", "text/plain; charset=utf-8")
			w.WriteString(name)
			return
		}
		c(w, r)
	}
}

var cases = map[string]func(w *wfn.ResponseWriter, r *wfn.Request){
	"dispatch":     func(w *wfn.ResponseWriter, r *wfn.Request) {},
	"empty":        func(w *wfn.ResponseWriter, r *wfn.Request) {},
	"method":       method,
	"url":          urlCase,
	"headers":      headers,
	"buffer":       buffer,
	"body":         body,
	"status":       status,
	"status-1xx":   func(w *wfn.ResponseWriter, r *wfn.Request) { w.SetStatus(103) },
	"headers-out":  headersOut,
	"buffered":     buffered,
	"stream":       stream,
	"close":        closeCase,
	"abort":        abort,
	"deadline":     deadline,
	"wait-until":   waitUntil,
	"log":          logCase,
	"env":          env,
	"ip-address":   ipAddress,
	"geolocation":  geolocation,
	"fetch":        fetch,
	"fetch-denied": fetchDenied,
	"clock":        clock,
	"random":       random,
	"cache":        cacheCase,
	"cdn":          cdnCase,
	// fetch-wait is left out: the Go SDK does not offer http_wait.
}

// code is how a result is reported: "ok", or the error's name.
func code(err error) string {
	if err == nil {
		return "ok"
	}
	var e abi.Errno
	if errors.As(err, &e) {
		return e.String()
	}
	return "fail: " + err.Error()
}

func check(w *wfn.ResponseWriter, name string, err error) {
	w.SetHeader("x-wfn-check-"+name, code(err))
}

// checkLine reports a check made after the head was sent, as a body line.
func checkLine(w *wfn.ResponseWriter, name string, err error) {
	w.WriteString("x-wfn-check-" + name + ": " + code(err) + "\n")
}

func query(r *wfn.Request, key string) string {
	u, err := url.Parse(r.URL())
	if err != nil {
		return ""
	}
	return u.Query().Get(key)
}

func method(w *wfn.ResponseWriter, r *wfn.Request) {
	w.SetHeader("x-wfn-method", r.Method())
}

func urlCase(w *wfn.ResponseWriter, r *wfn.Request) {
	w.WriteString(r.URL())
}

func headers(w *wfn.ResponseWriter, r *wfn.Request) {
	w.SetHeader("x-wfn-lookup", strings.Join(r.HeaderValues("X-MULTI"), ","))
	if _, ok := r.Header("x-absent"); !ok {
		check(w, "absent", abi.ENOTFOUND)
	} else {
		check(w, "absent", nil)
	}
	var b strings.Builder
	for _, name := range r.HeaderNames() {
		for _, v := range r.HeaderValues(name) {
			b.WriteString(name + ": " + v + "\n")
		}
	}
	w.WriteString(b.String())
}

func buffer(w *wfn.ResponseWriter, r *wfn.Request) {
	v, _ := r.Header("x-long")
	w.WriteString(r.URL() + "\n" + v)
}

func body(w *wfn.ResponseWriter, r *wfn.Request) {
	h := sha256.New()
	buf := make([]byte, 1000)
	var n, reads int
	var err error
	for {
		var m int
		m, err = r.Body().Read(buf)
		if m > 0 {
			reads++
			n += m
			h.Write(buf[:m])
		}
		if err != nil {
			break
		}
	}
	if err == io.EOF {
		err = nil
	}
	check(w, "read", err)
	w.SetHeader("x-wfn-body-length", strconv.Itoa(n))
	w.SetHeader("x-wfn-body-reads", strconv.Itoa(reads))
	w.SetHeader("x-wfn-body-sha256", hex.EncodeToString(h.Sum(nil)))
}

func status(w *wfn.ResponseWriter, r *wfn.Request) {
	check(w, "status-99", w.SetStatus(99))
	check(w, "status-1000", w.SetStatus(1000))
	check(w, "status-201", w.SetStatus(201))
	w.WriteString("created\n")
	checkLine(w, "status-after-write", w.SetStatus(202))
}

func headersOut(w *wfn.ResponseWriter, r *wfn.Request) {
	w.SetHeader("X-Set", "one")
	check(w, "set", w.SetHeader("x-set", "two"))
	w.AddHeader("x-add", "a")
	check(w, "add", w.AddHeader("X-Add", "b"))
	w.SetHeader("x-del", "gone")
	check(w, "delete", w.DelHeader("X-Del"))
	check(w, "tab", w.SetHeader("x-tab", "a\tb"))
	check(w, "bad-name-space", w.SetHeader("bad name", "v"))
	check(w, "bad-name-colon", w.AddHeader("bad:name", "v"))
	check(w, "bad-name-empty", w.SetHeader("", "v"))
	check(w, "bad-value-crlf", w.SetHeader("x-bad", "a\r\nx-injected: 1"))
	check(w, "bad-value-nul", w.SetHeader("x-bad", "a\x00b"))
	check(w, "bad-value-ctl", w.AddHeader("x-bad", "a\x01b"))
	check(w, "bad-delete", w.DelHeader("bad name"))
	w.WriteString("headers\n")
	checkLine(w, "set-after-write", w.SetHeader("x-late", "1"))
	checkLine(w, "add-after-write", w.AddHeader("x-late", "1"))
	checkLine(w, "delete-after-write", w.DelHeader("x-set"))
}

func buffered(w *wfn.ResponseWriter, r *wfn.Request) {
	w.SetHeader("content-type", "text/plain; charset=utf-8")
	w.WriteString("hello, ")
	w.WriteString("buffered world")
}

func stream(w *wfn.ResponseWriter, r *wfn.Request) {
	w.SetHeader("content-type", "text/plain; charset=utf-8")
	w.WriteString("first\n")
	if err := w.Flush(); err != nil {
		return
	}
	time.Sleep(1500 * time.Millisecond)
	w.WriteString("second\n")
}

func closeCase(w *wfn.ResponseWriter, r *wfn.Request) {
	token := query(r, "token")
	w.SetHeader("content-type", "text/plain; charset=utf-8")
	w.WriteString("closed")
	if err := w.Close(); err != nil {
		return
	}
	_, werr := w.WriteString("more")
	cerr := w.Close()
	time.Sleep(2 * time.Second)
	fmt.Fprintf(wfn.Stdout, "wfn-conformance close %s write=%s close=%s\n", token, code(werr), code(cerr))
}

func abort(w *wfn.ResponseWriter, r *wfn.Request) {
	// Context().Err asks the host (abort_signaled) each time.
	signaled := "0"
	if r.Context().Err() != nil {
		signaled = "1"
	}
	w.SetHeader("x-wfn-abort-signaled", signaled)
}

func deadline(w *wfn.ResponseWriter, r *wfn.Request) {
	w.SetHeader("x-wfn-deadline-ms", strconv.FormatInt(r.DeadlineRemaining().Milliseconds(), 10))
}

func waitUntil(w *wfn.ResponseWriter, r *wfn.Request) {
	token := query(r, "token")
	err := wfn.After(func() {
		time.Sleep(500 * time.Millisecond)
		fmt.Fprintf(wfn.Stdout, "wfn-conformance wait-until %s\n", token)
		wfn.After(func() { fmt.Fprintf(wfn.Stdout, "wfn-conformance wait-until-nested %s\n", token) })
	})
	check(w, "wait-until", err)
}

func logCase(w *wfn.ResponseWriter, r *wfn.Request) {
	token := query(r, "token")
	fmt.Fprintf(wfn.Stdout, "wfn-conformance stdout %s\n", token)
	fmt.Fprintf(wfn.Stderr, "wfn-conformance stderr %s\n", token)
	check(w, "log", nil)
}

func env(w *wfn.ResponseWriter, r *wfn.Request) {
	w.WriteString(strings.Join(os.Environ(), "\n"))
}

func ipAddress(w *wfn.ResponseWriter, r *wfn.Request) {
	ip, ok := r.IPAddress()
	if !ok {
		ip = abi.ENOTFOUND.String()
	}
	w.SetHeader("x-wfn-ip", ip)
}

func geolocation(w *wfn.ResponseWriter, r *wfn.Request) {
	w.SetHeader("content-type", "application/json")
	b, _ := json.Marshal(r.Geolocation())
	w.Write(b)
}

func fetch(w *wfn.ResponseWriter, r *wfn.Request) {
	f, err := wfn.Fetch("POST", query(r, "url"), []string{"X-Conformance", "yes"}, []byte("ping"))
	if err != nil {
		check(w, "fetch", err)
		return
	}
	defer f.Close()
	status, err := f.Status()
	if err != nil {
		check(w, "fetch", err)
		return
	}
	var b bytes.Buffer
	buf := make([]byte, 1000)
	for {
		n, err := f.Read(buf)
		b.Write(buf[:n])
		if err == io.EOF {
			break
		}
		if err != nil {
			check(w, "fetch", err)
			return
		}
	}
	check(w, "fetch", nil)
	w.SetHeader("x-wfn-fetch-status", strconv.Itoa(status))
	w.SetHeader("x-wfn-fetch-names", strings.Join(f.HeaderNames(), ","))
	w.SetHeader("x-wfn-fetch-header", strings.Join(f.HeaderValues("X-Backend"), ","))
	w.Write(b.Bytes())
}

// get sends a GET and waits for its status: the first error of the two.
func get(url string) error {
	f, err := wfn.Fetch("GET", url, nil, nil)
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = f.Status()
	return err
}

func fetchDenied(w *wfn.ResponseWriter, r *wfn.Request) {
	check(w, "denied", get(query(r, "url")))
	check(w, "denied-metadata", get("http://169.254.169.254/latest/meta-data/"))
}

func clock(w *wfn.ResponseWriter, r *wfn.Request) {
	w.SetHeader("x-wfn-wall-ms", strconv.FormatInt(time.Now().UnixMilli(), 10))
	start := time.Now()
	time.Sleep(50 * time.Millisecond)
	w.SetHeader("x-wfn-sleep-ms", strconv.FormatInt(time.Since(start).Milliseconds(), 10))
}

func random(w *wfn.ResponseWriter, r *wfn.Request) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		check(w, "random", err)
		return
	}
	w.SetHeader("x-wfn-random", hex.EncodeToString(b))
}

// errMiss is reported for a miss, which wfncache does not count as an
// error.
var errMiss = abi.ENOTFOUND

func cacheGet(c *wfncache.Cache, key string) (string, error) {
	var v string
	ok, err := c.Get(key, &v)
	if err == nil && !ok {
		err = errMiss
	}
	return v, err
}

func cacheCase(w *wfn.ResponseWriter, r *wfn.Request) {
	c := wfncache.GetCache()
	key, tag, value := query(r, "key"), query(r, "tag"), query(r, "value")
	if query(r, "read") != "" {
		v, err := cacheGet(c, key)
		if err != nil {
			v = code(err)
		}
		w.SetHeader("x-wfn-cache-get", v)
		return
	}
	_, err := cacheGet(c, key)
	check(w, "miss", err)
	check(w, "set", c.Set(key, value, wfncache.Tags(tag), wfncache.Name("conformance")))
	v, err := cacheGet(c, key)
	if err != nil {
		v = code(err)
	}
	w.SetHeader("x-wfn-cache-get", v)
	check(w, "delete", c.Delete(key))
	_, err = cacheGet(c, key)
	check(w, "deleted", err)
	check(w, "set-tagged", c.Set(key, value, wfncache.Tags(tag), wfncache.Name("conformance")))
	check(w, "expire-tag", c.ExpireTag(tag))
	_, err = cacheGet(c, key)
	check(w, "expired", err)
	check(w, "bad-ttl", c.Set(key, value, wfncache.TTL(-1)))
	check(w, "bad-tag", c.Set(key, value, wfncache.Tags("a", "")))
	check(w, "keep", c.Set(key+"-kept", value, wfncache.TTL(60)))
}

func cdnCase(w *wfn.ResponseWriter, r *wfn.Request) {
	tag, src := query(r, "tag"), query(r, "src")
	check(w, "add-tag", wfn.AddCacheTag(tag))
	check(w, "add-tag-empty", wfn.AddCacheTag("a", ""))
	check(w, "invalidate-tag", wfn.InvalidateByTag(tag))
	check(w, "delete-tag", wfn.DangerouslyDeleteByTag([]string{tag}, 0))
	check(w, "delete-tag-negative", wfn.DangerouslyDeleteByTag([]string{tag}, -1))
	check(w, "invalidate-src", wfn.InvalidateBySrcImage(src))
	check(w, "invalidate-src-empty", wfn.InvalidateBySrcImage(""))
	check(w, "delete-src", wfn.DangerouslyDeleteBySrcImage(src, 60))
}
