// Package gobuild builds Go guests to WebAssembly reactors
// (GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared), cached by the
// content of every file that goes into them.
package gobuild

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"

	"github.com/wfn-dev/wfn/host/internal/buildcache"
)

// ErrNoGo is returned when the go command cannot be found.
var ErrNoGo = errors.New("wfn: the go command is not on PATH; it is needed to build Go functions")

// BuildError is a Go guest that does not compile.
type BuildError struct {
	Function string // the function's source, such as api/hello
	Output   string // what the go command printed
	Err      error
}

func (e *BuildError) Error() string {
	return fmt.Sprintf("cannot build %s:\n%s", e.Function, strings.TrimRight(e.Output, "\n"))
}

func (e *BuildError) Unwrap() error { return e.Err }

// Builder builds Go guests into a cache directory.
type Builder struct {
	// CacheDir holds the built .wasm files, named by content hash.
	CacheDir string

	once  sync.Once
	goBin string
	// toolchain is what go env prints for the Go version and the settings
	// that change the code a build makes without changing its inputs
	// (GOWASM, GOEXPERIMENT),
	// as the go command sees them for a guest (goEnv), also when set with
	// go env -w: part of every build's key.
	toolchain string
	goErr     error

	handlerMu sync.Map // work directory -> *sync.Mutex
	sdkOnce   sync.Once
	sdk       string // the Go SDK, written out (sdkDir)
	sdkGo     string // the go version of its go.mod
	sdkErr    error
}

func (b *Builder) init(ctx context.Context) error {
	b.once.Do(func() {
		b.goBin, b.goErr = exec.LookPath("go")
		if b.goErr != nil {
			b.goErr = fmt.Errorf("%w: %w", ErrNoGo, b.goErr)
			return
		}
		cmd := exec.CommandContext(ctx, b.goBin, "env", "GOVERSION", "GOWASM", "GOEXPERIMENT")
		cmd.Env = goEnv()
		out, err := cmd.Output()
		if err != nil {
			b.goErr = fmt.Errorf("wfn: go env GOVERSION GOWASM GOEXPERIMENT: %w", err)
			return
		}
		b.toolchain = strings.TrimSpace(string(out))
	})
	return b.goErr
}

// Build builds the main package made of files in dir and returns the path of
// the .wasm file. name is the function's source, for errors. cached reports
// whether an earlier build of the same content was reused.
func (b *Builder) Build(ctx context.Context, name, dir string, files []string) (wasm string, cached bool, err error) {
	return b.BuildTags(ctx, name, dir, files, nil)
}

// TagFluid is the build tag that links the Go SDK's ABI version 2
// runtime (abi/SPEC-v2.md) instead of version 1's: wfn sets it for a
// function configured with "fluid": true.
const TagFluid = "wfn_fluid"

// BuildTags is Build with build tags (go build -tags), such as TagFluid.
func (b *Builder) BuildTags(ctx context.Context, name, dir string, files, tags []string) (wasm string, cached bool, err error) {
	if err := b.init(ctx); err != nil {
		return "", false, err
	}
	return b.build(ctx, name, dir, tagFlags(tags), files, nil, nil)
}

// tagFlags is the -tags flag for tags, none for none.
func tagFlags(tags []string) []string {
	if len(tags) == 0 {
		return nil
	}
	return []string{"-tags=" + strings.Join(tags, ",")}
}

// build runs go build with flags on the package args in dir. reads maps
// the files the go command sees through -overlay to those it reads (the
// overlay's Replace), which the key hashes: the very bytes compiled, so
// that a file saved during the build cannot put the former code under
// the new content's key. names maps the names its output may give a file
// to the project's file, for errors.
func (b *Builder) build(ctx context.Context, name, dir string, flags, args []string, reads, names map[string]string) (wasm string, cached bool, err error) {
	key, keyErr := b.key(ctx, dir, flags, args, reads)
	if keyErr == nil {
		if wasm, ok := (buildcache.Cache{Dir: b.CacheDir, Ext: ".wasm"}).Lookup(key); ok {
			return wasm, true, nil
		}
	}
	if keyErr != nil {
		key = "" // inputs unknown, yet the build may pass: store by content
	}
	wasm, err = buildcache.Cache{Dir: b.CacheDir, Ext: ".wasm"}.Build(key, func(dst string) error {
		cmdArgs := append(append([]string{"build", "-buildmode=c-shared", "-trimpath", "-o", dst}, flags...), args...)
		cmd := exec.CommandContext(ctx, b.goBin, cmdArgs...)
		cmd.Dir = dir
		cmd.Env = goEnv()
		var log bytes.Buffer
		cmd.Stdout, cmd.Stderr = &log, &log
		if err := cmd.Run(); err != nil {
			return &BuildError{Function: name, Output: realPaths(cleanOutput(log.String()), dir, names), Err: err}
		}
		return nil
	})
	if errors.Is(err, buildcache.ErrNoOutput) {
		return "", false, &BuildError{Function: name, Output: "the go command wrote no output", Err: err}
	}
	if err != nil {
		return "", false, err
	}
	return wasm, false, nil
}

func goEnv() []string {
	return append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm", "CGO_ENABLED=0")
}

// cleanOutput drops the go command's package header lines.
func cleanOutput(s string) string {
	var keep []string
	for _, line := range strings.Split(s, "\n") {
		if strings.HasPrefix(line, "# command-line-arguments") {
			continue
		}
		keep = append(keep, line)
	}
	return strings.Join(keep, "\n")
}

// realPaths replaces, in the go command's output, the paths it saw through
// the overlay with those of the files it read, relative to dir when it can.
func realPaths(out, dir string, overlay map[string]string) string {
	if len(overlay) == 0 {
		return out
	}
	lines := strings.Split(out, "\n")
	out = strings.Join(slices.DeleteFunc(lines, func(l string) bool {
		return strings.HasPrefix(l, "# ") && strings.Contains(l, generatedDir)
	}), "\n")
	// The longest first: a name may end another (a relative //line name,
	// which the go command joins to the generated directory).
	var pairs [][2]string
	for seen, real := range overlay {
		if r, err := filepath.Rel(dir, real); err == nil && !strings.HasPrefix(r, "..") {
			real = r
		}
		pairs = append(pairs, [2]string{seen, real})
		if r, err := filepath.Rel(dir, seen); err == nil {
			pairs = append(pairs, [2]string{r, real})
		}
	}
	slices.SortFunc(pairs, func(a, b [2]string) int { return len(b[0]) - len(a[0]) })
	for _, p := range pairs {
		out = strings.ReplaceAll(out, p[0], p[1])
	}
	return out
}

// key hashes everything a build depends on: the toolchain version and
// environment, and every file of every non-standard package in the build,
// with the go.mod and go.sum of their modules. overlay maps a file the go
// command sees to the one it reads, which is hashed in its place.
func (b *Builder) key(ctx context.Context, dir string, flags, files []string, overlay map[string]string) (string, error) {
	args := append(append([]string{"list", "-deps", "-json=ImportPath,Dir,GoFiles,CgoFiles,EmbedFiles,OtherFiles,Standard,Module,Error"}, flags...), files...)
	cmd := exec.CommandContext(ctx, b.goBin, args...)
	cmd.Dir = dir
	cmd.Env = goEnv()
	out, err := cmd.Output()
	if err != nil {
		return "", err
	}
	type pkg struct {
		ImportPath string
		Dir        string
		GoFiles    []string
		CgoFiles   []string
		EmbedFiles []string
		OtherFiles []string
		Standard   bool
		Module     *struct{ GoMod string }
		Error      *struct{ Err string }
	}
	h := sha256.New()
	fmt.Fprintf(h, "wfn-gobuild-3\x00%s\x00%s\x00", b.toolchain, os.Getenv("GOFLAGS"))
	var paths []string
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		var p pkg
		if err := dec.Decode(&p); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			return "", err
		}
		if p.Error != nil {
			return "", errors.New(p.Error.Err)
		}
		if p.Standard {
			continue
		}
		fmt.Fprintf(h, "pkg %s\x00", p.ImportPath)
		for _, group := range [][]string{p.GoFiles, p.CgoFiles, p.EmbedFiles, p.OtherFiles} {
			for _, f := range group {
				f = filepath.Join(p.Dir, f)
				if real, ok := overlay[f]; ok {
					f = real
				}
				paths = append(paths, f)
			}
		}
		if p.Module != nil && p.Module.GoMod != "" {
			paths = append(paths, p.Module.GoMod, strings.TrimSuffix(p.Module.GoMod, ".mod")+".sum")
		}
	}
	if err := buildcache.HashFiles(h, paths); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)[:20]), nil
}
