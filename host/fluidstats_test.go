package host_test

import (
	"testing"

	"github.com/wfn-dev/wfn/host"
	"github.com/wfn-dev/wfn/internal/testkit"
)

// Host.Stats reports an ABI v2 function's instances and their linear
// memory as it does a version 1 function's: one live instance, busy while
// an invocation runs on it and idle after, with whole 64 KiB pages of
// memory.
func TestFluidStatsReportInstancesAndMemory(t *testing.T) {
	requireGo(t)
	h, srv, _ := serve(t, host.Config{Dir: "../testdata/fluid"})
	stats := func() host.FunctionStats {
		for _, fs := range h.Stats().Functions {
			if fs.Source == "api/sleep" {
				return fs
			}
		}
		t.Fatalf("no api/sleep in the host's stats: %+v", h.Stats().Functions)
		return host.FunctionStats{}
	}
	if code, body, err := testkit.Get(t.Context(), srv.URL+"/api/sleep?n=first"); code != 200 || body != "hello first" {
		t.Fatalf("first request: %d %q %v", code, body, err)
	}
	busy := make(chan int, 1)
	go func() {
		code, _, _ := testkit.Get(t.Context(), srv.URL+"/api/sleep?ms=1500&n=busy")
		busy <- code
	}()
	var fs host.FunctionStats
	eventually(t, "one live instance, busy", func() bool { fs = stats(); return fs.Live == 1 && fs.Idle == 0 })
	if code := <-busy; code != 200 {
		t.Errorf("the busy invocation: %d", code)
	}
	eventually(t, "one live instance, idle, with its memory", func() bool {
		fs = stats()
		return fs.Live == 1 && fs.Idle == 1 && fs.MemoryBytes > 0
	})
	if fs.MemoryBytes%65536 != 0 {
		t.Errorf("memory %d bytes: not whole 64 KiB pages", fs.MemoryBytes)
	}
}
