// Package hosttarget is the wfn host as a target of the ABI conformance
// suite (package github.com/wfn-dev/wfn/abi/conformance): it serves the
// suite's directory with a real host.Host, on the engine asked for. The
// suite knows no host; `wfn conformance` and the host's own tests run it
// through this package.
package hosttarget

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"path/filepath"

	"github.com/wfn-dev/wfn/abi/conformance"
	"github.com/wfn-dev/wfn/host"
)

// Target serves the suite's guest with the wfn host.
type Target struct {
	// Engine is the engine to run the guest on (see host.Engines); empty:
	// the host's default.
	Engine string
	// CacheDir keeps the host's compiled code, so that running the suite
	// again on the same guest does not compile it again. Empty: a
	// directory inside the served one, removed with it.
	CacheDir string
}

var _ conformance.Target = Target{}

// Serve starts a host on setup.Dir with the suite's settings. A guest
// that fails to load is an error naming it.
func (t Target) Serve(ctx context.Context, setup conformance.Setup) (http.Handler, func(context.Context) error, error) {
	cfg := host.Config{
		Dir:            setup.Dir,
		Engine:         t.Engine,
		CacheDir:       t.CacheDir,
		Logger:         slog.New(setup.Log),
		Env:            setup.Env,
		Region:         setup.Region,
		URL:            setup.URL,
		DeploymentID:   setup.DeploymentID,
		TrustedProxies: setup.TrustedProxies,

		DisableSnapshots: !setup.Snapshots,
	}
	if cfg.CacheDir == "" {
		cfg.CacheDir = filepath.Join(setup.Dir, ".wfn")
	}
	h, err := host.New(ctx, cfg)
	if err != nil {
		return nil, nil, fmt.Errorf("starting the host: %w", err)
	}
	stop := func(ctx context.Context) error {
		if err := h.Close(ctx); err != nil && !errors.Is(err, host.ErrClosed) {
			return err
		}
		return nil
	}
	for _, f := range h.Functions() {
		if f.Err != nil {
			_ = stop(ctx)
			return nil, nil, fmt.Errorf("the guest failed to load (as %s): %w", f.Source, f.Err)
		}
	}
	return h, stop, nil
}
