package hostcall

import (
	"errors"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/wfn-dev/wfn/abi"
)

// The table has every import of abi.Funcs, in order, each implemented.
func TestTableIsABI(t *testing.T) {
	if len(Table) != len(abi.Funcs) {
		t.Fatalf("%d rows, %d imports", len(Table), len(abi.Funcs))
	}
	for i, imp := range Table {
		if imp.Name != abi.Funcs[i].Name || imp.Call == nil {
			t.Errorf("row %d: %s (implemented: %v), want %s", i, imp.Name, imp.Call != nil, abi.Funcs[i].Name)
		}
		if len(imp.Params) > 16 {
			t.Errorf("%s: %d parameters; the Wasmtime engine decodes at most 16", imp.Name, len(imp.Params))
		}
	}
}

// sliceMemory is a guest memory of plain bytes.
type sliceMemory []byte

func (m sliceMemory) Read(off, n uint32) ([]byte, bool) {
	if uint64(off)+uint64(n) > uint64(len(m)) {
		return nil, false
	}
	return m[off : off+n], true
}

func call(t *testing.T, inv *Invocation, mem Memory, name string, args ...uint64) (r int64, bad *BadPointerError) {
	t.Helper()
	for _, imp := range Table {
		if imp.Name != name {
			continue
		}
		defer func() {
			if v := recover(); v != nil {
				if !errors.As(v.(error), &bad) {
					panic(v)
				}
			}
		}()
		return imp.Call(inv, Call{Mem: mem, Import: name, Args: args}), nil
	}
	t.Fatalf("no import %s", name)
	return 0, nil
}

// The buffer protocol and the trap of an out-of-bounds range, through the
// table as an engine calls it: a range past memory panics before anything
// is done, naming the import; a value longer than the buffer is not
// written, and its length is the result.
func TestTableMemory(t *testing.T) {
	var inv Invocation
	rec := httptest.NewRecorder()
	inv.Reset("id", "api/x", rec, httptest.NewRequest("PATCH", "/x", nil), []Param{{"case", "abc"}}, time.Now().Add(time.Minute))
	mem := make(sliceMemory, 64)

	if r, bad := call(t, &inv, mem, abi.ImportRequestMethod, 0, 3); bad != nil || r != 5 || mem[0] != 0 {
		t.Errorf("request_method into 3 bytes: %d, %v, %q", r, bad, mem[:5])
	}
	if r, bad := call(t, &inv, mem, abi.ImportRequestMethod, 8, 8); bad != nil || r != 5 || string(mem[8:13]) != "PATCH" {
		t.Errorf("request_method into 8 bytes: %d, %v, %q", r, bad, mem[8:13])
	}
	copy(mem[16:], "case")
	if r, _ := call(t, &inv, mem, abi.ImportRequestParam, 16, 4, 32, 8); r != 3 || string(mem[32:35]) != "abc" {
		t.Errorf("request_param: %d, %q", r, mem[32:35])
	}
	if r, _ := call(t, &inv, mem, abi.ImportRequestParam, 16, 3, 32, 8); r != int64(abi.ENOTFOUND) {
		t.Errorf("request_param(cas): %d, want ENOTFOUND", r)
	}
	// The whole (buf, cap) is checked, even when the value would fit.
	if _, bad := call(t, &inv, mem, abi.ImportRequestMethod, 60, 8); bad == nil || bad.Import != abi.ImportRequestMethod || bad.Ptr != 60 || bad.Len != 8 {
		t.Errorf("request_method past memory: %v", bad)
	}
	if _, bad := call(t, &inv, mem, abi.ImportResponseBodyWrite, 1<<20, 1); bad == nil {
		t.Errorf("response_body_write past memory did not trap")
	}
	if inv.Written() != 0 || inv.locked {
		t.Errorf("a trapped write changed the response: %d bytes, locked %v", inv.Written(), inv.locked)
	}
	if r, _ := call(t, &inv, mem, abi.ImportDeadlineRemainingMs); r <= 0 || r > 60_000 {
		t.Errorf("deadline_remaining_ms = %d", r)
	}
	if r, _ := call(t, &inv, mem, abi.ImportResponseSetStatus, uint64(uint32(1000))); r != int64(abi.EINVAL) {
		t.Errorf("response_set_status(1000) = %d", r)
	}
	// An i32 argument is read from the low 32 bits: -1 is 0xffffffff.
	if r, _ := call(t, &inv, mem, abi.ImportResponseSetStatus, uint64(0xffffffff)); r != int64(abi.EINVAL) {
		t.Errorf("response_set_status(-1) = %d", r)
	}
	copy(mem[40:], "x-a1")
	if r, _ := call(t, &inv, mem, abi.ImportResponseHeaderSet, 40, 3, 43, 1); r != 0 || rec.Header().Get("x-a") != "1" {
		t.Errorf("response_header_set: %d, %v", r, rec.Header())
	}
	if r, _ := call(t, &inv, mem, abi.ImportResponseHeaderDelete, 40, 3); r != 0 || rec.Header().Get("x-a") != "" {
		t.Errorf("response_header_delete: %d, %v", r, rec.Header())
	}
	// Without a request context there is no outbound session: EIO.
	if r, _ := call(t, &inv, mem, abi.ImportHTTPClose, 1); r != int64(abi.EIO) {
		t.Errorf("http_close without outbound = %d", r)
	}
}
