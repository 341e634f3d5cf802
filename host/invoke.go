package host

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/wfn-dev/wfn/host/internal/deadline"
	"github.com/wfn-dev/wfn/host/internal/engine"
	"github.com/wfn-dev/wfn/host/internal/fluid"
	"github.com/wfn-dev/wfn/host/internal/hostcall"
	"github.com/wfn-dev/wfn/host/internal/outbound"
	"github.com/wfn-dev/wfn/host/internal/pool"
	"github.com/wfn-dev/wfn/host/internal/route"
)

// abortGrace is how long an aborted handler may take to return before
// its instance is stopped.
const abortGrace = 500 * time.Millisecond

// invocation is one run of a handler and its tasks on one instance.
type invocation struct {
	h        *Host
	fn       *function
	li       *liveInstance
	inv      *hostcall.Invocation
	ctx      *deadline.Context // the instance's, for this run: handler and tasks
	run      uint64            // this invocation's run of ctx
	deadline time.Time
	export   string
	// length is the response's Content-Length value (hostcall's
	// Invocation is reused; this struct lives as long as the response).
	length hostcall.HeaderValue

	handlerDone atomic.Bool // the handler returned: an abort no longer stops it
	stopWatch   func() bool // stops watching the client, for cancellation
	// client is the response's writer while the handler may wait on its
	// client, for request body bytes or for it to take response bytes:
	// stopClient ends those waits. It is nil once the handler returned or
	// closed its response; hasBody says whether the request has a body.
	// Guarded by clientMu: the handler's goroutine and Close's use it.
	clientMu sync.Mutex
	client   http.ResponseWriter
	hasBody  bool

	// The request context (client.go), computed on first use.
	req   *http.Request
	trust int8              // 0 unknown, 1 trusted proxy, 2 not
	out   *outbound.Session // guarded by the guest's goroutine, and outMu for abort
	outMu sync.Mutex

	tagsMu    sync.Mutex
	cdnTags   []string // added with cdn_add_cache_tag
	tagsTaken bool     // the CDN cache has read cdnTags
}

// invoke runs one invocation. It returns when the response is complete,
// with the tags the guest gave it (cdn_add_cache_tag); the invocation's
// tasks may run on after it. It tells aw, when not nil, whether the
// instance was fresh. arrived is when the request arrived (ServeHTTP's
// clock read): the deadline is taken from it and the monotonic time
// since, a cheaper clock read than time.Now.
func (h *Host) invoke(w http.ResponseWriter, r *http.Request, fn *function, export, id string, arrived time.Time, params []hostcall.Param, aw *accessWriter) (tags []string) {
	if r.ContentLength > hostcall.MaxRequestBody {
		h.inflight.Done()
		writeError(w, r, http.StatusRequestEntityTooLarge, CodePayloadTooLarge, id, "The request body is larger than the limit of 4.5 MB.")
		return
	}
	inst, err := fn.pool.Get(r.Context())
	if err != nil {
		h.inflight.Done()
		switch {
		case errors.Is(err, pool.ErrThrottled), errors.Is(err, pool.ErrQueueTimeout), errors.Is(err, pool.ErrClosed):
			fn.counters.throttled.Add(1)
			writeThrottled(w, r, id)
		case r.Context().Err() != nil:
			// The client left while waiting: nobody to answer.
		default:
			h.log.Error("cannot start instance", "fn", fn.src.Path, "id", id, "err", err)
			writeError(w, r, http.StatusInternalServerError, CodeInvocationFailed, id, "The function could not start.")
		}
		return
	}
	li := inst.(*liveInstance)
	deadline := arrived.Add(time.Since(arrived) + fn.maxDuration)
	c := aw.newInvocation()
	c.h, c.fn, c.li, c.export, c.req = h, fn, li, export, r
	c.ctx, c.run, c.deadline = &li.call, li.call.Start(deadline), deadline
	ctx := c.ctx
	c.inv = h.invs.Get().(*hostcall.Invocation)
	c.inv.Reset(id, fn.src.Path, w, r, params, deadline)
	c.inv.Length = &c.length
	c.inv.NoSniff = fn.src.Kind == route.Script
	c.inv.Ctx = c
	c.li.begin(c.inv, ctx)
	if aw != nil {
		aw.fresh.Store(c.li.calls == 1)
	}
	if r.ContentLength != 0 {
		rc := http.NewResponseController(w)
		// Streaming both ways: without this, net/http's HTTP/1 server
		// drains the request body when the guest sends its head first.
		// HTTP/2 is full duplex already and says so with an error.
		_ = rc.EnableFullDuplex()
		// A guest waiting for body bytes waits in a host function, where
		// the engine cannot stop it: the deadline must end the read.
		_ = rc.SetReadDeadline(deadline)
		c.hasBody = true
	}
	c.client = w
	c.li.running.Store(c)
	// So does a guest whose write waits on a client that does not read
	// the response. What follows the handler gets fluid.AnswerGrace
	// (fluid.SetAnswerDeadline); net/http clears the deadline once the
	// response is complete, for the connection's next request.
	fluid.SetWriteDeadline(w, deadline)
	if fn.cancel {
		c.stopWatch = context.AfterFunc(r.Context(), c.abort)
	}

	if !fn.exports.ImportsClose {
		// The common case runs on this goroutine: the response is
		// complete when the handler returns.
		err := c.li.Call(ctx, export, c.inv)
		c.handlerReturned(err)
		healthy := err == nil
		fluid.SetAnswerDeadline(w, deadline)
		cut := c.answer(w, r, c.late(err))
		tags = c.takeTags()
		if err == nil && c.inv.HasTasks() {
			go c.runTasks()
		} else {
			c.end(healthy)
		}
		if cut {
			panic(http.ErrAbortHandler)
		}
		return tags
	}

	// The guest may end the response with response_close and run on: it
	// runs on a goroutine of its own, and this one returns as soon as the
	// response is complete. The channel says whether to cut it.
	done := make(chan bool, 1)
	c.inv.OnClose(func() {
		c.unwatch()
		c.endClient()
		done <- false
	})
	go func() {
		err := c.li.Call(ctx, export, c.inv)
		c.handlerReturned(err)
		if c.inv.Closed() {
			if err != nil {
				c.logFailure(r, err)
			}
			if err == nil && c.inv.HasTasks() {
				c.runTasks()
				return
			}
			c.end(err == nil)
			return
		}
		fluid.SetAnswerDeadline(w, deadline)
		cut := c.answer(w, r, c.late(err))
		if err == nil && c.inv.HasTasks() {
			done <- cut
			c.runTasks()
			return
		}
		// The instance goes back to the pool before the response is
		// complete, as on the common path: a client that sends its next
		// request on receiving this response finds it idle rather than
		// starting another.
		c.end(err == nil)
		done <- cut
	}()
	cut := <-done
	tags = c.takeTags()
	if cut {
		panic(http.ErrAbortHandler)
	}
	return tags
}

// late turns a handler that returned normally after its deadline (a wait
// in a host function ended by it) into a timeout, as if it had been
// stopped.
func (c *invocation) late(err error) error {
	// The context's timer may not be set: its Err reads the clock.
	if err == nil && c.ctx.Err() == context.DeadlineExceeded {
		return context.DeadlineExceeded
	}
	return err
}

// handlerReturned is called when the handler returned, with err.
func (c *invocation) handlerReturned(err error) {
	c.handlerDone.Store(true)
	c.unwatch()
	c.endClient()
	if n, bad := c.inv.LengthMismatch(); err == nil && bad && c.req.Context().Err() == nil {
		c.h.log.Error("response cut: the streamed body's length differs from its Content-Length",
			"fn", c.fn.src.Path, "id", c.inv.ID, "content_length", n, "written", c.inv.Written())
	}
}

// stopClient ends the handler's wait for request body bytes, if it may
// still wait (request_body_read returns ECANCELED once the invocation is
// aborted), and with writes its wait for the client to take response
// bytes, which cuts the response. A guest waiting there waits in a host
// function, where neither an abort nor the engine can stop it: Close
// past its deadline ends the reads, and past its grace the writes.
func (c *invocation) stopClient(writes bool) {
	c.clientMu.Lock()
	defer c.clientMu.Unlock()
	if c.client == nil {
		return
	}
	rc := http.NewResponseController(c.client)
	if c.hasBody {
		_ = rc.SetReadDeadline(time.Now())
	}
	if writes {
		_ = rc.SetWriteDeadline(time.Now())
	}
}

// endClient is called when the handler can no longer use its client:
// from then on stopClient does nothing, for net/http's writer must not be
// used once ServeHTTP returned.
func (c *invocation) endClient() {
	c.clientMu.Lock()
	c.client = nil
	c.clientMu.Unlock()
}

// cancel ends the invocation's context: its handler and tasks stop, and
// what was derived from the context is released.
func (c *invocation) cancel() { c.ctx.End(c.run) }

func (c *invocation) unwatch() {
	if c.stopWatch != nil {
		c.stopWatch()
	}
}

// abort signals the guest (abort_signaled, ECANCELED, a wake from sleep)
// and stops its handler if it has not returned within abortGrace.
func (c *invocation) abort() {
	c.fn.counters.aborted.Add(1)
	c.inv.Abort()
	c.li.wakeUp()
	c.cancelOutbound()
	c.li.conns.Abort()
	time.AfterFunc(abortGrace, func() {
		if !c.handlerDone.Load() {
			c.cancel()
		}
	})
}

// answer completes the response after the handler returned with err, and
// reports whether the response must be cut (it had started and failed).
func (c *invocation) answer(w http.ResponseWriter, r *http.Request, err error) (cut bool) {
	inv, id := c.inv, c.inv.ID
	if err == nil {
		if inv.Aborted() && c.h.abortingAll.Load() {
			// Aborted by Close past its deadline, the handler returned
			// (its client's body or its response cut short): logged
			// as one the engine stopped is (logFailure).
			c.h.log.Warn("invocation stopped: the host is shutting down", "fn", c.fn.src.Path, "id", id)
		}
		if inv.Finish() {
			return false
		}
		status, code, msg := http.StatusBadGateway, CodeNoResponse, "The function did not answer with a valid status."
		switch inv.Failure {
		case hostcall.RequestTooLarge, hostcall.BadRequestBody:
			status, code, msg = c.clientFailure(r, nil)
		case hostcall.ResponseTooLarge:
			status, code, msg = http.StatusInternalServerError, CodeResponsePayloadTooLarge, "The response is larger than the limit of 4.5 MB; flush to stream it."
			if inv.HeaderTooLarge() {
				msg = responseHeaderTooLarge
			}
		}
		if status >= 500 {
			c.h.log.Error("invocation failed", "fn", c.fn.src.Path, "id", id, "code", code, "reason", msg)
		}
		if inv.HeadSent() {
			return true
		}
		c.writeError(w, r, status, code, msg)
		return false
	}
	status, code, msg := c.logFailure(r, err)
	if code == "" {
		return false // the client is gone
	}
	if inv.HeadSent() {
		// The response has started: cut it so the client sees an
		// incomplete response, never a clean end.
		return true
	}
	c.writeError(w, r, status, code, msg)
	return false
}

// writeError answers for a failed invocation, closing the connection if
// the request body was left unread.
func (c *invocation) writeError(w http.ResponseWriter, r *http.Request, status int, code, msg string) {
	if c.inv.BodyUnread() {
		writeError(w, r, status, code, c.inv.ID, msg, "Connection", "close")
		return
	}
	writeError(w, r, status, code, c.inv.ID, msg)
}

// logFailure logs why the guest did not return normally and says how to
// answer for it; code is "" when there is no one to answer.
func (c *invocation) logFailure(r *http.Request, err error) (status int, code, msg string) {
	fn, id := c.fn.src.Path, c.inv.ID
	switch {
	case c.inv.Failure == hostcall.RequestTooLarge, c.inv.Failure == hostcall.BadRequestBody:
		return c.clientFailure(r, err)
	case c.inv.Aborted() && r.Context().Err() != nil && !c.h.abortingAll.Load():
		c.h.log.Info("client disconnected; invocation stopped", "fn", fn, "id", id)
		return 0, "", ""
	case c.inv.Aborted():
		c.h.log.Warn("invocation stopped: the host is shutting down", "fn", fn, "id", id)
		return http.StatusServiceUnavailable, CodeInvocationFailed, "The server is shutting down."
	case errors.Is(err, context.DeadlineExceeded) || errors.Is(c.ctx.Err(), context.DeadlineExceeded):
		c.fn.counters.timedOut.Add(1)
		c.h.log.Error("invocation timed out", "fn", fn, "id", id, "max_duration", c.fn.maxDuration)
		return http.StatusGatewayTimeout, CodeInvocationTimeout, "The function exceeded its maximum duration of " + c.fn.maxDuration.String() + "."
	case errors.Is(err, engine.ErrStackOverflow):
		c.h.log.Error("invocation failed: stack overflow", "fn", fn, "id", id, "max_stack_kib", engine.MaxStack>>10, "err", err)
		return http.StatusInternalServerError, CodeInvocationFailed, "A server error has occurred."
	case c.li.stderr.uncaught:
		// The exception and its stack are logged above with the same id;
		// the runtime's abort that follows says nothing to a JS author.
		c.h.log.Error("invocation failed: uncaught exception", "fn", fn, "id", id)
		c.h.log.Debug("the JavaScript runtime stopped", "fn", fn, "id", id, "err", err)
		return http.StatusInternalServerError, CodeInvocationFailed, "A server error has occurred."
	default:
		c.h.log.Error("invocation failed", "fn", fn, "id", id, "err", err)
		return http.StatusInternalServerError, CodeInvocationFailed, "A server error has occurred."
	}
}

// clientFailure logs, as the client's fault and not the function's, a
// request body the guest could not read whole: over 4.5 MB (413), or
// malformed or cut short (400). err is the guest's own failure that
// followed, if any. The answer is written even to a client that closed
// its side: it may still read it.
func (c *invocation) clientFailure(r *http.Request, err error) (status int, code, msg string) {
	tooLarge := c.inv.Failure == hostcall.RequestTooLarge
	c.h.logClientBody(c.fn.src.Path, c.inv.ID, r, tooLarge, c.inv.BodyErr, err)
	if tooLarge {
		return http.StatusRequestEntityTooLarge, CodePayloadTooLarge, "The request body is larger than the limit of 4.5 MB."
	}
	return http.StatusBadRequest, CodeBadRequest, "The request body is malformed or incomplete."
}

// logClientBody logs, at info and as the client's error, a request body
// that function fn could not read for request id: over the limit
// (tooLarge), or failing with bodyErr (malformed chunked encoding, a body
// cut short). err, when not nil, is the guest's failure that followed.
func (h *Host) logClientBody(fn, id string, r *http.Request, tooLarge bool, bodyErr, err error) {
	attrs := []any{"fn", fn, "id", id}
	var msg string
	switch {
	case tooLarge:
		msg = "client error: the request body is over the limit; the function could not read it"
		attrs = append(attrs, "code", CodePayloadTooLarge, "limit_bytes", hostcall.MaxRequestBody)
	case r.Context().Err() != nil:
		// A read error from the connection ends its context: the
		// client closed it, or closed its side (a half-close, which
		// may still read the answer).
		msg = "client error: the client closed its connection before sending the whole request body; the function could not read it"
	default:
		msg = "client error: the request body is malformed; the function could not read it"
	}
	if !tooLarge && bodyErr != nil {
		attrs = append(attrs, "body_err", bodyErr.Error())
	}
	if err != nil {
		attrs = append(attrs, "err", err)
	}
	h.log.Info(msg, attrs...)
}

// runTasks runs the tasks registered with wait_until, after the response,
// under the invocation's deadline, then ends the invocation.
func (c *invocation) runTasks() {
	healthy := true
	for {
		task, ok := c.inv.NextTask()
		if !ok {
			break
		}
		if err := c.li.RunTask(c.ctx, task, c.inv); err != nil {
			healthy = false
			attrs := []any{"fn", c.fn.src.Path, "id", c.inv.ID, "task", task, "err", err}
			if errors.Is(c.ctx.Err(), context.DeadlineExceeded) {
				attrs = append(attrs, "max_duration", c.fn.maxDuration)
			}
			c.h.log.Error("waitUntil task failed; the tasks after it are skipped", attrs...)
			break
		}
	}
	c.end(healthy)
}

// cancelOutbound closes the connections of the invocation's outbound
// requests in flight now; those it sends later run (its cleanup).
func (c *invocation) cancelOutbound() {
	c.outMu.Lock()
	if c.out != nil {
		c.out.CancelInFlight()
	}
	c.outMu.Unlock()
}

// end releases what the invocation held.
func (c *invocation) end(healthy bool) {
	if healthy && c.h.checkTmp && tmpUsed(c.li.tmp) > c.h.tmpLimit() {
		// An engine that cannot refuse the write (Wasmtime) let the guest
		// go past the limit: the instance goes, and its /tmp with it.
		c.h.log.Warn("the instance's /tmp is over its limit; it is retired", "fn", c.fn.src.Path, "id", c.inv.ID, "limit_mb", c.h.cfg.TmpSizeMB)
		healthy = false
	}
	c.li.conns.EndInvocation()
	if !healthy {
		c.li.failed.Store(true)
	}
	c.li.finish()
	c.cancel()
	c.outMu.Lock()
	if c.out != nil {
		c.out.Close()
	}
	c.outMu.Unlock()
	c.inv.Release()
	c.h.invs.Put(c.inv)
	c.fn.pool.Put(context.Background(), c.li, healthy)
	c.h.inflight.Done()
}

// maxURL is Vercel's limit on a request's URL, path and query, in bytes
// (vercel.com/docs/limits: 14 KB; the error is URL_TOO_LONG, 414).
const maxURL = 14 << 10

// urlTooLong applies maxURL to the request target as the client sent it.
func urlTooLong(r *http.Request) bool {
	if r.RequestURI != "" {
		return len(r.RequestURI) > maxURL
	}
	return len(r.URL.RequestURI()) > maxURL
}

// headerTooLarge applies Vercel's request header limits: 16 KB for one
// header, 32 KB for all of them, names included.
func headerTooLarge(r *http.Request) bool {
	const one, all = 16 << 10, 32 << 10
	total := len(r.Host)
	for name, values := range r.Header {
		for _, v := range values {
			n := len(name) + len(v)
			if n > one {
				return true
			}
			total += n
		}
	}
	return total > all
}
