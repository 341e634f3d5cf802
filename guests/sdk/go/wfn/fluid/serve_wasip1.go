//go:build wasip1

package fluid

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"unsafe"
)

// Constants of abi/v2.go, restated: the SDK imports nothing of the host.
const (
	eventFD      = 0
	eventSize    = 16
	eventInvoke  = 1
	eventReady   = 2
	eventAbort   = 3
	eventSigterm = 4
	eventStop    = 5

	handleRequestBody  = -1
	handleResponseBody = -2

	eagain    = -11
	ecanceled = -5
)

//go:wasmexport wfn_abi_v2
func abiV2() {}

// serve is the serving export: it reads the event source until an
// EventStop. When every goroutine waits, Go's scheduler blocks in
// poll_oneoff on the event source, where the host wakes it.
//
//go:wasmexport wfn_serve
func serve() {
	events := os.NewFile(eventFD, "wfn-events")
	stop := make(chan struct{})
	go dispatch(events, stop)
	<-stop
}

// invocation is the guest side of one invocation.
type invocation struct {
	id     uint32
	ctx    context.Context
	cancel context.CancelFunc

	mu    sync.Mutex
	ready map[int32]chan struct{} // a token when the handle may make progress

	tasks sync.WaitGroup // WaitUntil's
}

var (
	invMu sync.Mutex
	invs  = map[uint32]*invocation{}
)

func dispatch(events *os.File, stop chan struct{}) {
	buf := make([]byte, 64*eventSize)
	for {
		n, err := events.Read(buf)
		if err != nil {
			fmt.Fprintln(os.Stderr, "wfn: cannot read the event source:", err)
			close(stop)
			return
		}
		for rec := buf[:n]; len(rec) >= eventSize; rec = rec[eventSize:] {
			kind := binary.LittleEndian.Uint32(rec[0:])
			id := binary.LittleEndian.Uint32(rec[4:])
			handle := int32(binary.LittleEndian.Uint32(rec[8:]))
			switch kind {
			case eventInvoke:
				inv := &invocation{id: id, ready: map[int32]chan struct{}{}}
				inv.ctx, inv.cancel = context.WithCancel(context.Background())
				inv.ctx = context.WithValue(inv.ctx, invKey{}, inv)
				invMu.Lock()
				invs[id] = inv
				invMu.Unlock()
				go inv.run()
			case eventReady, eventAbort:
				invMu.Lock()
				inv := invs[id]
				invMu.Unlock()
				if inv == nil {
					continue
				}
				if kind == eventAbort {
					inv.cancel()
				} else {
					inv.wake(handle)
				}
			case eventStop:
				close(stop)
				return
			case eventSigterm:
				sigtermMu.Lock()
				fs := sigterm
				sigtermMu.Unlock()
				for _, f := range fs {
					go f()
				}
			}
		}
	}
}

func (inv *invocation) channel(h int32) chan struct{} {
	inv.mu.Lock()
	defer inv.mu.Unlock()
	ch := inv.ready[h]
	if ch == nil {
		ch = make(chan struct{}, 1)
		inv.ready[h] = ch
	}
	return ch
}

func (inv *invocation) wake(h int32) {
	select {
	case inv.channel(h) <- struct{}{}:
	default:
	}
}

// wait parks the calling goroutine until the handle may make progress or
// the invocation is aborted.
func (inv *invocation) wait(h int32) error {
	select {
	case <-inv.channel(h):
		return nil
	case <-inv.ctx.Done():
		return inv.ctx.Err()
	}
}

// get applies the buffer protocol to an import that writes into (buf, cap).
func get(call func(buf unsafe.Pointer, cap uint32) int32) (string, int32) {
	buf := make([]byte, 256)
	for {
		n := call(unsafe.Pointer(unsafe.SliceData(buf)), uint32(len(buf)))
		if n < 0 {
			return "", n
		}
		if int(n) <= len(buf) {
			return string(buf[:n]), n
		}
		buf = make([]byte, n)
	}
}

func (inv *invocation) run() {
	defer func() {
		inv.tasks.Wait()
		inv.cancel()
		invMu.Lock()
		delete(invs, inv.id)
		invMu.Unlock()
		invocationEnd(inv.id)
	}()
	r, err := inv.request()
	w := &responseWriter{inv: inv, header: http.Header{}}
	defer func() {
		if p := recover(); p != nil {
			inv.log(2, fmt.Sprintf("panic: %v", p))
			if !w.wroteHeader {
				responseSetStatus(inv.id, http.StatusInternalServerError)
			}
		}
		w.finish()
	}()
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	handler.ServeHTTP(w, r)
}

func (inv *invocation) log(level uint32, line string) {
	b := []byte(line)
	logLine(inv.id, level, unsafe.Pointer(unsafe.SliceData(b)), uint32(len(b)))
}

func (inv *invocation) request() (*http.Request, error) {
	id := inv.id
	method, _ := get(func(b unsafe.Pointer, c uint32) int32 { return requestMethod(id, b, c) })
	raw, _ := get(func(b unsafe.Pointer, c uint32) int32 { return requestURL(id, b, c) })
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("wfn: bad request URL %q: %w", raw, err)
	}
	names, _ := get(func(b unsafe.Pointer, c uint32) int32 { return requestHeaderNames(id, b, c) })
	h := http.Header{}
	for name := range strings.SplitSeq(strings.TrimSuffix(names, "\x00"), "\x00") {
		if name == "" {
			continue
		}
		nb := []byte(name)
		values, n := get(func(b unsafe.Pointer, c uint32) int32 {
			return requestHeader(id, unsafe.Pointer(unsafe.SliceData(nb)), uint32(len(nb)), b, c)
		})
		if n < 0 {
			continue
		}
		for v := range strings.SplitSeq(strings.TrimSuffix(values, "\x00"), "\x00") {
			h.Add(name, v)
		}
	}
	r, err := http.NewRequestWithContext(inv.ctx, method, u.String(), &body{inv: inv})
	if err != nil {
		return nil, err
	}
	r.Header = h
	r.Host = u.Host
	r.RequestURI = u.RequestURI()
	if cl := h.Get("Content-Length"); cl == "0" || (cl == "" && h.Get("Transfer-Encoding") == "") {
		r.Body, r.ContentLength = http.NoBody, 0
	}
	return r, nil
}

// body reads the request body with request_body_read, parking on EAGAIN.
type body struct{ inv *invocation }

func (b *body) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	for {
		n := requestBodyRead(b.inv.id, unsafe.Pointer(unsafe.SliceData(p)), uint32(len(p)))
		switch {
		case n > 0:
			return int(n), nil
		case n == 0:
			return 0, io.EOF
		case n == eagain:
			if err := b.inv.wait(handleRequestBody); err != nil {
				return 0, err
			}
		case n == ecanceled:
			return 0, context.Canceled
		default:
			return 0, fmt.Errorf("wfn: request_body_read: %d", n)
		}
	}
}

func (b *body) Close() error { return nil }

// responseWriter is an invocation's http.ResponseWriter and http.Flusher.
type responseWriter struct {
	inv         *invocation
	header      http.Header
	wroteHeader bool
	failed      error
}

func (w *responseWriter) Header() http.Header { return w.header }

func (w *responseWriter) WriteHeader(code int) {
	if w.wroteHeader {
		return
	}
	w.wroteHeader = true
	responseSetStatus(w.inv.id, int32(code))
	for k, vs := range w.header {
		kb := []byte(k)
		for _, v := range vs {
			vb := []byte(v)
			responseHeaderAdd(w.inv.id, unsafe.Pointer(unsafe.SliceData(kb)), uint32(len(kb)), unsafe.Pointer(unsafe.SliceData(vb)), uint32(len(vb)))
		}
	}
}

var errWrite = errors.New("wfn: response_body_write failed")

func (w *responseWriter) Write(p []byte) (int, error) {
	w.WriteHeader(http.StatusOK)
	if w.failed != nil {
		return 0, w.failed
	}
	done := 0
	for done < len(p) {
		rest := p[done:]
		n := responseBodyWrite(w.inv.id, unsafe.Pointer(unsafe.SliceData(rest)), uint32(len(rest)))
		switch {
		case n >= 0:
			done += int(n)
		case n == eagain:
			if err := w.inv.wait(handleResponseBody); err != nil {
				w.failed = err
				return done, err
			}
		default:
			w.failed = fmt.Errorf("%w: %d", errWrite, n)
			return done, w.failed
		}
	}
	return done, nil
}

func (w *responseWriter) Flush() {
	w.WriteHeader(http.StatusOK)
	responseFlush(w.inv.id)
}

func (w *responseWriter) finish() {
	w.WriteHeader(http.StatusOK)
	responseClose(w.inv.id)
}

var (
	sigtermMu sync.Mutex
	sigterm   []func()
)

func onSigterm(f func()) {
	sigtermMu.Lock()
	sigterm = append(sigterm, f)
	sigtermMu.Unlock()
}

// waitUntil runs task at once on a goroutine of its own, alongside the
// response; the invocation ends when its handler and every task have
// returned. A task that panics is logged and stops no other.
func waitUntil(r *http.Request, task func()) bool {
	inv, _ := r.Context().Value(invKey{}).(*invocation)
	if inv == nil {
		return false
	}
	inv.tasks.Add(1)
	go func() {
		defer inv.tasks.Done()
		defer func() {
			if p := recover(); p != nil {
				inv.log(2, fmt.Sprintf("waitUntil task panicked: %v", p))
			}
		}()
		task()
	}()
	return true
}
