package wasmbin_test

import (
	"errors"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/tetratelabs/wazero"

	"github.com/wfn-dev/wfn/host/internal/cbuild"
	"github.com/wfn-dev/wfn/host/internal/wasmbin"
)

// TestGoGuest snapshots the Go guest guests/api/hello (wasip1 reactor):
// it must be snapshottable, and every rewritten module must still compile
// in wazero.
func TestGoGuest(t *testing.T) {
	t.Parallel()
	wasm := goGuest(t)
	checkGuest(t, wasm)
}

// TestCGuest does the same for the C guest guests/c/api/hello.
func TestCGuest(t *testing.T) {
	b := &cbuild.Builder{CacheDir: t.TempDir()}
	if err := b.Check(t.Context()); errors.Is(err, cbuild.ErrNoClang) {
		t.Skipf("cannot build C guests: %v", err)
	} else if err != nil {
		t.Fatal(err)
	}
	path, _, err := b.Build(t.Context(), "api/hello", filepath.Join("..", "..", "..", "guests", "c", "api", "hello"), nil)
	if err != nil {
		t.Fatalf("build the C guest: %v", err)
	}
	checkGuest(t, readFile(t, path))
}

func checkGuest(t *testing.T, wasm []byte) {
	t.Helper()
	start := time.Now()
	info, err := wasmbin.Inspect(wasm)
	tInspect := time.Since(start)
	if err != nil {
		t.Fatalf("Inspect: %v", err)
	}
	start = time.Now()
	exported, err := wasmbin.ExportGlobals(wasm)
	tExport := time.Since(start)
	if err != nil {
		t.Fatalf("ExportGlobals: %v", err)
	}
	values := make([]uint64, len(info.Globals))
	for i := range values {
		values[i] = uint64(1000 + i)
	}
	pages := info.MemoryMin + 3
	start = time.Now()
	restored, err := wasmbin.Restore(wasm, values, pages)
	tRestore := time.Since(start)
	if err != nil {
		t.Fatalf("Restore: %v", err)
	}
	t.Logf("%d bytes; Info %+v; Inspect %v, ExportGlobals %v, Restore %v (restored: %d bytes)",
		len(wasm), *info, tInspect, tExport, tRestore, len(restored))

	rinfo, err := wasmbin.Inspect(restored)
	if err != nil {
		t.Fatalf("Inspect(restored): %v", err)
	}
	if rinfo.MemoryMin != pages || rinfo.HasStart || rinfo.ActiveDataBytes != 0 ||
		rinfo.DataSegments != info.DataSegments || !slices.Equal(rinfo.Globals, info.Globals) {
		t.Errorf("Inspect(restored): got %+v", rinfo)
	}
	ctx := t.Context()
	// The interpreter validates as the compiler does and compiles faster.
	rt := wazero.NewRuntimeWithConfig(ctx, wazero.NewRuntimeConfigInterpreter())
	defer rt.Close(ctx)
	for name, m := range map[string][]byte{"exported": exported, "restored": restored} {
		compiled, err := rt.CompileModule(ctx, m)
		if err != nil {
			t.Fatalf("wazero cannot compile the %s module: %v", name, err)
		}
		if name == "restored" {
			if got := compiled.ExportedMemories(); len(got) > 0 {
				for _, mem := range got {
					if mem.Min() != pages {
						t.Errorf("restored memory min: got %d, want %d", mem.Min(), pages)
					}
				}
			}
		}
	}
}

// TestFixtures inspects the committed testdata/wat modules: all parse, and
// they are snapshottable except notwasm.wasm, which is not wasm at all.
func TestFixtures(t *testing.T) {
	for name, wasm := range fixtures(t) {
		t.Run(name, func(t *testing.T) {
			info, err := wasmbin.Inspect(wasm)
			if name == "notwasm.wasm" {
				if !errors.Is(err, wasmbin.ErrMalformed) {
					t.Fatalf("Inspect: got %v, want ErrMalformed", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Inspect: %v", err)
			}
			if _, err := wasmbin.ExportGlobals(wasm); err != nil {
				t.Errorf("ExportGlobals: %v", err)
			}
			if _, err := wasmbin.Restore(wasm, make([]uint64, len(info.Globals)), info.MemoryMin); err != nil {
				t.Errorf("Restore: %v", err)
			}
		})
	}
}

// BenchmarkGoGuest measures the three steps on the Go guest; TestGoGuest
// checks the same calls succeed.
func BenchmarkGoGuest(b *testing.B) {
	wasm := goGuest(b)
	info, err := wasmbin.Inspect(wasm)
	if err != nil {
		b.Fatal(err)
	}
	values := make([]uint64, len(info.Globals))
	b.Run("Inspect", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := wasmbin.Inspect(wasm); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("ExportGlobals", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := wasmbin.ExportGlobals(wasm); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("Restore", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := wasmbin.Restore(wasm, values, info.MemoryMin); err != nil {
				b.Fatal(err)
			}
		}
	})
}
