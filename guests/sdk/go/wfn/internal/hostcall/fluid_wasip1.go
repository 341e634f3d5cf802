//go:build wasip1 && wfn_fluid

package hostcall

// The ABI version 2 runtime (abi/SPEC-v2.md), linked instead of version 1's
// imports when the function is built with the build tag wfn_fluid (wfn's
// Go build adds it for a function configured with "fluid": true). It gives
// the SDK's packages the same functions as version 1, so that user code
// does not change: each runs the version 2 import for the invocation of
// the calling goroutine, and where version 2 answers EAGAIN it parks that
// goroutine until the host's EventReady and calls again, so that the call
// waits as version 1's does while the other invocations run.

import (
	"context"
	"encoding/binary"
	"fmt"
	"os"
	"runtime"
	"sync"
	"time"
	"unsafe"
)

// Constants of abi/v2.go and abi/abi.go, restated: the SDK links nothing of
// the host's.
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
	handleCache        = -3

	ecanceled  = -5
	ebadhandle = -7
	eio        = -8
	etimedout  = -10
	eagain     = -11
)

//go:wasmexport wfn_abi_v2
func abiV2() {}

// serve is the serving export: the host calls it once per instance, and the
// guest runs every invocation inside it. When every goroutine waits, Go's
// scheduler blocks in poll_oneoff on the event source, where the host
// wakes it.
//
//go:wasmexport wfn_serve
func serve() {
	events := os.NewFile(eventFD, "wfn-events")
	stop := make(chan struct{})
	go dispatch(events, stop)
	<-stop
}

func dispatch(events *os.File, stop chan struct{}) {
	var stopOnce sync.Once
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
			value := int32(binary.LittleEndian.Uint32(rec[12:]))
			switch kind {
			case eventInvoke:
				newInv(id, nil).start()
			case eventReady, eventAbort:
				i := byIDLookup(id)
				if id == 0 && kind == eventReady {
					i = self
				}
				switch {
				case i == nil:
				case kind == eventAbort:
					i.abort(value)
				default:
					i.wake(handle)
				}
			case eventSigterm:
				go func() {
					if f := Exports.OnSigterm; f != nil {
						f()
					}
					// The instance goes within 500 ms: the attached
					// pools' idle connections close cleanly first.
					if f := Exports.OnSuspend; f != nil {
						f()
					}
				}()
			case eventStop:
				// The instance is idle and goes: the attached pools'
				// idle connections close first (their TCP calls need
				// this loop for their EventReady records), then
				// wfn_serve returns.
				stopOnce.Do(func() {
					go func() {
						if f := Exports.OnSuspend; f != nil {
							f()
						}
						close(stop)
					}()
				})
			}
		}
	}
}

func (i *inv) log(level uint32, line string) {
	logLine(i.id, level, unsafe.Pointer(unsafe.StringData(line)), uint32(len(line)))
}

// invSys is what the WebAssembly runtime keeps with an invocation.
type invSys struct {
	ready map[int32]chan struct{} // a token when the handle may make progress; made at the first wait
}

// endSys tells the host that the invocation ended (invocation_end).
func (i *inv) endSys() { invocationEnd(i.id) }

func (i *inv) channel(h int32) chan struct{} {
	i.mu.Lock()
	defer i.mu.Unlock()
	ch := i.sys.ready[h]
	if ch == nil {
		if i.sys.ready == nil {
			i.sys.ready = make(map[int32]chan struct{}, 1)
		}
		ch = make(chan struct{}, 1)
		i.sys.ready[h] = ch
	}
	return ch
}

func (i *inv) wake(h int32) {
	select {
	case i.channel(h) <- struct{}{}:
	default:
	}
}

// again runs call until it answers something else than EAGAIN, parking
// the goroutine on the handle's EventReady in between. An abort ends the
// wait with ECANCELED when cancellable (the waits version 1 cancels: body
// reads and writes, outbound HTTP); a cache call waits for its result.
func (i *inv) again(h int32, cancellable bool, call func() int32) int32 {
	for {
		n := call()
		if n != eagain {
			return n
		}
		var done <-chan struct{}
		if cancellable {
			done = i.context().Done()
		}
		select {
		case <-i.channel(h):
		case <-done:
			return ecanceled
		}
	}
}

// Log writes one log line of the calling goroutine's invocation with the
// log import, which the host logs with the request id: level 0 info, 1
// warn, 2 error. Outside an invocation it goes to standard error.
func Log(level uint32, line string) {
	if i := current(); i != nil {
		i.log(level, line)
		return
	}
	fmt.Fprintln(os.Stderr, line)
}

// RegisteringExport returns the name of the handler export ("GET", ...,
// "wfn_handle") whose registration call the host is making, or "" when
// it makes none (registering_export, abi/SPEC-v2.md section 2). Inside an
// invocation it is "" without asking the host.
func RegisteringExport() string {
	if current() != nil {
		return ""
	}
	var buf [32]byte
	n := registeringExport(bytesPtr(buf[:]), uint32(len(buf)))
	if n <= 0 || int(n) > len(buf) {
		return ""
	}
	return string(buf[:n])
}

// Install panics: in WebAssembly the host is the real one.
func Install(Host) { panic("wfn: hostcall.Install is not available in WebAssembly") }

// InstallIdle does nothing: in WebAssembly the host is the real one.
func InstallIdle(Host) {}

func bytesPtr(b []byte) unsafe.Pointer  { return unsafe.Pointer(unsafe.SliceData(b)) }
func stringPtr(s string) unsafe.Pointer { return unsafe.Pointer(unsafe.StringData(s)) }

// RequestMethod calls request_method.
func RequestMethod(buf []byte) int32 {
	return with(func(i *inv) int32 { return requestMethod(i.id, bytesPtr(buf), uint32(len(buf))) })
}

// RequestURL calls request_url.
func RequestURL(buf []byte) int32 {
	return with(func(i *inv) int32 { return requestURL(i.id, bytesPtr(buf), uint32(len(buf))) })
}

// RequestHeaderNames calls request_header_names.
func RequestHeaderNames(buf []byte) int32 {
	return with(func(i *inv) int32 { return requestHeaderNames(i.id, bytesPtr(buf), uint32(len(buf))) })
}

// RequestHeader calls request_header.
func RequestHeader(name string, buf []byte) int32 {
	return with(func(i *inv) int32 {
		return requestHeader(i.id, stringPtr(name), uint32(len(name)), bytesPtr(buf), uint32(len(buf)))
	})
}

// RequestParam calls request_param.
func RequestParam(name string, buf []byte) int32 {
	return with(func(i *inv) int32 {
		return requestParam(i.id, stringPtr(name), uint32(len(name)), bytesPtr(buf), uint32(len(buf)))
	})
}

// RequestBodyRead calls request_body_read, waiting for bytes.
func RequestBodyRead(buf []byte) int32 {
	return with(func(i *inv) int32 {
		return i.again(handleRequestBody, true, func() int32 { return requestBodyRead(i.id, bytesPtr(buf), uint32(len(buf))) })
	})
}

// ResponseSetStatus calls response_set_status.
func ResponseSetStatus(code int32) int32 {
	return with(func(i *inv) int32 { return responseSetStatus(i.id, code) })
}

// ResponseHeaderSet calls response_header_set.
func ResponseHeaderSet(name, value string) int32 {
	return with(func(i *inv) int32 {
		return responseHeaderSet(i.id, stringPtr(name), uint32(len(name)), stringPtr(value), uint32(len(value)))
	})
}

// ResponseHeaderAdd calls response_header_add.
func ResponseHeaderAdd(name, value string) int32 {
	return with(func(i *inv) int32 {
		return responseHeaderAdd(i.id, stringPtr(name), uint32(len(name)), stringPtr(value), uint32(len(value)))
	})
}

// ResponseHeaderDelete calls response_header_delete.
func ResponseHeaderDelete(name string) int32 {
	return with(func(i *inv) int32 { return responseHeaderDelete(i.id, stringPtr(name), uint32(len(name))) })
}

// ResponseBodyWrite calls response_body_write until it has taken every
// byte, as version 1's does, waiting while the client is slow.
func ResponseBodyWrite(p []byte) int32 { return write(bytesPtr(p), len(p)) }

// ResponseBodyWriteString is ResponseBodyWrite for the bytes of s.
func ResponseBodyWriteString(s string) int32 { return write(stringPtr(s), len(s)) }

func write(p unsafe.Pointer, n int) int32 {
	return with(func(i *inv) int32 {
		done := 0
		for {
			m := i.again(handleResponseBody, true, func() int32 {
				return responseBodyWrite(i.id, unsafe.Add(p, done), uint32(n-done))
			})
			if m < 0 {
				return m
			}
			if done += int(m); done >= n {
				return int32(done)
			}
		}
	})
}

// ResponseFlush calls response_flush.
func ResponseFlush() int32 { return with(func(i *inv) int32 { return responseFlush(i.id) }) }

// ResponseClose calls response_close.
func ResponseClose() int32 { return with(func(i *inv) int32 { return responseClose(i.id) }) }

// AbortSignaled calls abort_signaled.
func AbortSignaled() int32 { return with(func(i *inv) int32 { return abortSignaled(i.id) }) }

// WaitUntil answers EBADHANDLE: version 2 has no wait_until; package wfn
// runs tasks as goroutines of the invocation.
func WaitUntil(int32) int32 { return ebadhandle }

// DeadlineRemainingMs calls deadline_remaining_ms; -1 outside an
// invocation.
func DeadlineRemainingMs() int64 {
	i := current()
	if i == nil {
		return -1
	}
	return deadlineRemainingMs(i.id)
}

// ProcExit fails the calling goroutine's invocation, and only it, where
// version 1 ends the instance: the host answers 500 or cuts the response
// (response_abort), the invocation ends, and so does the calling goroutine
// (runtime.Goexit, which runs its deferred calls). Outside an invocation
// it ends the instance with WASI's proc_exit, through os.Exit.
func ProcExit(code int32) {
	i := current()
	if i == nil {
		os.Exit(int(code))
	}
	responseAbort(i.id)
	i.end()
	runtime.Goexit()
}

// IPAddress calls ip_address.
func IPAddress(buf []byte) int32 {
	return with(func(i *inv) int32 { return ipAddress(i.id, bytesPtr(buf), uint32(len(buf))) })
}

// Geolocation calls geolocation.
func Geolocation(buf []byte) int32 {
	return with(func(i *inv) int32 { return geolocation(i.id, bytesPtr(buf), uint32(len(buf))) })
}

// HTTPSend calls http_send; headers are name NUL value NUL pairs.
func HTTPSend(method, url string, headers, body []byte) int32 {
	return with(func(i *inv) int32 {
		return httpSend(i.id, stringPtr(method), uint32(len(method)), stringPtr(url), uint32(len(url)),
			bytesPtr(headers), uint32(len(headers)), bytesPtr(body), uint32(len(body)))
	})
}

// HTTPResponseStatus calls http_response_status, waiting for the head.
func HTTPResponseStatus(h int32) int32 {
	return with(func(i *inv) int32 {
		return i.again(h, true, func() int32 { return httpResponseStatus(i.id, h) })
	})
}

// HTTPResponseHeaderNames calls http_response_header_names.
func HTTPResponseHeaderNames(h int32, buf []byte) int32 {
	return with(func(i *inv) int32 {
		return i.again(h, true, func() int32 { return httpResponseHeaderNames(i.id, h, bytesPtr(buf), uint32(len(buf))) })
	})
}

// HTTPResponseHeader calls http_response_header.
func HTTPResponseHeader(h int32, name string, buf []byte) int32 {
	return with(func(i *inv) int32 {
		return i.again(h, true, func() int32 {
			return httpResponseHeader(i.id, h, stringPtr(name), uint32(len(name)), bytesPtr(buf), uint32(len(buf)))
		})
	})
}

// HTTPResponseBodyRead calls http_response_body_read, waiting for bytes.
func HTTPResponseBodyRead(h int32, buf []byte) int32 {
	return with(func(i *inv) int32 {
		return i.again(h, true, func() int32 { return httpResponseBodyRead(i.id, h, bytesPtr(buf), uint32(len(buf))) })
	})
}

// HTTPClose calls http_close.
func HTTPClose(h int32) int32 { return with(func(i *inv) int32 { return httpClose(i.id, h) }) }

// cache runs a cache or CDN import, repeating it after the host's
// EventReady for the cache while it answers EAGAIN.
func cache(call func(id uint32) int32) int32 {
	return with(func(i *inv) int32 { return i.again(handleCache, false, func() int32 { return call(i.id) }) })
}

// CacheGet calls cache_get.
func CacheGet(key string, buf []byte) int32 {
	return cache(func(id uint32) int32 {
		return cacheGet(id, stringPtr(key), uint32(len(key)), bytesPtr(buf), uint32(len(buf)))
	})
}

// CacheSet calls cache_set; tags are joined with commas.
func CacheSet(key string, value []byte, ttlSeconds int64, tags []byte, name string) int32 {
	return cache(func(id uint32) int32 {
		return cacheSet(id, stringPtr(key), uint32(len(key)), bytesPtr(value), uint32(len(value)), ttlSeconds,
			bytesPtr(tags), uint32(len(tags)), stringPtr(name), uint32(len(name)))
	})
}

// CacheDelete calls cache_delete.
func CacheDelete(key string) int32 {
	return cache(func(id uint32) int32 { return cacheDelete(id, stringPtr(key), uint32(len(key))) })
}

// CacheExpireTag calls cache_expire_tag.
func CacheExpireTag(tags []byte) int32 {
	return cache(func(id uint32) int32 { return cacheExpireTag(id, bytesPtr(tags), uint32(len(tags))) })
}

// CDNAddCacheTag calls cdn_add_cache_tag.
func CDNAddCacheTag(tags []byte) int32 {
	return cache(func(id uint32) int32 { return cdnAddCacheTag(id, bytesPtr(tags), uint32(len(tags))) })
}

// CDNInvalidateByTag calls cdn_invalidate_by_tag.
func CDNInvalidateByTag(tags []byte) int32 {
	return cache(func(id uint32) int32 { return cdnInvalidateByTag(id, bytesPtr(tags), uint32(len(tags))) })
}

// CDNDeleteByTag calls cdn_delete_by_tag.
func CDNDeleteByTag(tags []byte, revalidationDeadlineSeconds int64) int32 {
	return cache(func(id uint32) int32 {
		return cdnDeleteByTag(id, bytesPtr(tags), uint32(len(tags)), revalidationDeadlineSeconds)
	})
}

// CDNInvalidateBySrcImage calls cdn_invalidate_by_src_image.
func CDNInvalidateBySrcImage(src string) int32 {
	return cache(func(id uint32) int32 { return cdnInvalidateBySrcImage(id, stringPtr(src), uint32(len(src))) })
}

// CDNDeleteBySrcImage calls cdn_delete_by_src_image.
func CDNDeleteBySrcImage(src string, revalidationDeadlineSeconds int64) int32 {
	return cache(func(id uint32) int32 {
		return cdnDeleteBySrcImage(id, stringPtr(src), uint32(len(src)), revalidationDeadlineSeconds)
	})
}

// The TCP imports of version 2 (abi/SPEC-v2.md section 8) answer EAGAIN
// where version 1's wait: these functions keep version 1's contract
// (timeoutMs bounds the wait, -1 none, 0 no wait; ETIMEDOUT when it
// passes) by waiting for the handle's EventReady with the guest's own
// timer, so that package wfnnet runs unchanged while the other
// invocations run. A goroutine that serves no invocation (a pool's
// background work, an attached pool released at the stop) calls for the
// instance (inv 0), which reaches the instance's connections.

// self is the instance, for the TCP imports of goroutines outside an
// invocation: its EventReady records have inv 0.
var self = &inv{ctx: context.Background()}

// tcpWith runs f with the calling goroutine's invocation, or the instance.
func tcpWith(f func(i *inv) int32) int32 {
	i := current()
	if i == nil {
		i = self
	}
	return f(i)
}

// tcpAgain runs call until it answers something else than EAGAIN, waiting
// in between for the EventReady of handle h, at most timeoutMs in all
// (ETIMEDOUT then). An abort of the invocation ends the wait with
// ECANCELED; its end moves the call to the instance (a goroutine that
// outlives its invocation, on an instance connection).
func (i *inv) tcpAgain(h int32, timeoutMs int64, call func(id uint32) int32) int32 {
	var expired <-chan time.Time
	if timeoutMs > 0 {
		t := time.NewTimer(time.Duration(timeoutMs) * time.Millisecond)
		defer t.Stop()
		expired = t.C
	}
	ctx := i.context()
	for {
		n := call(i.id)
		if n != eagain {
			return n
		}
		if timeoutMs == 0 {
			return etimedout
		}
		select {
		case <-i.channel(h):
		case <-expired:
			return etimedout
		case <-ctx.Done():
			if context.Cause(ctx) != context.Canceled {
				return ecanceled // aborted, by the client, the deadline or the shutdown
			}
			i = self // ended
			ctx = i.ctx
		}
	}
}

// TCPConnect calls tcp_connect, then waits until the connection is
// established (a write of no bytes answers EAGAIN while the host dials,
// then 0 or the dial's error), as version 1's tcp_connect does.
func TCPConnect(addr string, flags int32, timeoutMs int64) int32 {
	return tcpWith(func(i *inv) int32 {
		h := tcpConnect(i.id, stringPtr(addr), uint32(len(addr)), flags)
		if h <= 0 {
			return h
		}
		id := i.id
		if n := i.tcpAgain(h, timeoutMs, func(id uint32) int32 { return tcpWrite(id, h, nil, 0) }); n < 0 {
			tcpClose(id, h)
			return n
		}
		return h
	})
}

// TCPRead calls tcp_read, waiting at most timeoutMs for bytes.
func TCPRead(h int32, buf []byte, timeoutMs int64) int32 {
	return tcpWith(func(i *inv) int32 {
		return i.tcpAgain(h, timeoutMs, func(id uint32) int32 { return tcpRead(id, h, bytesPtr(buf), uint32(len(buf))) })
	})
}

// TCPWrite calls tcp_write, waiting at most timeoutMs for the host to
// take bytes.
func TCPWrite(h int32, buf []byte, timeoutMs int64) int32 {
	return tcpWith(func(i *inv) int32 {
		return i.tcpAgain(h, timeoutMs, func(id uint32) int32 { return tcpWrite(id, h, bytesPtr(buf), uint32(len(buf))) })
	})
}

// TCPCloseWrite calls tcp_close_write.
func TCPCloseWrite(h int32) int32 {
	return tcpWith(func(i *inv) int32 { return tcpCloseWrite(i.id, h) })
}

// TCPClose calls tcp_close.
func TCPClose(h int32) int32 { return tcpWith(func(i *inv) int32 { return tcpClose(i.id, h) }) }

// TCPRemoteAddress calls tcp_remote_address, waiting while the host dials.
func TCPRemoteAddress(h int32, buf []byte) int32 {
	return tcpWith(func(i *inv) int32 {
		return i.tcpAgain(h, -1, func(id uint32) int32 { return tcpRemoteAddress(id, h, bytesPtr(buf), uint32(len(buf))) })
	})
}

// The raw imports of module wfn_v2 (abi.FuncsV2), each taking the
// invocation id first. Pointers are i32 offsets into linear memory.

//go:wasmimport wfn_v2 invocation_end
func invocationEnd(inv uint32) int32

//go:wasmimport wfn_v2 log
//go:noescape
func logLine(inv uint32, level uint32, buf unsafe.Pointer, n uint32) int32

//go:wasmimport wfn_v2 registering_export
//go:noescape
func registeringExport(buf unsafe.Pointer, bufCap uint32) int32

//go:wasmimport wfn_v2 response_abort
func responseAbort(inv uint32) int32

//go:wasmimport wfn_v2 request_method
//go:noescape
func requestMethod(inv uint32, buf unsafe.Pointer, bufCap uint32) int32

//go:wasmimport wfn_v2 request_url
//go:noescape
func requestURL(inv uint32, buf unsafe.Pointer, bufCap uint32) int32

//go:wasmimport wfn_v2 request_header_names
//go:noescape
func requestHeaderNames(inv uint32, buf unsafe.Pointer, bufCap uint32) int32

//go:wasmimport wfn_v2 request_header
//go:noescape
func requestHeader(inv uint32, name unsafe.Pointer, nameLen uint32, buf unsafe.Pointer, bufCap uint32) int32

//go:wasmimport wfn_v2 request_param
//go:noescape
func requestParam(inv uint32, name unsafe.Pointer, nameLen uint32, buf unsafe.Pointer, bufCap uint32) int32

//go:wasmimport wfn_v2 request_body_read
//go:noescape
func requestBodyRead(inv uint32, buf unsafe.Pointer, bufCap uint32) int32

//go:wasmimport wfn_v2 response_set_status
func responseSetStatus(inv uint32, code int32) int32

//go:wasmimport wfn_v2 response_header_set
//go:noescape
func responseHeaderSet(inv uint32, name unsafe.Pointer, nameLen uint32, value unsafe.Pointer, valueLen uint32) int32

//go:wasmimport wfn_v2 response_header_add
//go:noescape
func responseHeaderAdd(inv uint32, name unsafe.Pointer, nameLen uint32, value unsafe.Pointer, valueLen uint32) int32

//go:wasmimport wfn_v2 response_header_delete
//go:noescape
func responseHeaderDelete(inv uint32, name unsafe.Pointer, nameLen uint32) int32

//go:wasmimport wfn_v2 response_body_write
//go:noescape
func responseBodyWrite(inv uint32, buf unsafe.Pointer, bufLen uint32) int32

//go:wasmimport wfn_v2 response_flush
func responseFlush(inv uint32) int32

//go:wasmimport wfn_v2 response_close
func responseClose(inv uint32) int32

//go:wasmimport wfn_v2 abort_signaled
func abortSignaled(inv uint32) int32

//go:wasmimport wfn_v2 deadline_remaining_ms
func deadlineRemainingMs(inv uint32) int64

//go:wasmimport wfn_v2 ip_address
//go:noescape
func ipAddress(inv uint32, buf unsafe.Pointer, bufCap uint32) int32

//go:wasmimport wfn_v2 geolocation
//go:noescape
func geolocation(inv uint32, buf unsafe.Pointer, bufCap uint32) int32

//go:wasmimport wfn_v2 http_send
//go:noescape
func httpSend(inv uint32, method unsafe.Pointer, methodLen uint32, url unsafe.Pointer, urlLen uint32, headers unsafe.Pointer, headersLen uint32, body unsafe.Pointer, bodyLen uint32) int32

//go:wasmimport wfn_v2 http_response_status
func httpResponseStatus(inv uint32, h int32) int32

//go:wasmimport wfn_v2 http_response_header_names
//go:noescape
func httpResponseHeaderNames(inv uint32, h int32, buf unsafe.Pointer, bufCap uint32) int32

//go:wasmimport wfn_v2 http_response_header
//go:noescape
func httpResponseHeader(inv uint32, h int32, name unsafe.Pointer, nameLen uint32, buf unsafe.Pointer, bufCap uint32) int32

//go:wasmimport wfn_v2 http_response_body_read
//go:noescape
func httpResponseBodyRead(inv uint32, h int32, buf unsafe.Pointer, bufCap uint32) int32

//go:wasmimport wfn_v2 http_close
func httpClose(inv uint32, h int32) int32

//go:wasmimport wfn_v2 cache_get
//go:noescape
func cacheGet(inv uint32, key unsafe.Pointer, keyLen uint32, buf unsafe.Pointer, bufCap uint32) int32

//go:wasmimport wfn_v2 cache_set
//go:noescape
func cacheSet(inv uint32, key unsafe.Pointer, keyLen uint32, value unsafe.Pointer, valueLen uint32, ttlSeconds int64, tags unsafe.Pointer, tagsLen uint32, name unsafe.Pointer, nameLen uint32) int32

//go:wasmimport wfn_v2 cache_delete
//go:noescape
func cacheDelete(inv uint32, key unsafe.Pointer, keyLen uint32) int32

//go:wasmimport wfn_v2 cache_expire_tag
//go:noescape
func cacheExpireTag(inv uint32, tags unsafe.Pointer, tagsLen uint32) int32

//go:wasmimport wfn_v2 cdn_add_cache_tag
//go:noescape
func cdnAddCacheTag(inv uint32, tags unsafe.Pointer, tagsLen uint32) int32

//go:wasmimport wfn_v2 cdn_invalidate_by_tag
//go:noescape
func cdnInvalidateByTag(inv uint32, tags unsafe.Pointer, tagsLen uint32) int32

//go:wasmimport wfn_v2 cdn_delete_by_tag
//go:noescape
func cdnDeleteByTag(inv uint32, tags unsafe.Pointer, tagsLen uint32, revalidationDeadlineSeconds int64) int32

//go:wasmimport wfn_v2 cdn_invalidate_by_src_image
//go:noescape
func cdnInvalidateBySrcImage(inv uint32, src unsafe.Pointer, srcLen uint32) int32

//go:wasmimport wfn_v2 cdn_delete_by_src_image
//go:noescape
func cdnDeleteBySrcImage(inv uint32, src unsafe.Pointer, srcLen uint32, revalidationDeadlineSeconds int64) int32

//go:wasmimport wfn_v2 tcp_connect
//go:noescape
func tcpConnect(inv uint32, addr unsafe.Pointer, addrLen uint32, flags int32) int32

//go:wasmimport wfn_v2 tcp_read
//go:noescape
func tcpRead(inv uint32, h int32, buf unsafe.Pointer, bufCap uint32) int32

//go:wasmimport wfn_v2 tcp_write
//go:noescape
func tcpWrite(inv uint32, h int32, buf unsafe.Pointer, bufLen uint32) int32

//go:wasmimport wfn_v2 tcp_close_write
func tcpCloseWrite(inv uint32, h int32) int32

//go:wasmimport wfn_v2 tcp_close
func tcpClose(inv uint32, h int32) int32

//go:wasmimport wfn_v2 tcp_remote_address
//go:noescape
func tcpRemoteAddress(inv uint32, h int32, buf unsafe.Pointer, bufCap uint32) int32
