package fluid

import (
	"github.com/wfn-dev/wfn/abi"
	"github.com/wfn-dev/wfn/host/internal/hostcall"
	"github.com/wfn-dev/wfn/host/internal/outbound"
)

// The outbound TCP imports of version 2 (abi/SPEC-v2.md section 8), over
// the instance's outbound.Conns: version 1's table, policy and limit,
// without waits. A call that would wait returns EAGAIN and an EventReady
// with the handle follows. inv 0 names the instance (a goroutine of the
// guest that serves no invocation, such as a pool's background work): its
// calls reach only the instance's connections.

// tcpOp is a directional readiness, so that a read and a write waiting on
// one handle have a watcher each.
type tcpOp int32

const (
	tcpOpRead tcpOp = iota
	tcpOpWrite
)

// withConns gives f the instance's connections; an instance without
// (no Pool.Conns) answers EIO.
func withConns(f func(inv *Invocation, cs *outbound.Conns, c hostcall.Call) int64) Func {
	return func(inv *Invocation, c hostcall.Call) int64 {
		cs := inv.l.conns
		if cs == nil {
			return int64(abi.EIO)
		}
		return f(inv, cs, c)
	}
}

// tcpWait turns a call's answer into the import's result: on EAGAIN it
// posts an EventReady for h when ready closes (once per handle and
// direction); an aborted invocation gets ECANCELED instead of a wait.
func (inv *Invocation) tcpWait(h int32, op tcpOp, n int32, ready <-chan struct{}) int64 {
	if n != int32(abi.EAGAIN) {
		return int64(n)
	}
	if inv.aborted.Load() {
		return int64(abi.ECANCELED)
	}
	key := [2]int32{h, int32(op)}
	inv.mu.Lock()
	if inv.tcpWatching[key] {
		inv.mu.Unlock()
		return int64(abi.EAGAIN)
	}
	if inv.tcpWatching == nil {
		inv.tcpWatching = map[[2]int32]bool{}
	}
	inv.tcpWatching[key] = true
	inv.mu.Unlock()
	go func() {
		select {
		case <-ready:
		case <-inv.over:
		case <-inv.l.dead:
		}
		inv.mu.Lock()
		delete(inv.tcpWatching, key)
		inv.mu.Unlock()
		inv.l.q.post(abi.EventReady, inv.id, h, 0)
	}()
	return int64(abi.EAGAIN)
}

var tcpFuncs = map[string]Func{
	abi.ImportTCPConnect: withConns(func(inv *Invocation, cs *outbound.Conns, c hostcall.Call) int64 {
		// As in version 1, a dial after the abort runs as any other.
		flags := int32(uint32(c.Args[3]))
		// The invocation's own connections close at its abort, which
		// its deadline brings also after its response
		// (Pool.expireAfterResponse), and at its end.
		return int64(cs.StartConnect(inv.id, inv.req.ID, string(view(c, 1)), flags))
	}),
	abi.ImportTCPRead: withConns(func(inv *Invocation, cs *outbound.Conns, c hostcall.Call) int64 {
		h := int32(uint32(c.Args[1]))
		n, ready := cs.TryRead(inv.id, h, view(c, 2))
		return inv.tcpWait(h, tcpOpRead, n, ready)
	}),
	abi.ImportTCPWrite: withConns(func(inv *Invocation, cs *outbound.Conns, c hostcall.Call) int64 {
		h := int32(uint32(c.Args[1]))
		n, ready := cs.TryWrite(inv.id, h, view(c, 2))
		return inv.tcpWait(h, tcpOpWrite, n, ready)
	}),
	abi.ImportTCPCloseWrite: withConns(func(inv *Invocation, cs *outbound.Conns, c hostcall.Call) int64 {
		return int64(cs.CloseWriteAsync(inv.id, int32(uint32(c.Args[1]))))
	}),
	abi.ImportTCPClose: withConns(func(inv *Invocation, cs *outbound.Conns, c hostcall.Call) int64 {
		return int64(cs.CloseAsync(inv.id, int32(uint32(c.Args[1]))))
	}),
	abi.ImportTCPRemoteAddress: withConns(func(inv *Invocation, cs *outbound.Conns, c hostcall.Call) int64 {
		h := int32(uint32(c.Args[1]))
		addr, e, ready := cs.RemoteAddressAsync(inv.id, h)
		if e != 0 {
			return inv.tcpWait(h, tcpOpWrite, int32(e), ready)
		}
		return put(c, 2, addr)
	}),
}

// instanceImports are the imports that take inv 0 for the instance.
var instanceImports = map[string]bool{
	abi.ImportTCPConnect: true, abi.ImportTCPRead: true, abi.ImportTCPWrite: true,
	abi.ImportTCPCloseWrite: true, abi.ImportTCPClose: true, abi.ImportTCPRemoteAddress: true,
}
