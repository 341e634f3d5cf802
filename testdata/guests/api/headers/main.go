// Function headers echoes what it was given, as text lines: the method,
// the URL, then each request header as "name: value", sorted by name (one
// line per value, in order), and then each route param it was asked for
// with ?param=NAME as "param NAME: value". It answers 201 with the
// header "x-test: yes".
package main

import (
	"net/url"
	"slices"
	"strings"

	"github.com/wfn-dev/wfn/guests/sdk/go/wfn"
	"github.com/wfn-dev/wfn/guests/sdk/go/wfn/catchall"
)

func init() { catchall.HandleFunc(headers) }

func headers(w *wfn.ResponseWriter, r *wfn.Request) {
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
	}
	w.SetStatus(201)
	w.SetHeader("x-test", "yes")
	w.SetHeader("Content-Type", "text/plain; charset=utf-8")
	w.WriteString(b.String())
}

func main() {}
