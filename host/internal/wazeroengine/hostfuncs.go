package wazeroengine

import (
	"context"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"

	"github.com/wfn-dev/wfn/abi"
	"github.com/wfn-dev/wfn/host/internal/hostcall"
	"github.com/wfn-dev/wfn/host/internal/outbound"
)

// instantiateHostModule registers every import of hostcall.Table, in spec
// order, with the signature abi declares. A host function only finds the
// invocation the calling guest serves and encodes the result; the meaning
// is the table's. Its arguments are wazero's stack as it is (an i32 in the
// low 32 bits), and wazero's api.Memory is a hostcall.Memory.
//
// A bad pointer panics in the table with a *hostcall.BadPointerError,
// which wazero recovers and returns, wrapped, as the call's error.
func instantiateHostModule(ctx context.Context, rt wazero.Runtime) (api.Module, error) {
	b := rt.NewHostModuleBuilder(abi.Module)
	for _, imp := range hostcall.Table {
		call, name, i64, anywhere := imp.Call, imp.Name, imp.Result.Type == abi.I64, imp.Anywhere
		fn := api.GoModuleFunc(func(ctx context.Context, m api.Module, s []uint64) {
			r := int64(abi.EBADHANDLE)
			if st := current(ctx); st != nil && (st.inv != nil || anywhere) {
				r = call(st.inv, hostcall.Call{Mem: m.Memory(), Import: name, Args: s, Ctx: callerContext(ctx), Conns: st.conns})
			}
			if i64 {
				s[0] = api.EncodeI64(r)
			} else {
				s[0] = api.EncodeI32(int32(r))
			}
		})
		b.NewFunctionBuilder().
			WithGoModuleFunction(fn, valueTypes(imp.ParamTypes()), valueTypes([]abi.Type{imp.Result.Type})).
			WithParameterNames(imp.ParamNames()...).
			Export(imp.Name)
	}
	return b.Instantiate(ctx)
}

// callerContext is the context the host's call into the guest was given:
// what ctx wraps when it is the instance's reused callCtx. An import may
// derive contexts from it (a TCP dial) that outlive the call by a moment,
// as context's cancel propagation does, and the callCtx is cleared and
// reused when the call returns.
func callerContext(ctx context.Context) context.Context {
	if c, ok := ctx.(*callCtx); ok {
		return c.Context
	}
	return ctx
}

// valueTypes converts abi's types to wazero's, which are the same bytes
// of the binary format.
func valueTypes(ts []abi.Type) []api.ValueType {
	vs := make([]api.ValueType, len(ts))
	for i, t := range ts {
		vs[i] = api.ValueType(t)
	}
	return vs
}

// callState is what a host function finds of the instance that calls it:
// the invocation it serves (nil in an out-of-band call: _initialize,
// wfn_init, wfn_on_suspend, wfn_on_sigterm) and its TCP connections. One
// per instance, in the context of each call into it.
type callState struct {
	inv   *hostcall.Invocation
	conns *outbound.Conns
}

type callStateKey struct{}

// current is the state of the calling instance, or nil.
func current(ctx context.Context) *callState {
	st, _ := ctx.Value(callStateKey{}).(*callState)
	return st
}
