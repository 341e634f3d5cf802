// Function headers echoes what it was given, as text lines: the method,
// the URL, then each request header as "name: value", sorted by name (one
// line per value, in order), and then each route param it was asked for
// with ?param=NAME as "param NAME: value", and each header it was asked
// for by name with ?header=NAME as "header NAME: value" (one line per
// value, "(absent)" for none). It answers 201 with the header
// "x-test: yes". With ?big=N it adds N values of 1 KiB to the header
// "x-big" instead, stopping at the first error, and answers "added K".
package main

import (
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/wfn-dev/wfn/guests/sdk/go/wfn"
	"github.com/wfn-dev/wfn/guests/sdk/go/wfn/catchall"
)

func init() { catchall.HandleFunc(headers) }

func headers(w *wfn.ResponseWriter, r *wfn.Request) {
	if u, err := url.Parse(r.URL()); err == nil && u.Query().Has("big") {
		addBig(w, u.Query().Get("big"))
		return
	}
	var b strings.Builder
	b.WriteString(r.Method() + "\n")
	b.WriteString(r.URL() + "\n")
	names := r.HeaderNames()
	slices.Sort(names)
	for _, name := range names {
		for _, v := range r.HeaderValues(name) {
			b.WriteString(name + ": " + v + "\n")
		}
	}
	if u, err := url.Parse(r.URL()); err == nil {
		for _, p := range u.Query()["param"] {
			v, ok := r.Param(p)
			if !ok {
				v = "(absent)"
			}
			b.WriteString("param " + p + ": " + v + "\n")
		}
		for _, name := range u.Query()["header"] {
			vs := r.HeaderValues(name)
			if len(vs) == 0 {
				vs = []string{"(absent)"}
			}
			for _, v := range vs {
				b.WriteString("header " + name + ": " + v + "\n")
			}
		}
	}
	w.SetStatus(201)
	w.SetHeader("x-test", "yes")
	w.SetHeader("Content-Type", "text/plain; charset=utf-8")
	w.WriteString(b.String())
}

// addBig adds n values of 1 KiB to x-big, up to the first error.
func addBig(w *wfn.ResponseWriter, n string) {
	want, _ := strconv.Atoi(n)
	added := 0
	var err error
	for ; added < want; added++ {
		if err = w.AddHeader("x-big", strings.Repeat("b", 1024)); err != nil {
			break
		}
	}
	if err != nil {
		fmt.Fprintf(w, "added %d: %v", added, err)
		return
	}
	fmt.Fprintf(w, "added %d", added)
}

func main() {}
