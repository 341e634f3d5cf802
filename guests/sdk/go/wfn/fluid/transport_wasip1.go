//go:build wasip1

package fluid

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"unsafe"
)

type invKey struct{}

// Transport sends outbound HTTP requests through the host (http_send), as
// the invocation whose context the request carries: use
// req.WithContext(r.Context()) with r the handler's request. A request
// that waits for its response parks only its goroutine; the other
// invocations run meanwhile.
var Transport http.RoundTripper = transport{}

type transport struct{}

var errNoInvocation = errors.New("wfn: outbound request without an invocation's context: use req.WithContext(r.Context())")

func (transport) RoundTrip(req *http.Request) (*http.Response, error) {
	inv, _ := req.Context().Value(invKey{}).(*invocation)
	if inv == nil {
		return nil, errNoInvocation
	}
	var body []byte
	if req.Body != nil {
		var err error
		body, err = io.ReadAll(req.Body)
		req.Body.Close()
		if err != nil {
			return nil, err
		}
	}
	var hdr bytes.Buffer
	for k, vs := range req.Header {
		for _, v := range vs {
			hdr.WriteString(k)
			hdr.WriteByte(0)
			hdr.WriteString(v)
			hdr.WriteByte(0)
		}
	}
	method, url, headers := []byte(req.Method), []byte(req.URL.String()), hdr.Bytes()
	h := httpSend(inv.id, unsafe.Pointer(unsafe.SliceData(method)), uint32(len(method)), unsafe.Pointer(unsafe.SliceData(url)), uint32(len(url)),
		unsafe.Pointer(unsafe.SliceData(headers)), uint32(len(headers)), unsafe.Pointer(unsafe.SliceData(body)), uint32(len(body)))
	if h < 0 {
		return nil, fmt.Errorf("wfn: http_send: %d", h)
	}
	status, err := inv.waitCtx(req.Context(), h, func() int32 { return httpResponseStatus(inv.id, h) })
	if err == nil && status < 0 {
		err = fmt.Errorf("wfn: http_response_status: %d", status)
	}
	if err != nil {
		httpClose(inv.id, h)
		return nil, err
	}
	resp := &http.Response{StatusCode: int(status), Status: fmt.Sprintf("%d %s", status, http.StatusText(int(status))),
		Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1, Header: http.Header{}, Request: req, ContentLength: -1}
	names, _ := get(func(b unsafe.Pointer, c uint32) int32 { return httpResponseHeaderNames(inv.id, h, b, c) })
	for name := range strings.SplitSeq(strings.TrimSuffix(names, "\x00"), "\x00") {
		if name == "" {
			continue
		}
		nb := []byte(name)
		values, n := get(func(b unsafe.Pointer, c uint32) int32 {
			return httpResponseHeader(inv.id, h, unsafe.Pointer(unsafe.SliceData(nb)), uint32(len(nb)), b, c)
		})
		if n < 0 {
			continue
		}
		for v := range strings.SplitSeq(strings.TrimSuffix(values, "\x00"), "\x00") {
			resp.Header.Add(name, v)
		}
	}
	resp.Body = &responseBody{inv: inv, h: h, ctx: req.Context()}
	return resp, nil
}

// waitCtx is call, also ended by ctx.
func (inv *invocation) waitCtx(ctx context.Context, h int32, f func() int32) (int32, error) {
	for {
		n := f()
		if n != eagain {
			return n, nil
		}
		select {
		case <-inv.channel(h):
		case <-inv.ctx.Done():
			return 0, inv.ctx.Err()
		case <-ctx.Done():
			return 0, ctx.Err()
		}
	}
}

// responseBody reads an outbound response's body.
type responseBody struct {
	inv    *invocation
	h      int32
	ctx    context.Context
	closed bool
}

func (b *responseBody) Read(p []byte) (int, error) {
	if b.closed {
		return 0, errors.New("wfn: read of a closed body")
	}
	if len(p) == 0 {
		return 0, nil
	}
	n, err := b.inv.waitCtx(b.ctx, b.h, func() int32 {
		return httpResponseBodyRead(b.inv.id, b.h, unsafe.Pointer(unsafe.SliceData(p)), uint32(len(p)))
	})
	switch {
	case err != nil:
		return 0, err
	case n > 0:
		return int(n), nil
	case n == 0:
		return 0, io.EOF
	default:
		return 0, fmt.Errorf("wfn: http_response_body_read: %d", n)
	}
}

func (b *responseBody) Close() error {
	if !b.closed {
		b.closed = true
		httpClose(b.inv.id, b.h)
	}
	return nil
}
