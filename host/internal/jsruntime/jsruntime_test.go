package jsruntime_test

import (
	"errors"
	"slices"
	"testing"

	"github.com/wfn-dev/wfn/host/internal/jsruntime"
)

func TestParseLoadFailure(t *testing.T) {
	trap := errors.New("wasm error: unreachable")
	lines := []string{
		"loading the configuration", // the module's own output
		jsruntime.LoadFailure + "Error: no DATABASE_URL",
		"    at <anonymous> (wfn:@vercel/functions:3:9)",
		"    at required (api/_env.ts:3:9)",
		"    at <anonymous> (api/db.ts:2:20)",
	}
	le, other, ok := jsruntime.ParseLoadFailure("api/db.ts", lines, trap)
	if !ok || le.Function != "api/db.ts" || le.Position != "api/_env.ts:3:9" || le.Message != "Error: no DATABASE_URL" || len(le.Stack) != 3 {
		t.Fatalf("ParseLoadFailure = %#v, %v", le, ok)
	}
	if !slices.Equal(other, lines[:1]) {
		t.Errorf("other output = %q, want %q", other, lines[:1])
	}
	if !errors.Is(le, trap) {
		t.Error("the LoadError does not wrap the engine's error")
	}
	want := "cannot load api/db.ts:\napi/_env.ts:3:9: Error: no DATABASE_URL\n" + lines[2] + "\n" + lines[3] + "\n" + lines[4]
	if le.Error() != want {
		t.Errorf("Error() = %q, want %q", le.Error(), want)
	}

	// No frame in the user's files (a module without a handler, a syntax
	// error QuickJS found): the function's file stands for the position.
	le, _, ok = jsruntime.ParseLoadFailure("api/x.ts", []string{jsruntime.LoadFailure + "TypeError: no handler", "    at setup (wfn:prelude:1:2)", "    at f (native)"}, trap)
	if !ok || le.Position != "" || le.Error() != "cannot load api/x.ts:\napi/x.ts: TypeError: no handler\n    at setup (wfn:prelude:1:2)\n    at f (native)" {
		t.Errorf("without a user frame: %#v", le)
	}

	// Output without the runtime's account: not a load failure.
	if _, other, ok := jsruntime.ParseLoadFailure("api/x.ts", lines[:1], trap); ok || !slices.Equal(other, lines[:1]) {
		t.Errorf("without a failure line: ok %v, other %q", ok, other)
	}
}
