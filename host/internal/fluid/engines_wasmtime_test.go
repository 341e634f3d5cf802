//go:build wasmtime

package fluid_test

import (
	"context"

	"github.com/wfn-dev/wfn/host/internal/wasmtimeengine"
)

func init() {
	engines["wasmtime"] = func(ctx context.Context, cacheDir string) (testEngine, error) {
		return wasmtimeengine.New(ctx, wasmtimeengine.Options{CacheDir: cacheDir})
	}
}
