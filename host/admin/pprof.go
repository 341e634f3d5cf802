package admin

import (
	"fmt"
	"net/http"
	"runtime/pprof"
	"strconv"
	"time"
)

// maxProfile bounds the seconds of a CPU profile.
const maxProfile = 5 * time.Minute

// serveCPUProfile answers GET /_wfn/debug/pprof/profile?seconds=N (30 by
// default): the process's CPU profile over the next N seconds, in pprof's
// format, as net/http/pprof's Profile answers it (`go tool pprof URL`).
// That package is not imported: it would register its handlers on
// http.DefaultServeMux, unguarded, for any embedder serving that mux.
func serveCPUProfile(w http.ResponseWriter, r *http.Request) {
	secs := 30
	if s := r.URL.Query().Get("seconds"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n <= 0 || time.Duration(n)*time.Second > maxProfile {
			http.Error(w, fmt.Sprintf("400 bad request: seconds %q: want 1 to %d", s, int(maxProfile.Seconds())), http.StatusBadRequest)
			return
		}
		secs = n
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Content-Disposition", `attachment; filename="profile"`)
	if err := pprof.StartCPUProfile(w); err != nil {
		w.Header().Del("Content-Disposition")
		http.Error(w, "409 conflict: "+err.Error(), http.StatusConflict)
		return
	}
	select {
	case <-time.After(time.Duration(secs) * time.Second):
	case <-r.Context().Done():
	}
	pprof.StopCPUProfile()
}

// serveProfile answers GET /_wfn/debug/pprof/{name}: one of the runtime's
// profiles (allocs, heap, goroutine, mutex, block, threadcreate), in
// pprof's format; ?debug=1 or 2 gives text, as runtime/pprof writes it.
func serveProfile(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	p := pprof.Lookup(name)
	if p == nil {
		http.Error(w, "404 page not found: no profile "+strconv.Quote(name), http.StatusNotFound)
		return
	}
	debug, _ := strconv.Atoi(r.URL.Query().Get("debug"))
	if debug > 0 {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	} else {
		w.Header().Set("Content-Type", "application/octet-stream")
		w.Header().Set("Content-Disposition", `attachment; filename="`+name+`"`)
	}
	_ = p.WriteTo(w, debug)
}
