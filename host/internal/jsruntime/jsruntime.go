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

import (
	_ "embed"
	"fmt"
	"regexp"
	"slices"
	"strings"
)

// Wasm is the runtime module, built from source by
// guests/sdk/js/runtime/build.sh (CI rebuilds it and checks it is this
// file, byte for byte).
//
//go:embed wfnjs.wasm
var Wasm []byte

// BundleEnv is the environment variable that holds the function's bundle.
const BundleEnv = "WFN_JS_BUNDLE"

// LoadFailure starts the line the runtime writes to stderr when the
// function's module cannot be loaded in wfn_init (it throws at module
// scope, its top-level await rejects, it exports no handler, QuickJS
// cannot compile it), followed by the exception and its stack, one frame
// a line; then wfn_init traps.
const LoadFailure = "Cannot load the function: "

// LoadError is a function whose module throws (or fails otherwise) when
// the runtime evaluates it, reported as a syntax error is: the file, line
// and column in the user's files, and the message.
type LoadError struct {
	Function string   // the function's source, such as api/hello.ts
	Position string   // where it was thrown, such as api/hello.ts:3:7; "" when no frame is the user's
	Message  string   // the exception, such as "Error: no DATABASE_URL"
	Stack    []string // the stack trace, a frame a line ("    at f (api/lib.ts:2:9)")
	Err      error    // the engine's error (the trap that ended wfn_init)
}

func (e *LoadError) Error() string {
	at := e.Position
	if at == "" {
		at = e.Function
	}
	var b strings.Builder
	fmt.Fprintf(&b, "cannot load %s:\n%s: %s", e.Function, at, e.Message)
	for _, l := range e.Stack {
		b.WriteString("\n" + l)
	}
	return b.String()
}

// Unwrap returns the engine's error.
func (e *LoadError) Unwrap() error { return e.Err }

// frame is one frame of a QuickJS stack trace: "    at NAME (FILE:LINE:COL)",
// "    at FILE:LINE:COL" (a syntax error) or "    at NAME (native)".
var frame = regexp.MustCompile(`^\s+at (?:.*\()?([^()]+:\d+:\d+)\)?$`)

// ParseLoadFailure finds the load failure in the lines a failed
// initialisation wrote to stderr (their positions already in the user's
// files: jsbuild.SourceMap.Rewrite) and returns it as a LoadError for
// function, with err, and the other lines (the module's own output).
// ok is false when the lines hold none.
func ParseLoadFailure(function string, lines []string, err error) (le *LoadError, other []string, ok bool) {
	i := slices.IndexFunc(lines, func(l string) bool { return strings.HasPrefix(l, LoadFailure) })
	if i < 0 {
		return nil, lines, false
	}
	le = &LoadError{Function: function, Message: strings.TrimPrefix(lines[i], LoadFailure), Err: err}
	for _, l := range lines[i+1:] {
		if !strings.HasPrefix(l, "    ") { // the end of the stack: output after the failure is not expected
			other = append(other, l)
			continue
		}
		le.Stack = append(le.Stack, l)
		// The position is the innermost frame in the user's code: not
		// in the runtime's prelude, nor in wfn's own @vercel/functions.
		if m := frame.FindStringSubmatch(l); m != nil && le.Position == "" && !strings.HasPrefix(m[1], "wfn:") {
			le.Position = m[1]
		}
	}
	return le, append(slices.Clip(lines[:i]), other...), true
}
