package main

// The handlers of the suite's fluid cases (ABI version 2, served as
// api/fluid/[case].wasm; see the package documentation of
// github.com/wfn-dev/wfn/abi/conformance): hold, held, release, instance
// and trap. They keep their state in the instance's memory, so that what
// held reports is what one instance holds. Built without the tag
// wfn_fluid they compile and are never asked for: the suite skips the
// fluid cases for a version 1 guest.

import (
	"crypto/rand"
	"encoding/hex"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/wfn-dev/wfn/guests/sdk/go/wfn"
)

func init() {
	cases["hold"] = hold
	cases["held"] = held
	cases["release"] = release
	cases["instance"] = instance
	cases["trap"] = trap
}

// instanceID names this instance: random, drawn when the instance starts
// (a version 2 instance never starts from a snapshot).
var instanceID = func() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}()

// holdGroup is the invocations held under one key.
type holdGroup struct {
	deadlines map[string]time.Time // of each held invocation, by its n
	release   chan struct{}        // closed by release
	cancelled []string             // the n of each whose context was cancelled
}

var (
	fluidMu sync.Mutex
	groups  = map[string]*holdGroup{}
)

// group returns the group of key; fluidMu is held.
func group(key string) *holdGroup {
	g := groups[key]
	if g == nil {
		g = &holdGroup{deadlines: map[string]time.Time{}, release: make(chan struct{})}
		groups[key] = g
	}
	return g
}

// hold holds the invocation under the query's "key", as number "n", until
// release is called for the key (body "released\n") or its context is
// cancelled (n is then recorded as cancelled). With "flush" set it first
// writes "held\n" and flushes, so that its head is sent while it is held.
// Header x-wfn-instance: the instance's id.
func hold(w *wfn.ResponseWriter, r *wfn.Request) {
	key, n := query(r, "key"), query(r, "n")
	w.SetHeader("x-wfn-instance", instanceID)
	if query(r, "flush") != "" {
		w.WriteString("held\n")
		w.Flush()
	}
	ctx := r.Context()
	fluidMu.Lock()
	g := group(key)
	g.deadlines[n] = time.Now().Add(r.DeadlineRemaining())
	rel := g.release
	fluidMu.Unlock()
	defer func() {
		fluidMu.Lock()
		delete(g.deadlines, n)
		fluidMu.Unlock()
	}()
	select {
	case <-rel:
		w.WriteString("released\n")
	case <-ctx.Done():
		fluidMu.Lock()
		g.cancelled = append(g.cancelled, n)
		fluidMu.Unlock()
	}
}

// held reports the query's "key": headers x-wfn-instance, x-wfn-held (how
// many invocations are held), x-wfn-cancelled (the n of those cancelled,
// sorted, joined with ",") and x-wfn-remaining-ms (the least time left
// before the deadline of a held one, absent when none is held).
func held(w *wfn.ResponseWriter, r *wfn.Request) {
	fluidMu.Lock()
	defer fluidMu.Unlock()
	g := group(query(r, "key"))
	w.SetHeader("x-wfn-instance", instanceID)
	w.SetHeader("x-wfn-held", strconv.Itoa(len(g.deadlines)))
	cancelled := slices.Sorted(slices.Values(g.cancelled))
	w.SetHeader("x-wfn-cancelled", strings.Join(cancelled, ","))
	if len(g.deadlines) > 0 {
		var least time.Duration = 1<<63 - 1
		for _, d := range g.deadlines {
			least = min(least, time.Until(d))
		}
		w.SetHeader("x-wfn-remaining-ms", strconv.FormatInt(least.Milliseconds(), 10))
	}
}

// release releases the invocations held under the query's "key"; header
// x-wfn-released: how many were held.
func release(w *wfn.ResponseWriter, r *wfn.Request) {
	fluidMu.Lock()
	defer fluidMu.Unlock()
	g := group(query(r, "key"))
	w.SetHeader("x-wfn-released", strconv.Itoa(len(g.deadlines)))
	close(g.release)
	g.release = make(chan struct{})
}

// instance: header x-wfn-instance, the instance's id.
func instance(w *wfn.ResponseWriter, r *wfn.Request) {
	w.SetHeader("x-wfn-instance", instanceID)
}

// trap ends the instance: a panic on a goroutine of its own, which no
// handler recovers, stops the Go runtime (it exits with status 2, which
// the host treats as a trap: abi/SPEC-v2.md section 2). The handler waits
// meanwhile, so that it is in flight when the instance ends.
func trap(w *wfn.ResponseWriter, r *wfn.Request) {
	go func() { panic("wfn-conformance trap") }()
	<-r.Context().Done()
}
