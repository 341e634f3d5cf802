package wasmbin_test

import (
	"bytes"
	"context"
	"testing"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/experimental"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"

	"github.com/wfn-dev/wfn/host/internal/wasmbin"
)

// TestGoGuestSnapshot snapshots the Go guest for real: initialise it once
// (_initialize), capture its globals and memory, and serve a request from
// an instance of the restored module that never runs _initialize.
func TestGoGuestSnapshot(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	wasm := goGuest(t)
	info, err := wasmbin.Inspect(wasm)
	if err != nil {
		t.Fatalf("Inspect: %v", err)
	}
	exported, err := wasmbin.ExportGlobals(wasm)
	if err != nil {
		t.Fatalf("ExportGlobals: %v", err)
	}

	rt := wazero.NewRuntimeWithConfig(ctx, wazero.NewRuntimeConfigInterpreter())
	defer rt.Close(context.Background())
	wasi_snapshot_preview1.MustInstantiate(ctx, rt)
	var body bytes.Buffer
	_, err = rt.NewHostModuleBuilder("wfn").
		NewFunctionBuilder().WithFunc(func(uint32) uint32 { return 0 }).Export("response_set_status").
		NewFunctionBuilder().WithFunc(func(uint32, uint32, uint32, uint32) uint32 { return 0 }).Export("response_header_set").
		NewFunctionBuilder().WithFunc(func(_ context.Context, m api.Module, p, n uint32) uint32 {
		b, ok := m.Memory().Read(p, n)
		if !ok {
			return 0
		}
		body.Write(b)
		return n
	}).Export("response_body_write").
		Instantiate(ctx)
	if err != nil {
		t.Fatal(err)
	}

	serve := func(mod api.Module) string {
		t.Helper()
		body.Reset()
		if _, err := mod.ExportedFunction("wfn_handle").Call(ctx); err != nil {
			t.Fatalf("wfn_handle: %v", err)
		}
		return body.String()
	}

	orig, err := rt.InstantiateWithConfig(ctx, exported, wazero.NewModuleConfig().WithName("orig"))
	if err != nil {
		t.Fatalf("instantiate: %v", err)
	}
	if _, err := orig.ExportedFunction("_initialize").Call(ctx); err != nil {
		t.Fatalf("_initialize: %v", err)
	}
	values := make([]uint64, len(info.Globals))
	for i := range values {
		values[i] = orig.ExportedGlobal(wasmbin.GlobalExportName(info.ImportedGlobals + i)).Get()
	}
	size := orig.Memory().Size()
	image, _ := orig.Memory().Read(0, size)
	image = bytes.Clone(image)
	want := serve(orig)
	if want != "Hello from wfn!" {
		t.Fatalf("original instance answered %q", want)
	}

	restored, err := wasmbin.Restore(wasm, values, size/65536)
	if err != nil {
		t.Fatalf("Restore: %v", err)
	}
	// Control: without the memory image the restored module cannot work,
	// so the image (not the module) carries the initialised state.
	bare, err := rt.InstantiateWithConfig(ctx, restored, wazero.NewModuleConfig().WithName("bare"))
	if err != nil {
		t.Fatalf("instantiate restored: %v", err)
	}
	body.Reset()
	if _, err := bare.ExportedFunction("wfn_handle").Call(ctx); err == nil && body.String() == want {
		t.Fatal("the restored module served without its memory image: the snapshot is not what serves")
	}
	t.Logf("snapshot: %d globals %v, %d pages of memory", len(values), values, size/65536)
	for i := range 3 { // several instances of the same snapshot
		mod, err := rt.InstantiateWithConfig(experimental.WithMemoryAllocator(ctx, imageAllocator(image)),
			restored, wazero.NewModuleConfig().WithName("restored"+string(rune('0'+i))))
		if err != nil {
			t.Fatalf("instantiate restored: %v", err)
		}
		for range 2 {
			if got := serve(mod); got != want {
				t.Fatalf("restored instance %d answered %q, want %q", i, got, want)
			}
		}
	}
}
