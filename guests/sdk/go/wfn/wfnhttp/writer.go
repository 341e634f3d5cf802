package wfnhttp

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"time"

	"github.com/wfn-dev/wfn/abi"
	"github.com/wfn-dev/wfn/guests/sdk/go/wfn"
	"github.com/wfn-dev/wfn/guests/sdk/go/wfn/internal/hostcall"
)

// The errors of reads and writes after their deadline (set with
// http.ResponseController); both wrap os.ErrDeadlineExceeded, as a net/http
// server's do.
var (
	errReadDeadline  = fmt.Errorf("wfnhttp: request body read after the read deadline: %w", os.ErrDeadlineExceeded)
	errWriteDeadline = fmt.Errorf("wfnhttp: response written after the write deadline: %w", os.ErrDeadlineExceeded)
)

// passed reports whether the deadline t is set and has passed.
func passed(t time.Time) bool { return !t.IsZero() && !time.Now().Before(t) }

// body makes the native streaming body an io.ReadCloser that honours the
// read deadline.
type body struct {
	r  io.Reader
	rw *responseWriter
}

func (b *body) Read(p []byte) (int, error) {
	if passed(b.rw.readDeadline) {
		return 0, errReadDeadline
	}
	return b.r.Read(p)
}

func (*body) Close() error { return nil }

// responseWriter implements http.ResponseWriter over the native one, with
// every optional interface of a net/http server's writer but
// http.Hijacker.
type responseWriter struct {
	w      *wfn.ResponseWriter
	ctx    context.Context // the request's
	header http.Header

	wroteHeader bool
	status      int
	sentNames   []string // the header names given to the host
	started     bool     // a write or flush reached the host: the status is fixed there

	// err is the first error of a write or flush: the response is
	// broken, and every later write and flush returns it.
	err error

	readDeadline, writeDeadline time.Time

	notify chan bool     // CloseNotify's; nil until it is called
	gone   chan struct{} // closed when a write finds the client gone; with notify
}

var (
	_ http.ResponseWriter = (*responseWriter)(nil)
	_ http.Flusher        = (*responseWriter)(nil)
	_ http.CloseNotifier  = (*responseWriter)(nil) //nolint:staticcheck // gin's c.Stream asserts it.
	_ io.ReaderFrom       = (*responseWriter)(nil)
	_ io.StringWriter     = (*responseWriter)(nil)
)

func (rw *responseWriter) Header() http.Header { return rw.header }

func (rw *responseWriter) WriteHeader(code int) {
	if rw.wroteHeader {
		return
	}
	if code < 100 || code > 999 {
		panic(fmt.Sprintf("invalid WriteHeader code %v", code))
	}
	if code >= 100 && code <= 199 && code != http.StatusSwitchingProtocols {
		return
	}
	rw.wroteHeader = true
	rw.status = code
	for name, values := range rw.header {
		rw.sentNames = append(rw.sentNames, name)
		for i, v := range values {
			if i == 0 {
				rw.w.SetHeader(name, v)
			} else {
				rw.w.AddHeader(name, v)
			}
		}
	}
	rw.w.SetStatus(code)
}

// start sends the head before the first body bytes, sniffing the
// Content-Type from them as net/http does.
func (rw *responseWriter) start(p []byte, s string) {
	if rw.wroteHeader {
		return
	}
	_, haveType := rw.header["Content-Type"]
	if !haveType && rw.header.Get("Transfer-Encoding") == "" && (len(p) > 0 || len(s) > 0) {
		if p == nil {
			p = []byte(s[:min(len(s), 512)])
		}
		rw.header.Set("Content-Type", http.DetectContentType(p))
	}
	rw.WriteHeader(http.StatusOK)
}

// writable returns the error a write or flush must return now: the
// response's, or the write deadline's.
func (rw *responseWriter) writable() error {
	if rw.err == nil && passed(rw.writeDeadline) {
		rw.broke(errWriteDeadline)
	}
	return rw.err
}

// broke records the first error of a write or flush and returns err.
func (rw *responseWriter) broke(err error) error {
	if err == nil || rw.err != nil {
		return err
	}
	rw.err = err
	if rw.gone != nil && clientGone(err) {
		close(rw.gone)
	}
	return err
}

// clientGone reports whether err says that nobody will read the response:
// the client went away (abi.EIO) or the invocation was aborted.
func clientGone(err error) bool { return errors.Is(err, abi.EIO) || errors.Is(err, abi.ECANCELED) }

func (rw *responseWriter) Write(p []byte) (int, error) {
	if err := rw.writable(); err != nil {
		return 0, err
	}
	rw.start(p, "")
	rw.started = true
	n, err := rw.w.Write(p)
	return n, rw.broke(err)
}

func (rw *responseWriter) WriteString(s string) (int, error) {
	if err := rw.writable(); err != nil {
		return 0, err
	}
	rw.start(nil, s)
	rw.started = true
	n, err := rw.w.WriteString(s)
	return n, rw.broke(err)
}

// copyBuf is the buffer ReadFrom copies through, made at first use and
// kept: under ABI version 1 an instance serves one invocation at a time
// (under version 2, hostcall.Concurrent, each call has its own).
var copyBuf []byte

// ReadFrom lets io.Copy stream through a buffer reused across
// invocations, 32 KiB at a time. As net/http's does, it sniffs the
// Content-Type from the first 512 bytes.
func (rw *responseWriter) ReadFrom(r io.Reader) (int64, error) {
	buf := copyBuf
	if buf == nil || hostcall.Concurrent {
		buf = make([]byte, 32<<10)
		if !hostcall.Concurrent {
			copyBuf = buf
		}
	}
	var sniffed int64
	if !rw.wroteHeader {
		n, err := io.ReadFull(r, buf[:512])
		if n > 0 {
			if _, werr := rw.Write(buf[:n]); werr != nil {
				return 0, werr
			}
			sniffed = int64(n)
		}
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			return sniffed, nil
		}
		if err != nil {
			return sniffed, err
		}
	}
	n, err := io.CopyBuffer(writerOnly{rw}, r, buf)
	return sniffed + n, err
}

// writerOnly hides ReadFrom from io.CopyBuffer.
type writerOnly struct{ io.Writer }

// Flush sends what was written to the client now; see FlushError.
func (rw *responseWriter) Flush() { rw.FlushError() }

// FlushError flushes and reports the error: abi.EIO once the client is
// gone (even when this send seemed to succeed, after a write failed),
// abi.ECANCELED once the invocation is aborted, or the write deadline's.
// http.ResponseController's Flush calls it.
func (rw *responseWriter) FlushError() error {
	if err := rw.writable(); err != nil {
		return err
	}
	if !rw.wroteHeader {
		rw.WriteHeader(http.StatusOK)
	}
	rw.started = true
	return rw.broke(rw.w.Flush())
}

// CloseNotify returns a channel that receives true once when the client
// is known to be gone: the invocation was aborted (the client of a
// function with supportsCancellation went away, or the host is shutting
// down), or a write or flush failed because the client went away. Without
// supportsCancellation the host tells the guest of a disconnect only when
// it writes. http.CloseNotifier is deprecated in favour of the request's
// Context, but frameworks still assert it (gin's c.Stream).
func (rw *responseWriter) CloseNotify() <-chan bool {
	if rw.notify != nil {
		return rw.notify
	}
	rw.notify, rw.gone = make(chan bool, 1), make(chan struct{})
	if rw.err != nil && clientGone(rw.err) {
		close(rw.gone)
	}
	ctx, gone, notify := rw.ctx, rw.gone, rw.notify
	go func() {
		select {
		case <-gone:
		case <-ctx.Done():
			// The invocation also ends this way, when it is over or
			// past its deadline: only an abort means the client left.
			if !errors.Is(context.Cause(ctx), abi.ECANCELED) {
				return
			}
		}
		notify <- true
	}()
	return rw.notify
}

// SetReadDeadline sets when request body reads start failing with an
// error wrapping os.ErrDeadlineExceeded; the zero time means none. The
// time is checked before each read: a read already waiting for the client
// in the host is not interrupted by it (the invocation's deadline, its
// maxDuration, ends every wait). http.ResponseController calls it.
func (rw *responseWriter) SetReadDeadline(t time.Time) error {
	rw.readDeadline = t
	return nil
}

// SetWriteDeadline sets when writes and flushes start failing with an
// error wrapping os.ErrDeadlineExceeded; the zero time means none. The
// time is checked before each write: a write already waiting for the
// client in the host is not interrupted by it. As when a net/http server's
// write deadline passes and its connection is broken, a response whose
// deadline failed a write is not ended cleanly: see the package doc.
// http.ResponseController calls it.
func (rw *responseWriter) SetWriteDeadline(t time.Time) error {
	rw.writeDeadline = t
	return nil
}

// EnableFullDuplex returns nil: the host always lets a guest read the
// request body while it writes the response (abi/SPEC.md, section 4).
// http.ResponseController calls it.
func (rw *responseWriter) EnableFullDuplex() error { return nil }
