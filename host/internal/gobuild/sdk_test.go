package gobuild

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The SDK written for builds is the wfn module's own abi package and Go
// SDK, from the sources this package was compiled from, as a module with
// no requirements and without tests.
func TestSDKDir(t *testing.T) {
	b := &Builder{CacheDir: t.TempDir()}
	dir, goVersion, err := b.sdkDir()
	if err != nil {
		t.Fatal(err)
	}
	repo, err := filepath.Abs(filepath.Join("..", "..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	gomod, err := os.ReadFile(filepath.Join(dir, "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	if want := "module " + sdkModule + "\n\ngo " + goVersion + "\n"; string(gomod) != want {
		t.Errorf("go.mod = %q, want %q", gomod, want)
	}
	var got []string
	err = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		rel = filepath.ToSlash(rel)
		got = append(got, rel)
		if strings.HasSuffix(rel, "_test.go") {
			t.Errorf("%s: a test file", rel)
		}
		if rel != "go.mod" {
			want, err := os.ReadFile(filepath.Join(repo, filepath.FromSlash(rel)))
			if err != nil {
				t.Errorf("%s is not in the repository: %v", rel, err)
			} else if data, _ := os.ReadFile(p); string(data) != string(want) {
				t.Errorf("%s differs from the repository's", rel)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"abi/abi.go", sdkPath + "/response.go", sdkPath + "/wfnhttp/wfnhttp.go"} {
		found := false
		for _, g := range got {
			found = found || g == want
		}
		if !found {
			t.Errorf("%s is missing from %v", want, got)
		}
	}
	// Once per Builder; a second Builder on the same cache finds it.
	if again, _, err := (&Builder{CacheDir: b.CacheDir}).sdkDir(); err != nil || again != dir {
		t.Errorf("second sdkDir = %q, %v; want %q", again, err, dir)
	}
}
