package wfn

import (
	"io"

	"github.com/wfn-dev/wfn/abi"
	"github.com/wfn-dev/wfn/guests/sdk/go/wfn/internal/hostcall"
)

// MaxOutbound is the most outbound requests one invocation may have in
// flight (sent and not yet closed); [Fetch] returns abi.ETOOLARGE past
// it.
const MaxOutbound = 16

// MaxOutboundBodies is the most bytes the request bodies of one
// invocation's outbound requests in flight may hold together (64 MiB):
// the host copies each body when it is sent (abi/SPEC.md, section 5b),
// and [Fetch] returns abi.ETOOLARGE for a body past what is left.
const MaxOutboundBodies = 64 << 20

// FetchResponse is an outbound request sent by the host, and its
// response once it comes. Its body streams: read it, then Close it. It is
// valid only during the invocation that sent it; the host closes every
// outbound request when the invocation ends.
type FetchResponse struct {
	handle int32
	eof    bool
	closed bool
}

// Fetch asks the host to send an HTTP request to url, an absolute http or
// https URL, with the header given as name, value pairs (such as
// []string{"Authorization", "Bearer x"}) and the whole body (nil for
// none). The request starts at once; [FetchResponse.Status] waits for the
// response. The host follows up to 10 redirects itself.
//
// The host allows public destinations and denies loopback, private,
// link-local and cloud-metadata addresses and the name localhost, unless
// the function's allowedOutboundHosts config lists its own; a name that
// resolves to a denied address fails at Status. Errors are abi.Errno values:
// abi.EINVAL for a bad method, URL or header (or an odd header list),
// abi.EDENIED when the destination is not allowed, abi.ETOOLARGE past
// [MaxOutbound] requests in flight or [MaxOutboundBodies] bytes of their
// bodies, abi.ECANCELED once the invocation is aborted. The host takes
// the body when Fetch returns: body may be reused at once.
//
// The wfnfetch package puts an http.RoundTripper over this, for
// http.Client.
func Fetch(method, url string, header []string, body []byte) (*FetchResponse, error) {
	if len(header)%2 != 0 {
		return nil, abi.EINVAL
	}
	var h []byte
	if len(header) > 0 {
		n := 0
		for _, s := range header {
			n += len(s) + 1
		}
		h = make([]byte, 0, n)
		for _, s := range header {
			h = append(h, s...)
			h = append(h, 0)
		}
	}
	n := hostcall.HTTPSend(method, url, h, body)
	if n < 0 {
		return nil, result(n)
	}
	if n == 0 {
		return nil, abi.EBADHANDLE // the host promises handles > 0
	}
	return &FetchResponse{handle: n}, nil
}

// Status waits for the response head and returns its status. Errors:
// abi.EDENIED (the name resolved to a denied address, or a redirect led
// to one), abi.EIO (the backend is down, reset the connection, timed out
// or answered badly), abi.ECANCELED (the invocation was aborted),
// abi.EBADHANDLE (closed).
func (f *FetchResponse) Status() (int, error) {
	if f.closed {
		return 0, abi.EBADHANDLE
	}
	n := hostcall.HTTPResponseStatus(f.handle)
	if n < 0 {
		return 0, result(n)
	}
	return int(n), nil
}

// HeaderNames waits for the head and returns the response's header
// names, in lower case; nil when there are none or the request failed.
func (f *FetchResponse) HeaderNames() []string {
	if f.closed {
		return nil
	}
	b, err := fetch(func(buf []byte) int32 { return hostcall.HTTPResponseHeaderNames(f.handle, buf) })
	if err != nil {
		return nil
	}
	return splitList(b)
}

// Header returns the first value of the named response header, matched
// without regard to case; the boolean is false when it is absent.
func (f *FetchResponse) Header(name string) (string, bool) {
	values := f.HeaderValues(name)
	if values == nil {
		return "", false
	}
	return values[0], true
}

// HeaderValues returns every value of the named response header, in
// order, or nil when it is absent.
func (f *FetchResponse) HeaderValues(name string) []string {
	if f.closed {
		return nil
	}
	b, err := fetchNamed(func(name string, buf []byte) int32 {
		return hostcall.HTTPResponseHeader(f.handle, name, buf)
	}, name)
	if err != nil {
		return nil
	}
	return splitList(b)
}

// Read reads the response body as it arrives; it returns io.EOF at the
// end, and an abi.Errno (abi.EIO, abi.ECANCELED, abi.EDENIED) when the
// request or the body failed.
func (f *FetchResponse) Read(p []byte) (int, error) {
	switch {
	case f.closed:
		return 0, abi.EBADHANDLE
	case f.eof:
		return 0, io.EOF
	case len(p) == 0:
		return 0, nil
	}
	n := hostcall.HTTPResponseBodyRead(f.handle, p)
	switch {
	case n > 0:
		return int(n), nil
	case n == 0:
		f.eof = true
		return 0, io.EOF
	default:
		return 0, result(n)
	}
}

// Close releases the request; the host closes the connection if the body
// was not read to its end. Closing twice does nothing.
func (f *FetchResponse) Close() error {
	if f.closed {
		return nil
	}
	f.closed = true
	return result(hostcall.HTTPClose(f.handle))
}
