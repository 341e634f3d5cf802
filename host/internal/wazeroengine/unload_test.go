package wazeroengine

import (
	"context"
	"errors"
	"fmt"
	"os"
	"testing"

	"github.com/wfn-dev/wfn/host/internal/engine"
)

// TestUnloadLoad: an unloaded module makes no instance, and one loaded
// again from its spare in the cache directory starts instances as before,
// with and without a cache directory; a spare damaged on disk is refused.
func TestUnloadLoad(t *testing.T) {
	ctx := context.Background()
	for _, cached := range []bool{true, false} {
		opts := Options{}
		if cached {
			opts.CacheDir = t.TempDir()
		}
		e, err := New(ctx, opts)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { e.Close(ctx) })
		m := compileFile(t, e, "../../../testdata/wat/snapinit.wasm")
		cfg := engine.InstanceConfig{Snapshot: true}
		before := instanceState(t, m, cfg)
		if err := m.Unload(ctx); err != nil {
			t.Fatal(err)
		}
		if _, err := m.Instantiate(ctx, cfg); err == nil {
			t.Fatalf("cached %v: an unloaded module made an instance", cached)
		}
		if err := m.Load(ctx); err != nil {
			t.Fatalf("cached %v: Load: %v", cached, err)
		}
		if after := instanceState(t, m, cfg); after != before {
			t.Errorf("cached %v: an instance after Load is %q, before %q", cached, after, before)
		}
		if !cached {
			continue
		}
		if err := m.Unload(ctx); err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(m.spare.path)
		if err != nil {
			t.Fatal(err)
		}
		b[len(b)-1] ^= 1
		if err := os.WriteFile(m.spare.path, b, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := m.Load(ctx); !errors.Is(err, errDamaged) {
			t.Errorf("Load from a damaged spare = %v, want errDamaged", err)
		}
	}
}

// instanceState makes an instance of m (a snapshot's second one, when
// the module takes snapshots) and returns its memory and globals.
func instanceState(t *testing.T, m *module, cfg engine.InstanceConfig) string {
	t.Helper()
	ctx := context.Background()
	var out string
	for range 2 {
		inst, err := m.Instantiate(ctx, cfg)
		if err != nil {
			t.Fatal(err)
		}
		mem, globals := state(t, inst, m.prep.Globals)
		out = fmt.Sprintf("%x %v", mem, globals)
		inst.Close(ctx)
	}
	return out
}
