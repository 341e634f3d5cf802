package host

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"time"

	"github.com/wfn-dev/wfn/abi"
	dl "github.com/wfn-dev/wfn/host/internal/deadline"
	"github.com/wfn-dev/wfn/host/internal/engine"
	"github.com/wfn-dev/wfn/host/internal/fluid"
	"github.com/wfn-dev/wfn/host/internal/gobuild"
	"github.com/wfn-dev/wfn/host/internal/hostcall"
	"github.com/wfn-dev/wfn/host/internal/outbound"
	"github.com/wfn-dev/wfn/host/internal/route"
)

// A function built for ABI v2 (abi/SPEC-v2.md) is served by package fluid:
// many invocations at once in one instance, instead of the engine's
// instances and package pool.

// fluidFunction is what a v2 function keeps instead of a module and a
// pool.
type fluidFunction struct {
	mod  fluid.Module
	pool *fluid.Pool
}

// loadFluid compiles a v2 guest and gives fn its fluid pool.
func (h *Host) loadFluid(ctx context.Context, fn *function, wasm []byte, env [][2]string) error {
	fc, ok := h.engine.(fluid.Compiler)
	if !ok {
		return &engine.LoadError{Name: fn.src.Path, Reason: "built for ABI v2 (many invocations per instance), which this engine does not serve yet; wazero and Wasmtime do"}
	}
	mod, err := fc.CompileV2(ctx, fn.src.Path, wasm)
	if err != nil {
		return err
	}
	path := fn.src.Path
	ff := &fluidFunction{mod: mod}
	ff.pool = &fluid.Pool{
		New: func(ctx context.Context) (fluid.Instance, error) {
			tmp, err := h.newTmp()
			if err != nil {
				return nil, err
			}
			goNames := fn.src.Kind == route.GoHandler
			stdout := &guestLog{log: h.log, fn: path, stream: "stdout", goNames: goNames}
			// Held as version 1's: a failed initialisation's account of
			// why goes into its error (initError).
			stderr := &guestLog{log: h.log, fn: path, stream: "stderr", goNames: goNames, holding: true}
			inst, err := mod.Instantiate(ctx, engine.InstanceConfig{
				Env: env, Stdout: stdout, Stderr: stderr,
				MemoryLimit: fn.memoryLimit, TmpDir: tmp, TmpLimit: h.tmpLimit(),
			})
			stdout.flush()
			stderr.flush()
			if held := stderr.release(); err != nil && len(held) > 0 {
				err = &initError{fn: path, stderr: held, err: err, goNames: goNames}
			} else {
				stderr.emit(held)
			}
			if err != nil {
				_ = os.RemoveAll(tmp)
				return nil, err
			}
			fn.counters.coldStarts.Add(1)
			return &fluidInstance{Instance: inst, tmp: tmp, logs: [2]*guestLog{stdout, stderr}}, nil
		},
		Ended: func(err error) {
			if errors.Is(err, fluid.ErrServeReturned) || errors.Is(err, fluid.ErrClosed) {
				h.log.Debug("instance closed", "fn", path)
				return
			}
			h.log.Error("instance ended", "fn", path, "err", err)
		},
		// Outbound TCP as version 1's: the function's policy, a
		// table per instance (abi/SPEC-v2.md section 8).
		Conns: func() *outbound.Conns {
			return outbound.NewConns(fn.client, func(msg string, args ...any) {
				h.log.Warn(msg, append([]any{"fn", path}, args...)...)
			})
		},
		Concurrency:  fn.instanceConcurrency,
		MaxInstances: fn.concurrency,
		IdleTimeout:  fn.policy.IdleTimeout,
		Log: func(level slog.Level, inv *fluid.Invocation, line string) {
			h.log.Log(context.Background(), level, line, "fn", path, "id", inv.RequestID(), "stream", "log")
		},
		Answer: func(w http.ResponseWriter, r *http.Request, req fluid.Request, f fluid.Failure, err error) {
			status, code, msg := http.StatusInternalServerError, CodeInvocationFailed, "A server error has occurred."
			switch f {
			case fluid.TimedOut:
				fn.counters.timedOut.Add(1)
				status, code, msg = http.StatusGatewayTimeout, CodeInvocationTimeout, "The function exceeded its maximum duration of "+fn.maxDuration.String()+"."
				args := []any{"fn", path, "id", req.ID, "max_duration", fn.maxDuration}
				if err != nil {
					// Its work after the response ran past the
					// deadline (fluid.ErrPastDeadlineAfterResponse).
					args = append(args, "err", err)
				}
				h.log.Error("invocation timed out", args...)
			case fluid.ResponseTooLarge, fluid.ResponseHeaderTooLarge:
				code, msg = CodeResponsePayloadTooLarge, "The response is larger than the limit of 4.5 MB; flush to stream it."
				if f == fluid.ResponseHeaderTooLarge {
					msg = responseHeaderTooLarge
				}
				h.log.Error("invocation failed", "fn", path, "id", req.ID, "code", code, "reason", msg)
			case fluid.RequestTooLarge:
				// Logged as the client's error (OnBodyError).
				status, code, msg = http.StatusRequestEntityTooLarge, CodePayloadTooLarge, "The request body is larger than the limit of 4.5 MB."
			case fluid.BadRequestBody:
				status, code, msg = http.StatusBadRequest, CodeBadRequest, "The request body is malformed or incomplete."
			case fluid.ShutDown:
				// As version 1's (invocation.logFailure).
				status, msg = http.StatusServiceUnavailable, "The server is shutting down."
				h.log.Warn("invocation stopped: the host is shutting down", "fn", path, "id", req.ID)
			case fluid.GuestAborted:
				h.log.Error("invocation failed: the function failed its response", "fn", path, "id", req.ID)
			case fluid.InvalidStatus:
				status, code, msg = http.StatusBadGateway, CodeNoResponse, "The function did not answer with a valid status."
				h.log.Error("invocation failed", "fn", path, "id", req.ID, "code", code)
			default:
				// A trap, an exit or the watchdog ends the instance and
				// every invocation on it: each is logged with its id.
				h.log.Error("invocation failed: its instance ended", "fn", path, "id", req.ID, "err", err)
			}
			if w != nil {
				writeError(w, r, status, code, req.ID, msg)
			}
		},
	}
	// The handler exports are registered (fluid.Pool.Exports) and the
	// methods without one answered 405 as for version 1; a guest without
	// any gets every method, and dispatches them itself.
	ff.pool.Exports = fluid.HandlerExports(wasm)
	for _, e := range ff.pool.Exports {
		if e == abi.ExportHandle {
			fn.exports.Handle = true
		} else {
			fn.exports.Methods = append(fn.exports.Methods, e)
		}
	}
	if len(ff.pool.Exports) == 0 {
		fn.exports.Handle = true
	}
	fn.allow = allowHeader(fn.exports.Methods)
	fn.fluid = ff
	return nil
}

// Call makes a registration call (fluid.Caller) when the engine's
// instance can.
func (i *fluidInstance) Call(ctx context.Context, export string) error {
	c, ok := i.Instance.(fluid.Caller)
	if !ok {
		return fmt.Errorf("wfn: this engine cannot call handler export %s of an ABI v2 guest", export)
	}
	return c.Call(ctx, export)
}

// fluidInstance is a v2 instance with its /tmp, emptied when it goes.
type fluidInstance struct {
	fluid.Instance
	tmp  string
	logs [2]*guestLog // stdout, stderr
}

// AttachLoop gives the instance's stdout and stderr the loop that serves
// it: a line written while one invocation is in flight carries its id.
func (i *fluidInstance) AttachLoop(l *fluid.Loop) {
	for _, g := range i.logs {
		g.loop = l
	}
}

func (i *fluidInstance) Close(ctx context.Context) error {
	return errors.Join(i.Instance.Close(ctx), os.RemoveAll(i.tmp))
}

// invokeFluid runs one invocation of a v2 function. It returns when the
// response is complete, with the tags the guest gave it for the CDN cache
// (cdn_add_cache_tag); the invocation may run on in its instance. It
// tells aw, when not nil, whether the instance was made for it (fresh).
func (h *Host) invokeFluid(w http.ResponseWriter, r *http.Request, fn *function, id string, params []hostcall.Param, aw *accessWriter) (tags []string) {
	defer h.inflight.Done()
	if r.ContentLength > hostcall.MaxRequestBody {
		writeError(w, r, http.StatusRequestEntityTooLarge, CodePayloadTooLarge, id, "The request body is larger than the limit of 4.5 MB.")
		return
	}
	deadline := time.Now().Add(fn.maxDuration)
	if r.ContentLength != 0 {
		rc := http.NewResponseController(w)
		_ = rc.EnableFullDuplex()
		_ = rc.SetReadDeadline(deadline)
	}
	// The request context the imports answer from (headers the guest
	// sees, client address, geolocation, outbound HTTP), as for version
	// 1; its outbound requests end with the invocation, at the latest at
	// its deadline.
	// Each invocation has a deadline context of its own: many share an
	// instance, so the instance's reusable one (version 1's) cannot serve.
	dc := new(dl.Context)
	rctx := &invocation{h: h, fn: fn, req: r, inv: &hostcall.Invocation{ID: id}, ctx: dc, run: dc.Start(deadline), deadline: deadline}
	err := fn.fluid.pool.Serve(w, r, fluid.Request{
		ID: id, Function: fn.src.Path, Params: params, Deadline: deadline, Cancel: fn.cancel, Ctx: rctx,
		OnPlaced: func(fresh bool) {
			if aw != nil {
				aw.fresh.Store(fresh)
			}
		},
		OnAbort: func(why int32) {
			if why != abi.AbortDeadline {
				// As version 1 counts them: the client left, or the
				// host shuts down; a deadline is a timeout.
				fn.counters.aborted.Add(1)
			}
			rctx.cancelOutbound()
		},
		OnBodyError: func(err error) {
			tooLarge := errors.Is(err, fluid.ErrBodyTooLarge)
			if tooLarge {
				err = nil
			}
			h.logClientBody(fn.src.Path, id, r, tooLarge, err, nil)
		},
		OnEnd: func() {
			rctx.cancel()
			rctx.outMu.Lock()
			if rctx.out != nil {
				rctx.out.Close()
			}
			rctx.outMu.Unlock()
		},
	})
	if err != nil {
		rctx.cancel()
	}
	switch {
	case errors.Is(err, fluid.ErrThrottled), errors.Is(err, fluid.ErrClosed):
		fn.counters.throttled.Add(1)
		writeThrottled(w, r, id)
	case err != nil && r.Context().Err() == nil:
		h.log.Error("cannot start instance", "fn", fn.src.Path, "id", id, "err", err)
		writeError(w, r, http.StatusInternalServerError, CodeInvocationFailed, id, "The function could not start.")
	}
	// Taken now, the tags of a cdn_add_cache_tag after the response
	// get ECLOSED, as in version 1.
	return rctx.takeTags()
}

// closeFluid closes a v2 function's instances, then its module.
func (fn *function) closeFluid() error {
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	err := fn.fluid.pool.Close(ctx)
	return errors.Join(err, fn.fluid.mod.Close(context.Background()))
}

// goTags are the build tags of a Go function: gobuild.TagFluid under
// "fluid": true, so that the SDK links its ABI v2 runtime and the function's
// unchanged code serves many invocations at once.
func goTags(fn *function) []string {
	if fn.fluidBuild {
		return []string{gobuild.TagFluid}
	}
	return nil
}
