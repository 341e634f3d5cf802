//go:build wasmtime

package host

import (
	"context"

	"github.com/wfn-dev/wfn/host/internal/engine"
	"github.com/wfn-dev/wfn/host/internal/wasmtimeengine"
)

func init() {
	engines["wasmtime"] = func(ctx context.Context, cacheDir string) (engine.Engine, error) {
		return wasmtimeengine.New(ctx, wasmtimeengine.Options{CacheDir: cacheDir})
	}
}
