package admin

import (
	"encoding/json"
	"net/http"
	"time"
)

// statsEvery is how often an open page gets the functions' numbers
// (p50, p99, instances) while requests come in.
const statsEvery = time.Second

// serveEvents streams server-sent events (the HTML standard, section
// 9.2) to a dashboard page: "invocation" for each request as its
// response ends, "log" for each log record, and "functions" with the
// functions' numbers, at most every statsEvery while they change.
func (s *Server) serveEvents(w http.ResponseWriter, r *http.Request) {
	rc := http.NewResponseController(w)
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	if err := rc.Flush(); err != nil {
		return
	}
	if s.mon == nil {
		select {
		case <-r.Context().Done():
		case <-s.ending:
		}
		return
	}
	ch := s.mon.subscribe()
	defer s.mon.unsubscribe(ch)
	tick := time.NewTicker(statsEvery)
	defer tick.Stop()
	changed := false
	for {
		var e event
		select {
		case <-r.Context().Done():
			return
		case <-s.ending:
			return
		case e = <-ch:
			changed = changed || e.name == "invocation"
		case <-tick.C:
			if !changed {
				continue
			}
			changed = false
			data, _ := json.Marshal(s.functions())
			e = event{"functions", data}
		}
		if _, err := w.Write([]byte("event: " + e.name + "\ndata: ")); err != nil {
			return
		}
		_, _ = w.Write(e.data)
		_, _ = w.Write([]byte("\n\n"))
		if err := rc.Flush(); err != nil {
			return
		}
	}
}

// EndStreams ends the open event streams, so that a server shutting down
// does not wait for the dashboard's pages: give it to
// http.Server.RegisterOnShutdown. It may be called more than once.
func (s *Server) EndStreams() {
	s.endOnce.Do(func() { close(s.ending) })
}
