package fluid

import (
	"encoding/binary"

	"github.com/wfn-dev/wfn/abi"
	"github.com/wfn-dev/wfn/host/internal/hostcall"
)

// The cache and CDN imports of version 2 (abi/SPEC-v2.md section 9). A
// store may be remote (Redis) and a file store reads the disk, so no call
// runs on the guest's goroutine: the first call starts the operation on a
// goroutine of its own and returns EAGAIN; when it is done the host posts
// an EventReady with abi.HandleCache, and the guest's identical call
// returns the result. cdn_add_cache_tag only records tags, and answers at
// once.

// maxCacheOps bounds the operations one invocation has started and not
// collected: past it a call that would start another gets ETOOLARGE.
const maxCacheOps = 64

// cacheOp is one operation started for an invocation.
type cacheOp struct {
	done  chan struct{}
	value []byte // cache_get's, once done
	errno abi.Errno
}

// cacheCall is a cache import whose operation is op over the arguments
// that key copies out of guest memory (the call's inputs, never its
// output buffer). op runs on a goroutine of its own, after the call has
// returned: it must not touch guest memory. collect turns the finished
// operation into the call's result; it reports false when the guest must
// call again (a value longer than its buffer), keeping the result.
func cacheCall(name string, key func(c hostcall.Call) (args []byte, op func(inv *Invocation) ([]byte, abi.Errno)),
	collect func(c hostcall.Call, o *cacheOp) (int64, bool)) Func {
	return func(inv *Invocation, c hostcall.Call) int64 {
		args, op := key(c)
		k := name + "\x00" + string(args)
		inv.mu.Lock()
		o := inv.cacheOps[k]
		if o == nil {
			if len(inv.cacheOps) >= maxCacheOps {
				inv.mu.Unlock()
				return int64(abi.ETOOLARGE)
			}
			if inv.cacheOps == nil {
				inv.cacheOps = map[string]*cacheOp{}
			}
			o = &cacheOp{done: make(chan struct{})}
			inv.cacheOps[k] = o
			inv.mu.Unlock()
			go func() {
				o.value, o.errno = op(inv)
				close(o.done)
				inv.l.q.post(abi.EventReady, inv.id, abi.HandleCache, 0)
			}()
			return int64(abi.EAGAIN)
		}
		inv.mu.Unlock()
		select {
		case <-o.done:
		default:
			return int64(abi.EAGAIN)
		}
		n, collected := collect(c, o)
		if collected {
			inv.mu.Lock()
			delete(inv.cacheOps, k)
			inv.mu.Unlock()
		}
		return n
	}
}

// errnoResult is collect for the imports that return 0 or an error.
func errnoResult(_ hostcall.Call, o *cacheOp) (int64, bool) { return int64(o.errno), true }

// bytesArgs joins arguments for a key: each length-prefixed, so that two
// calls with other arguments never share one.
func bytesArgs(parts ...[]byte) []byte {
	var b []byte
	for _, p := range parts {
		b = binary.LittleEndian.AppendUint32(b, uint32(len(p)))
		b = append(b, p...)
	}
	return b
}

func i64Arg(c hostcall.Call, i int) []byte {
	return binary.LittleEndian.AppendUint64(nil, c.Args[i])
}

// tagsOp is a CDN or cache import over one tag list at arguments 1 and 2.
func tagsOp(name string, op func(req *hostcall.Invocation, tags []byte) abi.Errno) Func {
	return cacheCall(name, func(c hostcall.Call) ([]byte, func(*Invocation) ([]byte, abi.Errno)) {
		tags := string(view(c, 1))
		return []byte(tags), func(inv *Invocation) ([]byte, abi.Errno) { return nil, op(&inv.req, []byte(tags)) }
	}, errnoResult)
}

// cacheFuncs are the imports of section 9, beside funcs in Table.
var cacheFuncs = map[string]Func{
	abi.ImportCacheGet: cacheCall(abi.ImportCacheGet, func(c hostcall.Call) ([]byte, func(*Invocation) ([]byte, abi.Errno)) {
		key := string(view(c, 1))
		return []byte(key), func(inv *Invocation) ([]byte, abi.Errno) { return inv.req.CacheGet([]byte(key)) }
	}, func(c hostcall.Call, o *cacheOp) (int64, bool) {
		if o.errno != 0 {
			return int64(o.errno), true
		}
		n := put(c, 3, o.value)
		return n, int(n) <= len(view(c, 3))
	}),
	abi.ImportCacheSet: cacheCall(abi.ImportCacheSet, func(c hostcall.Call) ([]byte, func(*Invocation) ([]byte, abi.Errno)) {
		key, value, tags, name := string(view(c, 1)), string(view(c, 3)), string(view(c, 6)), string(view(c, 8))
		ttl := int64(c.Args[5])
		args := bytesArgs([]byte(key), []byte(value), i64Arg(c, 5), []byte(tags), []byte(name))
		return args, func(inv *Invocation) ([]byte, abi.Errno) {
			return nil, inv.req.CacheSet([]byte(key), []byte(value), ttl, []byte(tags), []byte(name))
		}
	}, errnoResult),
	abi.ImportCacheDelete: cacheCall(abi.ImportCacheDelete, func(c hostcall.Call) ([]byte, func(*Invocation) ([]byte, abi.Errno)) {
		key := string(view(c, 1))
		return []byte(key), func(inv *Invocation) ([]byte, abi.Errno) { return nil, inv.req.CacheDelete([]byte(key)) }
	}, errnoResult),
	abi.ImportCacheExpireTag:          tagsOp(abi.ImportCacheExpireTag, (*hostcall.Invocation).CacheExpireTag),
	abi.ImportCDNInvalidateByTag:      tagsOp(abi.ImportCDNInvalidateByTag, (*hostcall.Invocation).CDNInvalidateByTag),
	abi.ImportCDNInvalidateBySrcImage: tagsOp(abi.ImportCDNInvalidateBySrcImage, (*hostcall.Invocation).CDNInvalidateBySrcImage),
	abi.ImportCDNDeleteByTag:          cacheCall(abi.ImportCDNDeleteByTag, deleteArgs((*hostcall.Invocation).CDNDeleteByTag), errnoResult),
	abi.ImportCDNDeleteBySrcImage:     cacheCall(abi.ImportCDNDeleteBySrcImage, deleteArgs((*hostcall.Invocation).CDNDeleteBySrcImage), errnoResult),
	// It only records tags on the response: no store is asked.
	abi.ImportCDNAddCacheTag: func(inv *Invocation, c hostcall.Call) int64 {
		return int64(inv.req.CDNAddCacheTag(view(c, 1)))
	},
}

// deleteArgs is the key of the dangerous deletes: a list or a source at
// arguments 1 and 2, and a revalidation deadline in seconds at 3.
func deleteArgs(op func(req *hostcall.Invocation, v []byte, deadline int64) abi.Errno) func(c hostcall.Call) ([]byte, func(*Invocation) ([]byte, abi.Errno)) {
	return func(c hostcall.Call) ([]byte, func(*Invocation) ([]byte, abi.Errno)) {
		v := string(view(c, 1))
		deadline := int64(c.Args[3])
		return bytesArgs([]byte(v), i64Arg(c, 3)), func(inv *Invocation) ([]byte, abi.Errno) {
			return nil, op(&inv.req, []byte(v), deadline)
		}
	}
}
