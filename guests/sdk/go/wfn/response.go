package wfn

import (
	"io"

	"github.com/wfn-dev/wfn/abi"
	"github.com/wfn-dev/wfn/guests/sdk/go/wfn/internal/hostcall"
)

// ResponseWriter writes the response of the current invocation. Status
// and headers may change until the head is sent, which happens at the
// first Write, Flush or Close; after that those calls return
// [abi.ECLOSED]. It is valid only while the handler that received it
// runs.
type ResponseWriter struct {
	// broken is abi.EIO once a write failed with it: the client went
	// away, and Flush reports it too.
	broken error
}

// wrote records a write's error: after abi.EIO the response is broken.
func (w *ResponseWriter) wrote(err error) error {
	if err == abi.EIO {
		w.broken = err
	}
	return err
}

// SetStatus sets the status code, 200 unless set. It returns abi.EINVAL
// for a code outside 100..999 and abi.ECLOSED once the head is sent.
func (w *ResponseWriter) SetStatus(code int) error {
	if code < 100 || code > 999 {
		return abi.EINVAL
	}
	return result(hostcall.ResponseSetStatus(int32(code)))
}

// SetHeader replaces the values of the named response header with value.
// It returns abi.EINVAL for a malformed name or a value with CR, LF or
// NUL, abi.ECLOSED once the head is sent, and abi.ETOOLARGE when the
// response's header fields would pass 32 KiB (abi.MaxResponseHeader):
// the response then fails with a 500.
func (w *ResponseWriter) SetHeader(name, value string) error {
	return result(hostcall.ResponseHeaderSet(name, value))
}

// AddHeader appends value to the named response header. Errors as for
// SetHeader.
func (w *ResponseWriter) AddHeader(name, value string) error {
	return result(hostcall.ResponseHeaderAdd(name, value))
}

// DelHeader removes the named response header. Errors as for SetHeader.
func (w *ResponseWriter) DelHeader(name string) error {
	return result(hostcall.ResponseHeaderDelete(name))
}

// Write writes body bytes; the first call fixes the status and headers.
// The host holds the bytes until the first Flush, up to 4.5 MB. It returns
// abi.ECLOSED after Close, abi.ETOOLARGE past the buffered limit, abi.EIO
// when the client is gone and abi.ECANCELED when the invocation was
// aborted.
func (w *ResponseWriter) Write(p []byte) (int, error) {
	n := hostcall.ResponseBodyWrite(p)
	if n < 0 {
		return 0, w.wrote(result(n))
	}
	if int(n) < len(p) {
		return int(n), io.ErrShortWrite
	}
	return int(n), nil
}

// WriteString is Write for a string, without copying it.
func (w *ResponseWriter) WriteString(s string) (int, error) {
	n := hostcall.ResponseBodyWriteString(s)
	if n < 0 {
		return 0, w.wrote(result(n))
	}
	if int(n) < len(s) {
		return int(n), io.ErrShortWrite
	}
	return int(n), nil
}

// copyBuf is the buffer ReadFrom copies through, made at first use and
// kept for later invocations (ABI version 1; under version 2 each call
// has its own).
var copyBuf []byte

// ReadFrom copies r to the response until io.EOF, in chunks of 32 KiB,
// through a buffer reused across invocations. io.Copy uses it, so
// io.Copy(w, r.Body()) streams a body without allocating.
func (w *ResponseWriter) ReadFrom(r io.Reader) (int64, error) {
	buf := copyBuf
	if buf == nil || hostcall.Concurrent {
		buf = make([]byte, 32<<10)
		if !hostcall.Concurrent {
			copyBuf = buf
		}
	}
	var total int64
	for {
		n, err := r.Read(buf)
		if n > 0 {
			m, werr := w.Write(buf[:n])
			total += int64(m)
			if werr != nil {
				return total, werr
			}
		}
		if err == io.EOF {
			return total, nil
		}
		if err != nil {
			return total, err
		}
	}
}

// Flush sends the bytes written so far to the client now, sending the
// head first if it has not been sent. From the first Flush on the
// response streams, with no size limit. It returns abi.EINVAL when the
// status cannot end a response (outside 200..599, such as a 1xx: the
// client gets 502 when the handler returns), abi.ECANCELED when the
// invocation was aborted, and abi.EIO when the client is gone: once a
// write has failed with abi.EIO, every Flush does, even when the host's
// last send to the dead connection seemed to succeed.
func (w *ResponseWriter) Flush() error {
	if w.broken != nil {
		return w.broken
	}
	return w.wrote(result(hostcall.ResponseFlush()))
}

// Close ends the response; the client gets it complete at once. The
// handler may go on running as work after the response (see also
// WaitUntil). It returns abi.ECLOSED when the response is already closed,
// and abi.EINVAL, leaving it open, when its status cannot end a response
// (as Flush).
func (w *ResponseWriter) Close() error { return result(hostcall.ResponseClose()) }

var (
	_ io.Writer       = (*ResponseWriter)(nil)
	_ io.StringWriter = (*ResponseWriter)(nil)
	_ io.ReaderFrom   = (*ResponseWriter)(nil)
)
