package wfn_test

import (
	"errors"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	"github.com/wfn-dev/wfn/abi"
	"github.com/wfn-dev/wfn/guests/sdk/go/wfn"
	"github.com/wfn-dev/wfn/guests/sdk/go/wfn/wfntest"
)

// leavingClient is a client connection that breaks when told: writes
// fail, while flushes report nothing, as a net/http server's first send to
// a dead connection often does.
type leavingClient struct {
	*httptest.ResponseRecorder
	gone atomic.Bool
}

func (c *leavingClient) Write(p []byte) (int, error) {
	if c.gone.Load() {
		return 0, errors.New("write: connection reset by peer")
	}
	return c.ResponseRecorder.Write(p)
}

// After a write fails with abi.EIO (the client of a function without
// supportsCancellation left), Flush reports abi.EIO too, until the
// invocation ends.
func TestFlushAfterClientLeft(t *testing.T) {
	var errs []error
	serve := func(c *leavingClient, leave bool) {
		wfntest.Serve(c, httptest.NewRequest("GET", "/", nil), nil, func() {
			wfn.Serve(wfn.HandlerFunc(func(w *wfn.ResponseWriter, r *wfn.Request) {
				w.WriteString("a")
				errs = append(errs, w.Flush())
				c.gone.Store(leave)
				_, err := w.WriteString("b")
				errs = append(errs, err, w.Flush(), w.Flush())
			}))
		})
	}
	serve(&leavingClient{ResponseRecorder: httptest.NewRecorder()}, true)
	serve(&leavingClient{ResponseRecorder: httptest.NewRecorder()}, false)
	want := []error{nil, abi.EIO, abi.EIO, abi.EIO, nil, nil, nil, nil}
	if len(errs) != len(want) {
		t.Fatalf("errors = %v, want %v", errs, want)
	}
	for i := range want {
		if !errors.Is(errs[i], want[i]) {
			t.Errorf("errors = %v, want %v", errs, want)
			break
		}
	}
}
