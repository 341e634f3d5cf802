package wfntest

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"time"

	"github.com/wfn-dev/wfn/guests/sdk/go/wfn"
	"github.com/wfn-dev/wfn/guests/sdk/go/wfn/internal/hostcall"
)

// ErrInstanceClosed is returned by an [Instance]'s Do, Call and Serve
// after its Sigterm or Stop, and by a second Sigterm or Stop.
var ErrInstanceClosed = errors.New("wfntest: instance closed")

// An Instance stands for one instance of a function, which serves many
// invocations at once under ABI version 2 (Fluid compute, build tag
// wfn_fluid; abi/SPEC-v2.md): each call of Do, Call or Serve is one
// invocation, with the request, response, abort, deadline and WaitUntil
// semantics of the package doc, except that its WaitUntil tasks start at
// once and run alongside the response (Do, Call and Serve return when the
// handler and every task have returned), and a handler's panic fails only
// its invocation (500 FUNCTION_INVOCATION_FAILED's body is then the
// SDK's "Internal Server Error"). Invocations on different goroutines
// overlap.
//
// Built without wfn_fluid (ABI version 1) an Instance serves one
// invocation at a time, as every function of this package does.
//
// The test process stands for the instance: its TCP connections, its
// pools and the functions registered with wfn.OnSigterm are the
// process's. Options given to NewInstance apply to every invocation,
// before those given to each call.
type Instance struct {
	opts []Option

	mu       sync.Mutex
	closed   bool
	inFlight map[*host]struct{}
	changed  chan struct{} // closed and replaced when an invocation ends
}

// NewInstance returns an instance whose invocations take opts.
func NewInstance(opts ...Option) *Instance {
	return &Instance{opts: opts, inFlight: map[*host]struct{}{}, changed: make(chan struct{})}
}

// Do runs h for req as one invocation of the instance, with the route
// params given (nil for none), and returns the response, or
// ErrInstanceClosed.
func (in *Instance) Do(h wfn.Handler, req *http.Request, params map[string]string, opts ...Option) (*http.Response, error) {
	return in.Call(func() { wfn.Serve(h) }, req, params, opts...)
}

// Call runs export, the body of a handler export, for req as one
// invocation of the instance and returns the response, or
// ErrInstanceClosed.
func (in *Instance) Call(export func(), req *http.Request, params map[string]string, opts ...Option) (*http.Response, error) {
	rec := httptest.NewRecorder()
	if _, err := in.serve(rec, req, params, export, opts); err != nil {
		return nil, err
	}
	return rec.Result(), nil
}

// Serve runs export for r as one invocation of the instance, writing the
// response to w as the host would. It returns ErrInstanceClosed without
// writing anything once the instance is closed, and panics with
// http.ErrAbortHandler when the host would cut the connection.
func (in *Instance) Serve(w http.ResponseWriter, r *http.Request, params map[string]string, export func(), opts ...Option) error {
	cut, err := in.serve(w, r, params, export, opts)
	if cut {
		panic(http.ErrAbortHandler)
	}
	return err
}

func (in *Instance) serve(w http.ResponseWriter, r *http.Request, params map[string]string, export func(), opts []Option) (bool, error) {
	in.mu.Lock()
	closed := in.closed
	in.mu.Unlock()
	if closed {
		return false, ErrInstanceClosed
	}
	cfg := newConfig(append(append([]Option(nil), in.opts...), opts...))
	if !hostcall.Concurrent {
		mu.Lock()
		defer mu.Unlock()
	}
	return invoke(w, r, params, export, cfg, in), nil
}

// InFlight returns how many invocations of the instance have started and
// not ended.
func (in *Instance) InFlight() int {
	in.mu.Lock()
	defer in.mu.Unlock()
	return len(in.inFlight)
}

func (in *Instance) track(h *host) {
	in.mu.Lock()
	in.inFlight[h] = struct{}{}
	in.mu.Unlock()
}

func (in *Instance) untrack(h *host) {
	in.mu.Lock()
	delete(in.inFlight, h)
	close(in.changed)
	in.changed = make(chan struct{})
	in.mu.Unlock()
}

// close stops new invocations; it reports false if it was done before.
func (in *Instance) close() bool {
	in.mu.Lock()
	defer in.mu.Unlock()
	if in.closed {
		return false
	}
	in.closed = true
	return true
}

// drain waits until no invocation is in flight or ctx is done; then it
// fails the invocations left as the host does when it stops the instance
// (500 FUNCTION_INVOCATION_FAILED, or a cut response) and returns
// ctx.Err().
func (in *Instance) drain(ctx context.Context) error {
	for {
		in.mu.Lock()
		n, changed := len(in.inFlight), in.changed
		in.mu.Unlock()
		if n == 0 {
			return nil
		}
		select {
		case <-changed:
		case <-ctx.Done():
			in.mu.Lock()
			left := make([]*host, 0, len(in.inFlight))
			for h := range in.inFlight {
				left = append(left, h)
			}
			in.mu.Unlock()
			for _, h := range left {
				h.kill(http.StatusInternalServerError, CodeInvocationFailed)
				h.post(hostcall.AbortShutdown)
			}
			return ctx.Err()
		}
	}
}

// Sigterm does what the host does when it closes an instance that has
// invocations in flight (abi/SPEC-v2.md section 4): no new invocation
// starts (ErrInstanceClosed), the functions registered with wfn.OnSigterm
// run, then under ABI version 2 the attached pools release their idle
// connections; the invocations in flight have [SigtermGrace] from the
// start to end, and those left fail (500 FUNCTION_INVOCATION_FAILED, or a
// cut response); the instance's TCP connections close. It returns an
// error wrapping [ErrSigtermTooLong] if the wfn.OnSigterm functions took
// longer than SigtermGrace, ErrInstanceClosed if the instance was closed
// before.
func (in *Instance) Sigterm() error {
	if !in.close() {
		return ErrInstanceClosed
	}
	if !hostcall.Concurrent {
		// Version 1 serves one invocation at a time: the host sends
		// SIGTERM to an idle instance.
		ctx, cancel := context.WithTimeout(context.Background(), SigtermGrace)
		defer cancel()
		in.drain(ctx)
		return Sigterm()
	}
	start := time.Now()
	ctx, cancel := context.WithDeadline(context.Background(), start.Add(SigtermGrace))
	defer cancel()
	hostcall.Exports.OnSigterm()
	took := time.Since(start)
	hostcall.Exports.OnSuspend()
	in.drain(ctx)
	closeTCP(nil)
	if took > SigtermGrace {
		return fmt.Errorf("%w: took %v, over %v", ErrSigtermTooLong, took.Round(time.Millisecond), SigtermGrace)
	}
	return nil
}

// Stop closes the instance as the host closes an idle one: no new
// invocation starts (ErrInstanceClosed), the invocations in flight run
// until they end or ctx is done, then the attached pools release their
// idle connections (EventStop) and the instance's TCP connections close.
// If ctx is done first, the invocations left fail (500
// FUNCTION_INVOCATION_FAILED, or a cut response) and Stop returns an
// error wrapping ctx.Err(). It returns ErrInstanceClosed if the instance
// was closed before.
func (in *Instance) Stop(ctx context.Context) error {
	if !in.close() {
		return ErrInstanceClosed
	}
	err := in.drain(ctx)
	if hostcall.Concurrent {
		hostcall.Exports.OnSuspend()
	} else {
		Suspend() // with the idle host installed
	}
	closeTCP(nil)
	if err != nil {
		return fmt.Errorf("wfntest: cannot stop the instance with its invocations ended: %w", err)
	}
	return nil
}
