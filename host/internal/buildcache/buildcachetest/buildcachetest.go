// Package buildcachetest holds the check the builders' tests share: that a
// source saved during a build does not go into the cache under the key of
// the content before the save.
package buildcachetest

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// Save writes files (slash-separated names relative to dir, and their
// contents) as an editor saves: a temporary file, then a rename.
func Save(t testing.TB, dir string, files map[string]string) {
	t.Helper()
	for name, text := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p+".tmp~", []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(p+".tmp~", p); err != nil {
			t.Fatal(err)
		}
	}
}

// SavedDuringBuild checks a builder against a save during its build (wfn
// dev: an editor's save while the former save's build runs). save writes
// the sources of version "AAAA" or "BBBB", whose guest holds "-AAAA" or
// "-BBBB"; build builds them and returns the guest's path; hook is the
// builder's test hook, which the build calls after its key was made and
// before the compile. The first build saves BBBB from the hook: its guest
// must hold AAAA or BBBB whole, the next build BBBB, and after an undo to
// AAAA and a redo each build must come from the cache with its own
// content.
func SavedDuringBuild(t *testing.T, build func() (wasm string, cached bool, err error), save func(v string), hook *func(dir string)) {
	t.Helper()
	built := func(want string, wantCached bool) {
		t.Helper()
		wasm, cached, err := build()
		if err != nil {
			t.Fatal(err)
		}
		code, err := os.ReadFile(wasm)
		if err != nil {
			t.Fatal(err)
		}
		var has []string
		for _, v := range []string{"AAAA", "BBBB"} {
			if bytes.Contains(code, []byte("-"+v)) {
				has = append(has, v)
			}
		}
		if len(has) != 1 || has[0] != want || cached != wantCached {
			t.Errorf("the guest built from %s holds %q (cached %v), want %s (cached %v)", want, has, cached, want, wantCached)
		}
	}
	save("AAAA")
	t.Cleanup(func() { *hook = nil })
	*hook = func(string) {
		*hook = nil
		save("BBBB") // after the key of AAAA, before the compile
	}
	built("AAAA", false)
	if *hook != nil {
		t.Fatal("the build did not call its hook")
	}
	built("BBBB", false) // the reload of the save
	save("AAAA")         // an undo
	built("AAAA", true)
	save("BBBB")
	built("BBBB", true)
}
