// Package jsruntime holds wfn's JavaScript runtime: QuickJS with a glue
// layer over the wfn ABI and a prelude of Web APIs, built as a WASI reactor
// by guests/sdk/js/runtime/build.sh and embedded here, so that a machine
// with only Go serves JavaScript and TypeScript functions.
//
// Every JavaScript function runs this one module; the function's bundle
// (an ES module, see package jsbuild) reaches the instance in the
// environment variable [BundleEnv], and the runtime evaluates it in
// wfn_init, before the host snapshots the instance.
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
