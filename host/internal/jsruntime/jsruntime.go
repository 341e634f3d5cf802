// Package jsruntime holds wfn's JavaScript runtime: QuickJS with a glue
// layer over the wfn ABI and a prelude of Web APIs, built as a WASI reactor
// by guests/sdk/js/runtime/build.sh and embedded here, so that a machine
// with only Go serves JavaScript and TypeScript functions.
//
// Every JavaScript function runs this one module; the function's bundle
// (an ES module, see package jsbuild) reaches the instance in the
// environment variable [BundleEnv], and the runtime evaluates it in
// wfn_init, before the host snapshots the instance.
//
// Why the environment: the module stays byte-identical for every function,
// so it is compiled once (wazero shares compiled code between modules of
// the same bytes, and both engines' disk caches are keyed by them) where a
// data segment per function would compile about 1 MB of code per
// function; both engines pass an environment
// without any change to the ABI; and since the bundle is read and
// evaluated during initialisation, the snapshot holds the evaluated
// module, so a cold start neither reads nor parses it. The cost: the
// bundle's text stays in the instance's memory (in pages the snapshot
// shares until written), and esbuild must emit ASCII (no NUL).
package jsruntime

import _ "embed"

// Wasm is the runtime module, built from source by
// guests/sdk/js/runtime/build.sh (CI rebuilds it and checks it is this
// file, byte for byte).
//
//go:embed wfnjs.wasm
var Wasm []byte

// BundleEnv is the environment variable that holds the function's bundle.
const BundleEnv = "WFN_JS_BUNDLE"
