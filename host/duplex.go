package host

import (
	"net/http"
	"strings"
)

// closeUnreadBody closes the body of a request served full duplex
// (http.ResponseController.EnableFullDuplex, so that a response can start
// before the body is read), after sending what the response holds.
// net/http's HTTP/1 server closes a body left unread only after the
// handler returned, and when that close reads the rest of the body to its
// end, the connection's background read it starts is never stopped: the
// server's read of the next request on the connection then panics
// ("invalid concurrent Body.Read call", golang/go#68560), which net/http
// logs to the server's ErrorLog and recovers from by closing the
// connection. Closed here, before the handler returns, net/http stops
// that read itself. The close discards what is left of the body, 256 KiB
// at most (more, and net/http closes the connection), under the read
// deadline the host set; a read still in progress (a version 2 function
// reads on a goroutine of its own) ends first.
//
// A request that expects 100-continue is left to net/http, which closes
// its connection when its body was not read, and so is HTTP/2's, whose
// streams have no such read (and where a close before the end of the
// response would reset the stream).
func closeUnreadBody(w http.ResponseWriter, r *http.Request) {
	if r.ProtoMajor != 1 || strings.EqualFold(r.Header.Get("Expect"), "100-continue") {
		return
	}
	// The response first: the client has it while the rest of the body
	// is read.
	_ = http.NewResponseController(w).Flush()
	_ = r.Body.Close()
}
