package fluid

import (
	"errors"
	"io"
	"net/http"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/wfn-dev/wfn/abi"
	"github.com/wfn-dev/wfn/host/internal/hostcall"
)

// Invocation is the host side of one request to a version 2 instance.
// Its request is read through a hostcall.Invocation (the same meaning as
// version 1); its response goes through a buffer that the request's own
// serving goroutine sends to the client, so that no import waits for a
// slow client.
type Invocation struct {
	id   uint32
	l    *Loop
	pool *Pool
	req  hostcall.Invocation // the request side, as version 1 reads it
	r    *http.Request

	// Guest side: touched only by imports, on the guest's goroutine.
	status  int
	header  http.Header
	locked  bool // status and headers fixed
	written int64

	mu         sync.Mutex
	notify     chan struct{} // a token when there is something to send
	out        []byte        // body bytes not yet handed to the client
	headReady  bool          // the head can be sent (first flush or completion)
	streaming  bool          // flushed once: the body goes as it comes
	complete   bool          // the response is complete
	wantWrite  bool          // a write got EAGAIN: post EventReady when drained
	tooLarge   bool          // the buffered body passed its limit
	headerSize int           // the guest's header fields (hostcall's count), under mu
	headerBig  bool          // they passed abi.MaxResponseHeader; under mu
	badStatus  bool          // a final status outside 200..599
	clientGone bool          // the serving goroutine left (deadline, abort, failure)
	guestAbort bool          // the guest failed the response (response_abort)
	shutDown   bool          // aborted by the shutdown before the response was complete

	aborted atomic.Bool
	ended   atomic.Bool

	body *bodyReader
	// bodyFailed is the Failure (RequestTooLarge, BadRequestBody) of a
	// request body the client sent wrong, or 0 (bodyFailure).
	bodyFailed atomic.Int32

	hooks Request // OnAbort and OnEnd
	// fresh: its instance was made for it (Pool.place, on Serve's
	// goroutine, before Serve reads it).
	fresh    bool
	over     chan struct{} // closed when the invocation ends
	overOnce sync.Once
	watching map[int32]bool      // handles an EventReady is awaited for; under mu
	cacheOps map[string]*cacheOp // cache calls started, by import and arguments; under mu

	tcpWatching map[[2]int32]bool // TCP handles and directions an EventReady is awaited for; under mu
	// deadlineTimer aborts it at its deadline once its response is
	// over and it runs on (Pool.expireAfterResponse); under mu.
	deadlineTimer *time.Timer
}

func newInvocation() *Invocation {
	return &Invocation{status: http.StatusOK, header: http.Header{}, notify: make(chan struct{}, 1), over: make(chan struct{}), watching: map[int32]bool{}}
}

func (inv *Invocation) signal() {
	select {
	case inv.notify <- struct{}{}:
	default:
	}
}

// usable is the error of a response import once the response or the
// invocation is over, or 0.
func (inv *Invocation) usable() abi.Errno {
	switch {
	case inv.aborted.Load():
		return abi.ECANCELED
	}
	inv.mu.Lock()
	defer inv.mu.Unlock()
	if inv.complete || inv.clientGone || inv.guestAbort {
		return abi.ECLOSED
	}
	return 0
}

func (inv *Invocation) setStatus(code int32) abi.Errno {
	if e := inv.usable(); e != 0 {
		return e
	}
	if inv.locked {
		return abi.ECLOSED
	}
	if code < 100 || code > 999 {
		return abi.EINVAL
	}
	inv.status = int(code)
	return 0
}

func (inv *Invocation) setHeader(op hostcall.HeaderOp, name, value []byte) abi.Errno {
	if e := inv.usable(); e != 0 {
		return e
	}
	if inv.locked {
		return abi.ECLOSED
	}
	if !abi.ValidHeaderName(name) || (op != hostcall.HeaderDelete && !abi.ValidHeaderValue(value)) {
		return abi.EINVAL
	}
	key := http.CanonicalHeaderKey(string(name))
	inv.mu.Lock()
	size := inv.headerSize
	if op != hostcall.HeaderAdd {
		size = max(0, size-hostcall.HeaderSize(key, inv.header[key]))
	}
	if op != hostcall.HeaderDelete {
		size += len(key) + len(value)
	}
	if size > abi.MaxResponseHeader {
		// Refused before it is copied (SPEC-v2 section 5): the
		// response fails with a 500 when its head would be sent.
		inv.headerBig = true
		inv.mu.Unlock()
		return abi.ETOOLARGE
	}
	inv.headerSize = size
	inv.mu.Unlock()
	switch op {
	case hostcall.HeaderSet:
		inv.header[key] = []string{string(value)}
	case hostcall.HeaderAdd:
		inv.header[key] = append(inv.header[key], string(value))
	case hostcall.HeaderDelete:
		delete(inv.header, key)
	}
	return 0
}

// write takes body bytes: all of p until the first flush (up to
// abi.MaxBufferedResponse), then as much as fits under
// abi.MaxPendingWrite, or EAGAIN when nothing does.
func (inv *Invocation) write(p []byte) int32 {
	if e := inv.usable(); e != 0 {
		return int32(e)
	}
	inv.locked = true
	inv.mu.Lock()
	defer inv.mu.Unlock()
	if !inv.streaming {
		if inv.tooLarge || int64(len(inv.out))+int64(len(p)) > abi.MaxBufferedResponse {
			inv.tooLarge = true
			return int32(abi.ETOOLARGE)
		}
		inv.out = append(inv.out, p...)
		inv.written += int64(len(p))
		return int32(len(p))
	}
	room := abi.MaxPendingWrite - len(inv.out)
	if room <= 0 {
		inv.wantWrite = true
		return int32(abi.EAGAIN)
	}
	n := min(room, len(p))
	inv.out = append(inv.out, p[:n]...)
	inv.written += int64(n)
	inv.signal()
	return int32(n)
}

// flush sends the head and what is buffered, and streams from then on.
func (inv *Invocation) flush() abi.Errno {
	if e := inv.usable(); e != 0 {
		return e
	}
	if inv.status < 200 {
		return abi.EINVAL
	}
	inv.locked = true
	inv.mu.Lock()
	if inv.headerBig {
		inv.mu.Unlock()
		return abi.ETOOLARGE
	}
	inv.streaming, inv.headReady = true, true
	inv.mu.Unlock()
	inv.signal()
	return 0
}

// close completes the response.
func (inv *Invocation) close() abi.Errno {
	inv.mu.Lock()
	defer inv.mu.Unlock()
	if inv.complete || inv.guestAbort {
		return abi.ECLOSED
	}
	inv.locked = true
	if inv.status < 200 || inv.status > 599 {
		inv.badStatus = true
	}
	inv.complete, inv.headReady = true, true
	inv.signal()
	return 0
}

// take returns what the serving goroutine sends next, and whether the
// guest waits for room to write.
type sendable struct {
	head, streaming, complete, tooLarge, badStatus, aborted bool
	shutDown                                                bool // aborted by the shutdown, the response not complete
	headerBig                                               bool // the head's fields passed abi.MaxResponseHeader
	body                                                    []byte
	status                                                  int
	header                                                  http.Header
}

func (inv *Invocation) take(headSent bool, spare []byte) (s sendable, wake bool) {
	inv.mu.Lock()
	defer inv.mu.Unlock()
	s.complete, s.streaming, s.tooLarge, s.badStatus, s.aborted = inv.complete, inv.streaming, inv.tooLarge, inv.badStatus, inv.guestAbort
	s.headerBig, s.shutDown = inv.headerBig, inv.shutDown
	if inv.headReady && !headSent {
		s.head = true
		// The guest can no longer change them (locked): no copy needed.
		s.status, s.header = inv.status, inv.header
	}
	if inv.headReady && (inv.streaming || inv.complete) && len(inv.out) > 0 {
		// spare is the buffer the serving goroutine last sent, and
		// never inv.out: swapping an empty inv.out would hand it back
		// as the next spare while the guest writes into it, and the
		// next take would give one buffer to both.
		s.body, inv.out = inv.out, spare[:0]
	}
	if inv.wantWrite && len(inv.out) < abi.MaxPendingWrite {
		inv.wantWrite, wake = false, true
	}
	return s, wake
}

// abortResponse is response_abort: the serving goroutine answers 500 or
// cuts the response, and later response imports get ECLOSED.
func (inv *Invocation) abortResponse() abi.Errno {
	inv.mu.Lock()
	defer inv.mu.Unlock()
	if inv.complete || inv.clientGone || inv.guestAbort {
		return abi.ECLOSED
	}
	inv.guestAbort = true
	inv.signal()
	return 0
}

// leave marks the client's side over: later response imports get
// ECLOSED.
func (inv *Invocation) leave() {
	inv.mu.Lock()
	inv.clientGone = true
	inv.out = nil
	inv.mu.Unlock()
}

// bodyReader reads the request body on a goroutine of its own, one chunk
// at a time, so that request_body_read never waits: it returns EAGAIN
// while a chunk is on its way, and an EventReady follows.
type bodyReader struct {
	mu      sync.Mutex
	buf     []byte // bytes read and not yet taken
	err     error  // io.EOF at the end
	reading bool
	total   int64
}

const bodyChunk = 64 << 10

// read is request_body_read for inv.
func (inv *Invocation) read(p []byte) int32 {
	if inv.aborted.Load() {
		return int32(abi.ECANCELED)
	}
	if inv.ended.Load() {
		return int32(abi.ECLOSED)
	}
	r := inv.r
	if r == nil || r.Body == nil || r.Body == http.NoBody {
		return 0
	}
	if inv.body == nil {
		inv.body = &bodyReader{}
	}
	b := inv.body
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.buf) > 0 {
		n := copy(p, b.buf)
		b.buf = b.buf[n:]
		if len(b.buf) == 0 {
			// Taken whole: the chunk is not kept while the invocation
			// waits (many are held at once, abi/SPEC-v2.md).
			b.buf = nil
		}
		return int32(n)
	}
	switch {
	case b.err == io.EOF:
		return 0
	case b.err == ErrBodyTooLarge:
		return int32(abi.ETOOLARGE)
	case b.err != nil:
		return int32(abi.EIO)
	}
	if !b.reading {
		b.reading = true
		go b.fill(r.Body, inv, chunkFor(r.ContentLength, b.total))
	}
	return int32(abi.EAGAIN)
}

// bodyFailure is the Failure of the request body the client sent wrong,
// or 0.
func (inv *Invocation) bodyFailure() Failure { return Failure(inv.bodyFailed.Load()) }

type bodyError string

func (e bodyError) Error() string { return string(e) }

// ErrBodyTooLarge is the request body error of a body over 4.5 MB
// (Request.OnBodyError).
const ErrBodyTooLarge = bodyError("request body over 4.5 MB")

// chunkFor is the size of the next chunk read of a body of length bytes
// (-1: unknown) of which read were read: what is left of a known length
// (plus one byte, to see its end in the same read), at most bodyChunk.
func chunkFor(length, read int64) int {
	if length < 0 {
		return bodyChunk
	}
	return int(min(max(length-read, 0)+1, bodyChunk))
}

func (b *bodyReader) fill(body io.Reader, inv *Invocation, size int) {
	chunk := make([]byte, size)
	n, err := body.Read(chunk)
	b.mu.Lock()
	if n > 0 {
		b.buf = chunk[:n]
	}
	b.total += int64(n)
	if b.total > abi.MaxRequestBody {
		b.buf, err = nil, ErrBodyTooLarge
	}
	if err != nil {
		b.err = err
	}
	b.reading = false
	b.mu.Unlock()
	if err != nil && err != io.EOF && !errors.Is(err, os.ErrDeadlineExceeded) && !inv.aborted.Load() {
		// The client's fault: the last read of the body, which ends it.
		f := BadRequestBody
		if err == ErrBodyTooLarge {
			f = RequestTooLarge
		}
		inv.bodyFailed.Store(int32(f))
		if inv.hooks.OnBodyError != nil {
			inv.hooks.OnBodyError(err)
		}
	}
	inv.l.q.post(abi.EventReady, inv.id, abi.HandleRequestBody, 0)
}

// contentLength is the header a buffered response is sent with.
func contentLength(n int) string { return strconv.Itoa(n) }

// abort marks the invocation aborted, tells the guest (EventAbort with
// why) and the host (OnAbort), once.
func (inv *Invocation) abort(why int32) {
	// Under mu: the guest learns of the abort from aborted
	// (abort_signaled) and may complete its response at once, so
	// whether the shutdown found it complete is read before that.
	inv.mu.Lock()
	if inv.aborted.Swap(true) {
		inv.mu.Unlock()
		return
	}
	if why == abi.AbortShutdown {
		// Its response imports fail from now on (ECANCELED): a
		// response not complete yet cannot be, and the serving
		// goroutine answers for it (ShutDown).
		inv.shutDown = !inv.complete
	}
	inv.mu.Unlock()
	if why == abi.AbortShutdown {
		inv.signal()
	}
	inv.l.q.post(abi.EventAbort, inv.id, 0, why)
	if cs := inv.l.conns; cs != nil {
		// Its own connections close now (abi/SPEC.md section 5c).
		cs.AbortOwner(inv.id)
	}
	if inv.hooks.OnAbort != nil {
		inv.hooks.OnAbort(why)
	}
}

// finish ends the invocation's host side once: its watchers stop and the
// host releases what it held (OnEnd).
func (inv *Invocation) finish() {
	inv.overOnce.Do(func() {
		close(inv.over)
		inv.mu.Lock()
		if inv.deadlineTimer != nil {
			inv.deadlineTimer.Stop()
		}
		inv.mu.Unlock()
		if cs := inv.l.conns; cs != nil {
			cs.EndOwner(inv.id)
		}
		if inv.hooks.OnEnd != nil {
			inv.hooks.OnEnd()
		}
	})
}
