// Package buildcache stores built guests by a key that names everything
// the build depends on, so that a build whose inputs have not changed is
// not run again. Outputs are written to a temporary file and renamed into
// place, so a cache shared by several processes never holds half a file.
package buildcache

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
)

// ErrNoOutput is returned by Build when the build wrote nothing.
var ErrNoOutput = errors.New("the build wrote no output")

// Cache is a directory of outputs named by key.
type Cache struct {
	Dir string
	Ext string // such as ".wasm"
}

// Lookup returns the stored output for key, if there is one.
func (c Cache) Lookup(key string) (string, bool) {
	path := filepath.Join(c.Dir, key+c.Ext)
	if st, err := os.Stat(path); err == nil && st.Size() > 0 {
		return path, true
	}
	return "", false
}

// Build runs build with the absolute path of a new file to write, then
// stores that file under key and returns where it is. With key "" (the
// inputs could not be listed), the output is stored under a name of its
// own content. Errors from build are returned as they are.
func (c Cache) Build(key string, build func(out string) error) (string, error) {
	dir, err := filepath.Abs(c.Dir)
	if err != nil {
		return "", err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("wfn: cannot create build cache: %w", err)
	}
	tmp, err := os.CreateTemp(dir, "build-*"+c.Ext)
	if err != nil {
		return "", fmt.Errorf("wfn: cannot create build output: %w", err)
	}
	tmp.Close()
	defer os.Remove(tmp.Name())
	if err := build(tmp.Name()); err != nil {
		return "", err
	}
	if st, err := os.Stat(tmp.Name()); err != nil || st.Size() == 0 {
		return "", ErrNoOutput
	}
	if key == "" {
		data, err := os.ReadFile(tmp.Name())
		if err != nil {
			return "", err
		}
		sum := sha256.Sum256(data)
		key = "out-" + hex.EncodeToString(sum[:16])
	}
	path := filepath.Join(dir, key+c.Ext)
	if err := os.Rename(tmp.Name(), path); err != nil {
		return "", fmt.Errorf("wfn: cannot store a build: %w", err)
	}
	return path, nil
}

// HashFiles writes to h the path and SHA-256 of each file, in sorted order
// and once each; a missing file is written as missing. It is how a
// builder's key covers its inputs.
func HashFiles(h io.Writer, paths []string) error {
	files := make(map[string]string, len(paths))
	for _, p := range paths {
		files[p] = p
	}
	return HashFilesAs(h, files)
}

// HashFilesAs is HashFiles for files read from elsewhere (a copy that the
// build compiles): files maps the path written to h to the one read.
func HashFilesAs(h io.Writer, files map[string]string) error {
	for _, p := range slices.Sorted(maps.Keys(files)) {
		data, err := os.ReadFile(files[p])
		if errors.Is(err, os.ErrNotExist) {
			fmt.Fprintf(h, "missing %s\x00", p)
			continue
		} else if err != nil {
			return err
		}
		HashSum(h, p, sha256.Sum256(data))
	}
	return nil
}

// HashSum writes to h the path and SHA-256 of a file read already, as
// HashFiles writes them.
func HashSum(h io.Writer, path string, sum [sha256.Size]byte) {
	fmt.Fprintf(h, "file %s %x\x00", path, sum)
}
