package wfnhttp

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"

	"github.com/wfn-dev/wfn/guests/sdk/go/wfn/internal/hostcall"
)

// The guest's log streams: the host makes each line written to stdout a
// log line at info level, and each line written to stderr one at warn
// level, with the function and the request id (abi/SPEC.md, section 7).
var stdout, stderr io.Writer = os.Stdout, os.Stderr

// maxLogLine is the longest line the host logs whole: it cuts lines at 16
// KiB (abi/SPEC.md, section 7).
const maxLogLine = 16 << 10

// escaper keeps a multi-line message on one log line.
var escaper = strings.NewReplacer(`\`, `\\`, "\n", `\n`, "\r", `\r`, "\t", `\t`)

// logLine writes msg to w as one line of at most maxLogLine bytes, its
// line breaks and tabs escaped as \n and \t, in one write.
func logLine(w io.Writer, msg string) {
	const cut = "...(cut)"
	line := escaper.Replace(msg)
	if len(line) >= maxLogLine {
		line = strings.ToValidUTF8(line[:maxLogLine-1-len(cut)], "") + cut
	}
	io.WriteString(w, line+"\n")
}

// recovered handles a panic of the handler, as a net/http server does:
// the panic is logged, and the instance serves on. A panic with
// http.ErrAbortHandler is a quiet abort: one line at info level, no stack.
// Any other is logged with its stack, in one log line at warn level.
func (rw *responseWriter) recovered(r *http.Request, v any, stack []byte) {
	if err, ok := v.(error); ok && errors.Is(err, http.ErrAbortHandler) {
		logLine(stdout, fmt.Sprintf("wfnhttp: handler aborted serving %s %s: %v", r.Method, r.RequestURI, err))
	} else {
		logLine(stderr, fmt.Sprintf("wfnhttp: panic serving %s %s: %v\n%s", r.Method, r.RequestURI, v, stack))
	}
	rw.fail()
}

// fail ends a response that the handler could not complete. Nobody is
// told when the client is gone. When nothing reached the host but the
// status and headers, the client gets 500 Internal Server Error, as
// http.Error writes it. Otherwise the response must be cut, so that the
// client sees an incomplete response rather than a clean end, as a
// net/http server does by closing the connection; the ABI cuts a response
// only when its instance ends, so the adapter ends the instance with
// proc_exit(2): the host answers 500 FUNCTION_INVOCATION_FAILED if it had
// not sent the head (the response was buffered), else it cuts the
// connection, and it starts a new instance for the next request.
func (rw *responseWriter) fail() {
	switch {
	case rw.err != nil && clientGone(rw.err):
	case !rw.started:
		for _, name := range rw.sentNames {
			rw.w.DelHeader(name)
		}
		rw.w.SetHeader("Content-Type", "text/plain; charset=utf-8")
		rw.w.SetHeader("X-Content-Type-Options", "nosniff")
		rw.w.SetStatus(http.StatusInternalServerError)
		rw.w.WriteString(http.StatusText(http.StatusInternalServerError) + "\n")
	default:
		hostcall.ProcExit(2)
	}
}

// finish completes the response when the handler returned: a response
// broken by its write deadline fails, as a net/http connection past its
// write deadline is broken; else the head is sent if it was not.
func (rw *responseWriter) finish() {
	if errors.Is(rw.err, os.ErrDeadlineExceeded) {
		logLine(stdout, "wfnhttp: the handler returned after its write deadline failed a write: the response is not complete")
		rw.fail()
		return
	}
	if !rw.wroteHeader {
		rw.WriteHeader(http.StatusOK)
	}
}
