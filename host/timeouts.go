package host

import (
	"net/http"
	"time"
)

// serverTimeouts is the response writer of a request served by an
// http.Server with a ReadTimeout or a WriteTimeout (an embedder's): the
// read and write deadlines the host sets (a function's maxDuration, the
// wait for an unread body, the grace of an error page) are held to the
// server's, which they would otherwise replace, since a connection has
// one deadline each way (net.Conn.SetDeadline) and the last one set wins.
// The server's count from when the handler began, a little after
// net/http's own (from the request's first byte for ReadTimeout, from
// the end of its head for WriteTimeout; http.Server's docs).
type serverTimeouts struct {
	http.ResponseWriter
	readBy, writeBy time.Time // zero: the server has no such timeout
}

// boundByServer returns w, or w bound by the timeouts of the http.Server
// that r came through, counted from start.
func boundByServer(w http.ResponseWriter, r *http.Request, start time.Time) http.ResponseWriter {
	srv, _ := r.Context().Value(http.ServerContextKey).(*http.Server)
	if srv == nil || srv.ReadTimeout <= 0 && srv.WriteTimeout <= 0 {
		return w
	}
	st := &serverTimeouts{ResponseWriter: w}
	if srv.ReadTimeout > 0 {
		st.readBy = start.Add(srv.ReadTimeout)
	}
	if srv.WriteTimeout > 0 {
		st.writeBy = start.Add(srv.WriteTimeout)
	}
	return st
}

func earlier(t, bound time.Time) time.Time {
	if !bound.IsZero() && (t.IsZero() || bound.Before(t)) {
		return bound
	}
	return t
}

// SetReadDeadline sets the read deadline to t or the server's, whichever
// comes first (a zero t, no deadline, becomes the server's).
func (st *serverTimeouts) SetReadDeadline(t time.Time) error {
	return http.NewResponseController(st.ResponseWriter).SetReadDeadline(earlier(t, st.readBy))
}

// SetWriteDeadline is SetReadDeadline's counterpart for writes.
func (st *serverTimeouts) SetWriteDeadline(t time.Time) error {
	return http.NewResponseController(st.ResponseWriter).SetWriteDeadline(earlier(t, st.writeBy))
}

// Unwrap returns the writer st wraps, for http.ResponseController.
func (st *serverTimeouts) Unwrap() http.ResponseWriter { return st.ResponseWriter }
