package host

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/wfn-dev/wfn/host/internal/engine"
	"github.com/wfn-dev/wfn/host/internal/wazeroengine"
)

// engines are the engines this build has, by Config.Engine name. wazero is
// always there; wasmtime only in builds with the wasmtime tag (cgo).
var engines = map[string]func(ctx context.Context, cacheDir string) (engine.Engine, error){
	"wazero": func(ctx context.Context, cacheDir string) (engine.Engine, error) {
		return wazeroengine.New(ctx, wazeroengine.Options{CacheDir: cacheDir})
	},
}

// interpreter is the name of wazero's interpreter in logs: a function is
// ready about ten times sooner than with wazero's compiler and runs many
// times slower. It is Config.TieredReload's first tier, not an engine of
// its own: an overflowing guest's stack takes 10 to 14 MB there, against
// 2 MB compiled (TestStackOverflowMemory), and the JavaScript runtime
// takes seconds a request.
const interpreter = "wazero-interpreter"

func newInterpreter(ctx context.Context) (engine.Engine, error) {
	return wazeroengine.New(ctx, wazeroengine.Options{Interpreter: true})
}

// Engines lists the engines this build can run guests on.
func Engines() []string {
	var names []string
	for n := range engines {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

func newEngine(ctx context.Context, name, cacheDir string) (engine.Engine, error) {
	if name == "" {
		name = "wazero"
	}
	mk, ok := engines[name]
	if !ok {
		hint := ""
		if name == "wasmtime" {
			hint = " (build with -tags wasmtime, which needs cgo)"
		}
		return nil, fmt.Errorf("%w: engine %q is not in this build%s; it has %s", ErrConfig, name, hint, strings.Join(Engines(), ", "))
	}
	return mk(ctx, cacheDir)
}
