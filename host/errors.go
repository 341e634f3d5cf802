package host

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/wfn-dev/wfn/host/internal/project"
	"github.com/wfn-dev/wfn/host/internal/vroute"
)

var (
	// ErrDir is returned by New when the served directory (Config.Dir)
	// is not set, does not exist or cannot be read.
	ErrDir = errors.New("wfn: cannot serve directory")
	// ErrConfig is returned by New when a Config field, vercel.json,
	// wfn.json or .env is invalid, and by Reload for the files; the
	// message names the field, or the file, the key and the property.
	ErrConfig = errors.New("wfn: invalid configuration")
	// ErrClosed is returned by Close when the host is already closed,
	// and by Reload after Close.
	ErrClosed = errors.New("wfn: host closed")
)

// Error codes sent in the x-wfn-error header and in error bodies, as
// Vercel names them.
const (
	CodeNotFound          = "NOT_FOUND"
	CodeInvocationFailed  = "FUNCTION_INVOCATION_FAILED"
	CodeInvocationTimeout = "FUNCTION_INVOCATION_TIMEOUT"
	CodeThrottled         = "FUNCTION_THROTTLED"
	CodeMethodNotAllowed  = "INVALID_REQUEST_METHOD"

	CodePayloadTooLarge         = "FUNCTION_PAYLOAD_TOO_LARGE"
	CodeResponsePayloadTooLarge = "FUNCTION_RESPONSE_PAYLOAD_TOO_LARGE"
	CodeNoResponse              = "NO_RESPONSE_FROM_FUNCTION"
	CodeHeaderTooLarge          = "REQUEST_HEADER_TOO_LARGE"
	CodeURLTooLong              = "URL_TOO_LONG"

	// Of the operators' endpoint /_wfn/cache/purge; BAD_REQUEST also
	// answers a request body the function could not read because it is
	// malformed (chunked encoding) or ends before its Content-Length.
	CodeForbidden        = "FORBIDDEN"
	CodeUnauthorized     = "UNAUTHORIZED"
	CodeBadRequest       = "BAD_REQUEST"
	CodeCacheUnavailable = "CACHE_UNAVAILABLE"
)

// responseHeaderTooLarge is the message of a response whose header fields
// passed abi.MaxResponseHeader.
const responseHeaderTooLarge = "The response's header fields are larger than the limit of 32 KiB."

// Response headers the host sets.
const (
	// HeaderError carries the error code of a platform error response.
	HeaderError = "X-Wfn-Error"
	// HeaderRequestID carries the request id on every response.
	HeaderRequestID = "X-Vercel-Id"
)

// writeError answers with a platform error: the status, x-wfn-error: code,
// the request id, and a body in JSON for clients that accept it, text
// otherwise. Headers a guest set before failing are dropped; extra holds
// header name and value pairs to send.
func writeError(w http.ResponseWriter, r *http.Request, status int, code, id, msg string, extra ...string) {
	writeErrorOutput(w, r, status, code, id, msg, "", extra...)
}

// writeErrorOutput is writeError with output, such as a compiler's
// messages, after the message: the "output" member in JSON, else the
// body's last lines. output is sent whole; msg is cut at 512 bytes.
func writeErrorOutput(w http.ResponseWriter, r *http.Request, status int, code, id, msg, output string, extra ...string) {
	h := w.Header()
	for k := range h {
		delete(h, k)
	}
	h.Set(HeaderRequestID, id)
	h.Set(HeaderError, code)
	h.Set("Cache-Control", "private, no-cache, no-store, max-age=0, must-revalidate")
	for i := 0; i+1 < len(extra); i += 2 {
		h.Set(extra[i], extra[i+1])
	}
	if len(msg) > 512 {
		msg = msg[:512]
	}
	var body []byte
	if acceptsJSON(r) {
		h.Set("Content-Type", "application/json; charset=utf-8")
		type detail struct {
			Code    string `json:"code"`
			Status  int    `json:"status"`
			Message string `json:"message"`
			ID      string `json:"id"`
			Output  string `json:"output,omitempty"`
		}
		body, _ = json.Marshal(struct {
			Error detail `json:"error"`
		}{detail{code, status, msg, id, output}})
		body = append(body, '\n')
	} else {
		h.Set("Content-Type", "text/plain; charset=utf-8")
		title := strings.ToUpper(strings.ReplaceAll(http.StatusText(status), " ", "_"))
		text := fmt.Sprintf("%d: %s\nCode: %s\nID: %s\n", status, title, code, id)
		if msg != "" {
			text += "\n" + msg + "\n"
		}
		if output != "" {
			text += "\n" + strings.TrimRight(output, "\n") + "\n"
		}
		body = []byte(text)
	}
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	_, _ = w.Write(body)
}
func acceptsJSON(r *http.Request) bool {
	for _, v := range r.Header.Values("Accept") {
		if strings.Contains(v, "application/json") || strings.Contains(v, "+json") {
			return true
		}
	}
	return false
}

// configError is an error of the project's configuration (package project's
// or vroute's) as New and Reload return it: an ErrConfig whose message says
// "wfn: invalid configuration" once, then the file, key and property.
type configError struct {
	detail string
	err    error
}

func (e *configError) Error() string   { return ErrConfig.Error() + ": " + e.detail }
func (e *configError) Unwrap() []error { return []error{ErrConfig, e.err} }

// invalidConfig wraps err, from project or vroute, as an ErrConfig, with
// the inner package's own "wfn: invalid ..." prefix dropped from its
// message. vroute's errors are vercel.json's routing keys': the message
// names the file.
func invalidConfig(err error) error {
	detail := err.Error()
	if rest, ok := strings.CutPrefix(detail, project.ErrInvalid.Error()+": "); ok {
		detail = rest
	} else if rest, ok := strings.CutPrefix(detail, vroute.ErrInvalid.Error()+": "); ok {
		detail = "vercel.json: " + rest
	}
	return &configError{detail: detail, err: err}
}
