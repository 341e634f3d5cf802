package fluid_test

import (
	"context"
	"os"
	"testing"

	"github.com/wfn-dev/wfn/host/internal/fluid"
	"github.com/wfn-dev/wfn/host/internal/wazeroengine"
)

// testEngine is an engine that serves version 2 guests.
type testEngine interface {
	fluid.Compiler
	Close(ctx context.Context) error
}

// engines are the engines the tests can run on, by the name
// WFN_TEST_ENGINE gives: wazero, and wasmtime under -tags wasmtime
// (engines_wasmtime_test.go).
var engines = map[string]func(ctx context.Context, cacheDir string) (testEngine, error){
	"wazero": func(ctx context.Context, cacheDir string) (testEngine, error) {
		return wazeroengine.New(ctx, wazeroengine.Options{CacheDir: cacheDir})
	},
}

// newEngine makes the engine WFN_TEST_ENGINE names (wazero when unset),
// closed when tb ends.
func newEngine(tb testing.TB, cacheDir string) testEngine {
	tb.Helper()
	name := os.Getenv("WFN_TEST_ENGINE")
	if name == "" {
		name = "wazero"
	}
	mk, ok := engines[name]
	if !ok {
		tb.Fatalf("WFN_TEST_ENGINE=%s: no such engine in this build (wasmtime needs -tags wasmtime)", name)
	}
	e, err := mk(context.Background(), cacheDir)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { e.Close(context.Background()) })
	return e
}
