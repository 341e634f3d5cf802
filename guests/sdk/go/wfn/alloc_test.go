package wfn_test

import (
	"testing"

	"github.com/wfn-dev/wfn/guests/sdk/go/wfn"
	"github.com/wfn-dev/wfn/guests/sdk/go/wfn/internal/hostcall"
)

// nopHost answers like a host without allocating, to measure the SDK's
// own allocations.
type nopHost struct{}

func (nopHost) RequestMethod(buf []byte) int32         { return int32(copy(buf, "GET")) }
func (nopHost) RequestURL(buf []byte) int32            { return 0 }
func (nopHost) RequestHeaderNames(buf []byte) int32    { return 0 }
func (nopHost) RequestHeader(string, []byte) int32     { return -1 }
func (nopHost) RequestParam(string, []byte) int32      { return -1 }
func (nopHost) RequestBodyRead([]byte) int32           { return 0 }
func (nopHost) ResponseSetStatus(int32) int32          { return 0 }
func (nopHost) ResponseHeaderSet(string, string) int32 { return 0 }
func (nopHost) ResponseHeaderAdd(string, string) int32 { return 0 }
func (nopHost) ResponseHeaderDelete(string) int32      { return 0 }
func (nopHost) ResponseBodyWrite(p []byte) int32       { return int32(len(p)) }
func (nopHost) ResponseFlush() int32                   { return 0 }
func (nopHost) ResponseClose() int32                   { return 0 }
func (nopHost) AbortSignaled() int32                   { return 0 }
func (nopHost) WaitUntil(int32) int32                  { return 0 }
func (nopHost) DeadlineRemainingMs() int64             { return 300_000 }
func (nopHost) ProcExit(int32)                         { panic("proc_exit") }
func (nopHost) IPAddress([]byte) int32                 { return -1 }
func (nopHost) Geolocation([]byte) int32               { return -1 }

func (nopHost) HTTPSend(string, string, []byte, []byte) int32  { return -6 }
func (nopHost) HTTPResponseStatus(int32) int32                 { return -7 }
func (nopHost) HTTPResponseHeaderNames(int32, []byte) int32    { return -7 }
func (nopHost) HTTPResponseHeader(int32, string, []byte) int32 { return -7 }
func (nopHost) HTTPResponseBodyRead(int32, []byte) int32       { return -7 }
func (nopHost) HTTPClose(int32) int32                          { return -7 }

func (nopHost) CacheGet(string, []byte) int32                        { return -1 }
func (nopHost) CacheSet(string, []byte, int64, []byte, string) int32 { return 0 }
func (nopHost) CacheDelete(string) int32                             { return 0 }
func (nopHost) CacheExpireTag([]byte) int32                          { return 0 }
func (nopHost) CDNAddCacheTag([]byte) int32                          { return 0 }
func (nopHost) CDNInvalidateByTag([]byte) int32                      { return 0 }
func (nopHost) CDNDeleteByTag([]byte, int64) int32                   { return 0 }
func (nopHost) CDNInvalidateBySrcImage(string) int32                 { return 0 }
func (nopHost) CDNDeleteBySrcImage(string, int64) int32              { return 0 }

func (nopHost) TCPConnect(string, int32, int64) int32 { return -6 }
func (nopHost) TCPRead(int32, []byte, int64) int32    { return -7 }
func (nopHost) TCPWrite(int32, []byte, int64) int32   { return -7 }
func (nopHost) TCPCloseWrite(int32) int32             { return -7 }
func (nopHost) TCPClose(int32) int32                  { return -7 }
func (nopHost) TCPRemoteAddress(int32, []byte) int32  { return -7 }

var hello = wfn.HandlerFunc(func(w *wfn.ResponseWriter, r *wfn.Request) {
	if r.Method() != "GET" {
		w.SetStatus(405)
		return
	}
	w.SetHeader("Content-Type", "text/plain; charset=utf-8")
	w.WriteString("Hello from wfn!")
})

func TestServeHelloAllocs(t *testing.T) {
	if hostcall.Concurrent {
		t.Skip("under ABI version 2 (wfn_fluid) each invocation has a host of its own, given to hostcall.Invoke; hostcall.Install is version 1's")
	}
	hostcall.Install(nopHost{})
	defer hostcall.Install(nil)
	if n := testing.AllocsPerRun(100, func() { wfn.Serve(hello) }); n != 0 {
		t.Errorf("a hello handler made %v allocations per invocation, want 0", n)
	}
}

func BenchmarkServeHello(b *testing.B) {
	if hostcall.Concurrent {
		b.Skip("under ABI version 2 (wfn_fluid) each invocation has a host of its own, given to hostcall.Invoke; hostcall.Install is version 1's")
	}
	hostcall.Install(nopHost{})
	defer hostcall.Install(nil)
	b.ReportAllocs()
	for b.Loop() {
		wfn.Serve(hello)
	}
}
