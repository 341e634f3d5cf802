package gobuild

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"strings"
)

// sdkPath is the Go guest SDK's directory in the wfn module.
const sdkPath = "guests/sdk/go/wfn"

// sdkFiles reports whether a file of the wfn module (a slash-separated
// path) is part of what a Go guest needs of it: the go.mod, the abi
// package and the Go guest SDK, without tests.
func sdkFiles(name string) bool {
	if name == "go.mod" {
		return true
	}
	if path.Ext(name) != ".go" || strings.HasSuffix(name, "_test.go") {
		return false
	}
	return path.Dir(name) == "abi" || strings.HasPrefix(name, sdkPath+"/")
}

// moduleSource is the root of the wfn module's sources this package was
// compiled from: the clone for go run and go build, the module cache for
// go install and for programs that import the host. A binary built with
// -trimpath has no such path; it finds no SDK.
func moduleSource() (string, error) {
	_, file, _, ok := runtime.Caller(0)
	if !ok || !filepath.IsAbs(file) {
		return "", errors.New("wfn was built without the path of its sources (-trimpath)")
	}
	root := filepath.Join(filepath.Dir(file), "..", "..", "..")
	gomod, err := os.ReadFile(filepath.Join(root, "go.mod"))
	if err != nil {
		return "", fmt.Errorf("the sources wfn was built from are gone: %w", err)
	}
	if !strings.HasPrefix(string(gomod), "module "+sdkModule+"\n") {
		return "", fmt.Errorf("%s is not the module %s", root, sdkModule)
	}
	return root, nil
}

// sdkDir writes the Go SDK, as a module of its own (module
// github.com/wfn-dev/wfn with no requirements), to the cache once, from
// the wfn sources this package was compiled from, and returns its
// directory and the go version of wfn's go.mod. The directory is named by
// the content, so that a changed SDK is a new one. The error says what to
// do instead: require github.com/wfn-dev/wfn in the project's go.mod.
func (b *Builder) sdkDir() (dir, goVersion string, err error) {
	b.sdkOnce.Do(func() { b.sdk, b.sdkGo, b.sdkErr = b.writeSDK() })
	return b.sdk, b.sdkGo, b.sdkErr
}

func (b *Builder) writeSDK() (string, string, error) {
	root, err := moduleSource()
	if err != nil {
		return "", "", fmt.Errorf("wfn: no Go SDK to build a function whose go.mod does not require %s (%w); require it there", sdkModule, err)
	}
	src := os.DirFS(root)
	h := sha256.New()
	files := map[string][]byte{}
	err = fs.WalkDir(src, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			// The root, abi, the SDK and the directories on the way to it.
			if p == "." || p == "abi" || strings.HasPrefix(sdkPath+"/", p+"/") ||
				strings.HasPrefix(p, sdkPath+"/") && d.Name() != "testdata" {
				return nil
			}
			return fs.SkipDir
		}
		if !sdkFiles(p) {
			return nil
		}
		data, err := fs.ReadFile(src, p)
		if err != nil {
			return err
		}
		if p == "go.mod" {
			data = []byte("module " + sdkModule + "\n\ngo " + goLine(data) + "\n")
		}
		files[p] = data
		fmt.Fprintf(h, "%s\x00%d\x00%s", p, len(data), data)
		return nil
	})
	if err != nil {
		return "", "", fmt.Errorf("wfn: reading the Go SDK in %s: %w", root, err)
	}
	goVersion := goLine(files["go.mod"])
	dir := filepath.Join(b.CacheDir, "sdk-"+hex.EncodeToString(h.Sum(nil)[:10]))
	if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
		return dir, goVersion, nil
	}
	tmp, err := os.MkdirTemp(b.CacheDir, "sdk-tmp-")
	if err != nil {
		return "", "", err
	}
	defer os.RemoveAll(tmp)
	for p, data := range files {
		dst := filepath.Join(tmp, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return "", "", err
		}
		if err := os.WriteFile(dst, data, 0o644); err != nil {
			return "", "", err
		}
	}
	if err := os.Rename(tmp, dir); err != nil {
		if _, statErr := os.Stat(filepath.Join(dir, "go.mod")); statErr != nil {
			return "", "", fmt.Errorf("wfn: cannot write the Go SDK to %s: %w", dir, err)
		}
	}
	return dir, goVersion, nil
}
