package fluid_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/wfn-dev/wfn/host/internal/fluid"
	"github.com/wfn-dev/wfn/internal/testkit"
)

// A busy instance at the pool's close gets EventSigterm; when its last
// invocation ends it gets EventStop and returns from its serving export,
// and Close returns then, long before its context ends.
func TestCloseStopsBusyInstanceWhenItsWorkEnds(t *testing.T) {
	srv, p, ended := serveGuestEnded(t, time.Minute, nil)
	sleeper := make(chan string, 1)
	go func() {
		code, body, err := testkit.Get(t.Context(), srv.URL+"/?ms=1000&n=busy")
		sleeper <- fmtResult(code, body, err)
	}()
	waitFor(t, func() bool { return p.Inflight() == 1 })
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	if err := p.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if ctx.Err() != nil {
		t.Error("Close returned only when its context ended: the instance was not stopped when its work ended")
	}
	if got := <-sleeper; got != "200 hello busy <nil>" {
		t.Errorf("the invocation in flight at the close: %s, want 200 hello busy", got)
	}
	if err := <-ended; !errors.Is(err, fluid.ErrServeReturned) {
		t.Errorf("the instance ended with %v, want its serving call returned (EventStop)", err)
	}
}

func fmtResult(code int, body string, err error) string {
	return fmt.Sprintf("%d %s %v", code, body, err)
}
