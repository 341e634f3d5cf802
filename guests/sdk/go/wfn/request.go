package wfn

import (
	"bytes"
	"io"

	"github.com/wfn-dev/wfn/guests/sdk/go/wfn/internal/hostcall"
)

// Request is the request of the current invocation. Its methods ask the
// host the first time a part is needed. It is valid only while the
// handler that received it runs.
type Request struct {
	method string
	url    string
	body   body

	ip      string
	ipState lookup
}

// lookup is the state of a value asked of the host once per invocation.
type lookup uint8

const (
	notAsked lookup = iota
	found
	absent
)

// Method returns the request method, such as "GET".
func (r *Request) Method() string {
	if r.method == "" {
		b, err := fetch(hostcall.RequestMethod)
		if err != nil {
			return ""
		}
		r.method = internMethod(b)
	}
	return r.method
}

// URL returns the absolute URL of the request as the client used it,
// with scheme, host and query, such as "https://example.com/api/x?a=1".
func (r *Request) URL() string {
	if r.url == "" {
		b, err := fetch(hostcall.RequestURL)
		if err != nil {
			return ""
		}
		r.url = string(b)
	}
	return r.url
}

// Header returns the first value of the named request header; the name
// is matched case-insensitively. The boolean is false when the header is
// absent.
func (r *Request) Header(name string) (string, bool) {
	b, err := fetchNamed(hostcall.RequestHeader, name)
	if err != nil {
		return "", false
	}
	if i := bytes.IndexByte(b, 0); i >= 0 {
		b = b[:i]
	}
	return string(b), true
}

// HeaderValues returns every value of the named request header, in the
// order the client sent them, or nil when it is absent.
func (r *Request) HeaderValues(name string) []string {
	b, err := fetchNamed(hostcall.RequestHeader, name)
	if err != nil {
		return nil
	}
	return splitList(b)
}

// HeaderNames returns the names of the request headers, in lower case.
func (r *Request) HeaderNames() []string {
	b, err := fetch(hostcall.RequestHeaderNames)
	if err != nil {
		return nil
	}
	return splitList(b)
}

// Param returns a dynamic route segment: a function at api/greet/[name]
// serving /api/greet/ada has the param "name" with value "ada". The
// boolean is false when there is no such param.
func (r *Request) Param(name string) (string, bool) {
	b, err := fetchNamed(hostcall.RequestParam, name)
	if err != nil {
		return "", false
	}
	return string(b), true
}

// Body returns the request body. Reads stream from the host as the
// client sends; they return io.EOF at the end, and an [abi.Errno] such as
// abi.ECANCELED or abi.EIO when the host cannot deliver the rest.
func (r *Request) Body() io.Reader { return &r.body }

// body streams the request body through request_body_read.
type body struct {
	eof bool
}

func (b *body) Read(p []byte) (int, error) {
	if b.eof {
		return 0, io.EOF
	}
	if len(p) == 0 {
		return 0, nil
	}
	n := hostcall.RequestBodyRead(p)
	switch {
	case n > 0:
		return int(n), nil
	case n == 0:
		b.eof = true
		return 0, io.EOF
	default:
		return 0, result(n)
	}
}

// scratch receives values from the host. It is reused by every call and
// grows to the longest value seen, so fetched bytes are valid only until
// the next fetch. Under ABI version 2, where invocations run at once, each
// fetch has a buffer of its own.
var scratch = make([]byte, 256)

// scratchBuf is the buffer a fetch starts with.
func scratchBuf() []byte {
	if hostcall.Concurrent {
		return make([]byte, 256)
	}
	return scratch
}

// keep makes buf the scratch buffer of the next fetches (ABI version 1).
func keep(buf []byte) []byte {
	if !hostcall.Concurrent {
		scratch = buf
	}
	return buf
}

// fetch runs the buffer protocol: call, and when the value is longer than
// the buffer, grow it and call again.
func fetch(call func(buf []byte) int32) ([]byte, error) {
	buf := scratchBuf()
	for {
		n := call(buf)
		if n < 0 {
			return nil, result(n)
		}
		if int(n) <= len(buf) {
			return buf[:n], nil
		}
		buf = keep(make([]byte, n))
	}
}

// fetchNamed is fetch for imports that take a name.
func fetchNamed(call func(name string, buf []byte) int32, name string) ([]byte, error) {
	buf := scratchBuf()
	for {
		n := call(name, buf)
		if n < 0 {
			return nil, result(n)
		}
		if int(n) <= len(buf) {
			return buf[:n], nil
		}
		buf = keep(make([]byte, n))
	}
}

// splitList splits a list of NUL-terminated items.
func splitList(b []byte) []string {
	if len(b) == 0 {
		return nil
	}
	list := make([]string, 0, bytes.Count(b, []byte{0})+1)
	for len(b) > 0 {
		i := bytes.IndexByte(b, 0)
		if i < 0 {
			list = append(list, string(b))
			break
		}
		list = append(list, string(b[:i]))
		b = b[i+1:]
	}
	return list
}

// internMethod returns the common methods without allocating.
func internMethod(b []byte) string {
	switch string(b) {
	case "GET":
		return "GET"
	case "HEAD":
		return "HEAD"
	case "POST":
		return "POST"
	case "PUT":
		return "PUT"
	case "PATCH":
		return "PATCH"
	case "DELETE":
		return "DELETE"
	case "OPTIONS":
		return "OPTIONS"
	}
	return string(b)
}
