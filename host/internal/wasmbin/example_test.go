package wasmbin_test

import (
	"fmt"

	"github.com/wfn-dev/wfn/host/internal/wasmbin"
)

// (module (memory 1) (global (mut i32) (i32.const 1)) (data (i32.const 0) "hi"))
var exampleModule = []byte{
	0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, // header
	0x05, 0x03, 0x01, 0x00, 0x01, // memory: min 1
	0x06, 0x06, 0x01, 0x7f, 0x01, 0x41, 0x01, 0x0b, // global: mut i32 = 1
	0x0b, 0x08, 0x01, 0x00, 0x41, 0x00, 0x0b, 0x02, 0x68, 0x69, // data: "hi" at 0
}

func Example() {
	info, err := wasmbin.Inspect(exampleModule)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("globals %v, memory %d pages, %d active data segment(s)\n", info.Globals, info.MemoryMin, info.ActiveDataSegments)

	// The host would instantiate ExportGlobals(wasm), run the guest's
	// initialisation and read global 0 through the export named here.
	fmt.Println(wasmbin.GlobalExportName(info.ImportedGlobals + 0))

	// Say initialisation set the global to 42 and grew memory to 3 pages.
	restored, err := wasmbin.Restore(exampleModule, []uint64{42}, 3)
	if err != nil {
		fmt.Println(err)
		return
	}
	info, _ = wasmbin.Inspect(restored)
	fmt.Printf("restored: memory %d pages, %d bytes of active data\n", info.MemoryMin, info.ActiveDataBytes)
	fmt.Printf("% x\n", restored[13:21]) // the global section

	_, err = wasmbin.Inspect(exampleModule[:20])
	fmt.Println(err)
	// Output:
	// globals [{127 true}], memory 1 pages, 1 active data segment(s)
	// wfn:snapshot:global:0
	// restored: memory 3 pages, 0 bytes of active data
	// 06 06 01 7f 01 41 2a 0b
	// wfn: malformed wasm module: global section of 6 bytes past the end of the module (at byte offset 13)
}
