package buildcache_test

import (
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/wfn-dev/wfn/host/internal/buildcache"
)

func TestCache(t *testing.T) {
	c := buildcache.Cache{Dir: t.TempDir(), Ext: ".wasm"}
	if _, ok := c.Lookup("k"); ok {
		t.Fatal("empty cache has k")
	}
	path, err := c.Build("k", func(out string) error { return os.WriteFile(out, []byte("\x00asm"), 0o644) })
	if err != nil || !strings.HasSuffix(path, "k.wasm") {
		t.Fatalf("Build = %q, %v", path, err)
	}
	if got, ok := c.Lookup("k"); !ok || got != path {
		t.Errorf("Lookup = %q, %v", got, ok)
	}
	// Unknown inputs: stored by content.
	p2, err := c.Build("", func(out string) error { return os.WriteFile(out, []byte("\x00asm2"), 0o644) })
	if err != nil || !strings.Contains(p2, "out-") {
		t.Errorf("Build without key = %q, %v", p2, err)
	}
	boom := errors.New("boom")
	if _, err := c.Build("x", func(string) error { return boom }); !errors.Is(err, boom) {
		t.Errorf("a failing build = %v", err)
	}
	if _, err := c.Build("y", func(string) error { return nil }); !errors.Is(err, buildcache.ErrNoOutput) {
		t.Errorf("a build writing nothing = %v", err)
	}
	if _, ok := c.Lookup("y"); ok {
		t.Error("an empty output was stored")
	}
}

func TestHashFiles(t *testing.T) {
	dir := t.TempDir()
	a, b := dir+"/a", dir+"/b"
	os.WriteFile(a, []byte("1"), 0o644)
	os.WriteFile(b, []byte("2"), 0o644)
	sum := func(paths ...string) string {
		var h strings.Builder
		if err := buildcache.HashFiles(&h, paths); err != nil {
			t.Fatal(err)
		}
		return h.String()
	}
	if sum(a, b) != sum(b, a, a) {
		t.Error("order or repetition changed the hash")
	}
	before := sum(a, b)
	os.WriteFile(b, []byte("3"), 0o644)
	if sum(a, b) == before {
		t.Error("a changed file did not change the hash")
	}
	if !strings.Contains(sum(dir+"/gone"), "missing") {
		t.Error("a missing file is not recorded as missing")
	}
}

// HashFilesAs hashes each file under its name, from the file it names to
// read: a copy hashes as the file it copies.
func TestHashFilesAs(t *testing.T) {
	dir := t.TempDir()
	a, cp := dir+"/a", dir+"/copy"
	os.WriteFile(a, []byte("1"), 0o644)
	os.WriteFile(cp, []byte("1"), 0o644)
	var direct, copied strings.Builder
	if err := buildcache.HashFiles(&direct, []string{a}); err != nil {
		t.Fatal(err)
	}
	if err := buildcache.HashFilesAs(&copied, map[string]string{a: cp}); err != nil {
		t.Fatal(err)
	}
	if direct.String() != copied.String() {
		t.Errorf("the copy hashes as %q, the file as %q", copied.String(), direct.String())
	}
}
