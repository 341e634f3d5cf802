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
	"maps"
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
	out := strings.TrimRight(e.Output, "\n")
	if strings.TrimSpace(out) == "" && e.Err != nil {
		// the go command said nothing: it was killed, or never started (no
		// pipe for its output when the process is out of file
		// descriptors). How it ended is the reason.
		out = e.Err.Error()
	}
	return fmt.Sprintf("cannot build %s:\n%s", e.Function, out)
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
	modCache  string // GOMODCACHE, whose files never change
	goErr     error

	workMu  sync.Map // work directory -> *sync.Mutex
	sdkOnce sync.Once
	sdk     string // the Go SDK, written out (sdkDir)
	sdkGo   string // the go version of its go.mod
	sdkErr  error
}

func (b *Builder) init(ctx context.Context) error {
	b.once.Do(func() {
		b.goBin, b.goErr = exec.LookPath("go")
		if b.goErr != nil {
			b.goErr = fmt.Errorf("%w: %w", ErrNoGo, b.goErr)
			return
		}
		cmd := exec.CommandContext(ctx, b.goBin, "env", "GOVERSION", "GOWASM", "GOEXPERIMENT", "GOMODCACHE")
		cmd.Env = goEnv()
		out, err := cmd.Output()
		if err != nil {
			b.goErr = fmt.Errorf("wfn: go env GOVERSION GOWASM GOEXPERIMENT GOMODCACHE: %w", err)
			return
		}
		env := strings.TrimSpace(string(out))
		i := strings.LastIndexByte(env, '\n')
		b.toolchain, b.modCache = strings.TrimSpace(env[:max(i, 0)]), env[i+1:]
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
	flags := tagFlags(tags)
	sum := sha256.Sum256([]byte(fmt.Sprintf("%s\x00%q\x00%q", dir, flags, files)))
	work, err := filepath.Abs(filepath.Join(b.CacheDir, "main", hex.EncodeToString(sum[:10])))
	if err != nil {
		return "", false, err
	}
	unlock := b.lockWork(work)
	defer unlock()
	return b.build(ctx, name, dir, work, flags, files, nil, nil)
}

// lockWork makes the builds that use the work directory work take turns:
// they write its files.
func (b *Builder) lockWork(work string) (unlock func()) {
	mu, _ := b.workMu.LoadOrStore(work, new(sync.Mutex))
	mu.(*sync.Mutex).Lock()
	return mu.(*sync.Mutex).Unlock
}

// tagFlags is the -tags flag for tags, none for none.
func tagFlags(tags []string) []string {
	if len(tags) == 0 {
		return nil
	}
	return []string{"-tags=" + strings.Join(tags, ",")}
}

// build runs go build with flags on the package args in dir, through an
// overlay written in work (the caller holds lockWork(work)). reads maps
// the files the go command sees through the overlay to those it reads;
// every other file of the build that may change (not in the module
// cache) is read once into a copy in work that the go command compiles,
// and the key hashes the copies: the very bytes compiled, so that a file
// saved during the build cannot put the former code under the new
// content's key, nor the new code under the former's. names maps the names its
// output may give a file to the project's file, for errors.
func (b *Builder) build(ctx context.Context, name, dir, work string, flags, args []string, reads, names map[string]string) (wasm string, cached bool, err error) {
	key, overlay, keyErr := b.key(ctx, dir, work, flags, args, reads)
	if keyErr == nil {
		if wasm, ok := (buildcache.Cache{Dir: b.CacheDir, Ext: ".wasm"}).Lookup(key); ok {
			return wasm, true, nil
		}
	}
	if keyErr != nil {
		key = "" // inputs unknown, yet the build may pass: store by content
		overlay = reads
	}
	buildFlags := flags
	if len(overlay) > 0 {
		ovFile, err := writeOverlay(work, "overlay.json", overlay)
		if err != nil {
			return "", false, err
		}
		buildFlags = append([]string{"-overlay=" + ovFile}, flags...)
		names = maps.Clone(names)
		if names == nil {
			names = map[string]string{}
		}
		for seen, cp := range overlay {
			if cp == reads[seen] {
				continue // the caller's
			}
			if n, ok := names[seen]; ok {
				names[cp] = n
			} else {
				names[cp] = shortPath(dir, seen)
			}
		}
	}
	if beforeCompile != nil {
		beforeCompile(dir)
	}
	wasm, err = buildcache.Cache{Dir: b.CacheDir, Ext: ".wasm"}.Build(key, func(dst string) error {
		cmdArgs := append(append([]string{"build", "-buildmode=c-shared", "-trimpath", "-o", dst}, buildFlags...), args...)
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

// beforeCompile, when set (by a test), is called with the build's
// directory after its key was made and before the go command compiles.
var beforeCompile func(dir string)

// writeOverlay writes an -overlay file named name in work, replacing each
// file the go command sees by the one it reads.
func writeOverlay(work, name string, replace map[string]string) (string, error) {
	if err := os.MkdirAll(work, 0o755); err != nil {
		return "", fmt.Errorf("wfn: cannot create %s: %w", work, err)
	}
	ov, err := json.Marshal(map[string]any{"Replace": replace})
	if err != nil {
		return "", err
	}
	file := filepath.Join(work, name)
	return file, writeIfChanged(file, ov)
}

// shortPath is the name the go command gives, in its output, a file of
// the package in the directory of file: relative to dir when that is
// shorter, with ./ for dir itself.
func shortPath(dir, file string) string {
	if abs, err := filepath.Abs(dir); err == nil {
		dir = abs
	}
	d := filepath.Dir(file)
	if rel, err := filepath.Rel(dir, d); err == nil && len(rel) < len(d) {
		d = rel
	}
	return d + string(filepath.Separator) + filepath.Base(file)
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
// with the go.mod and go.sum of their modules. reads maps a file the go
// command sees to the one it reads, which is hashed in its place. Any
// other file that can change (one not in the build cache nor the module
// cache) is read once into a copy in work, which is hashed (under the
// file's name) and which the go command is to compile. overlay is reads
// with the copies, for the build.
func (b *Builder) key(ctx context.Context, dir, work string, flags, files []string, reads map[string]string) (key string, overlay map[string]string, err error) {
	if len(reads) > 0 {
		ovFile, err := writeOverlay(work, "overlay-list.json", reads)
		if err != nil {
			return "", nil, err
		}
		flags = append([]string{"-overlay=" + ovFile}, flags...)
	}
	pkgs, err := b.list(ctx, dir, flags, files)
	if err != nil {
		return "", nil, err
	}
	// The files in the build cache (the copies the caller made, the
	// SDK) and in the module cache are never changed but replaced.
	cacheDir, err := filepath.Abs(b.CacheDir)
	if err != nil {
		return "", nil, err
	}
	h := sha256.New()
	fmt.Fprintf(h, "wfn-gobuild-4\x00%s\x00%s\x00", b.toolchain, os.Getenv("GOFLAGS"))
	overlay = maps.Clone(reads)
	if overlay == nil {
		overlay = map[string]string{}
	}
	hashed := map[string]string{} // the path hashed -> the file read
	for _, p := range pkgs {
		fmt.Fprintf(h, "pkg %s\x00", p.ImportPath)
		for _, f := range p.files() {
			read := f
			if r, ok := reads[f]; ok {
				read = r
			}
			if within(cacheDir, read) || within(b.modCache, read) {
				hashed[read] = read
				continue
			}
			cp, err := copyInput(work, read)
			if err != nil {
				return "", nil, err
			}
			overlay[f], hashed[read] = cp, cp
		}
		if p.Module != nil && p.Module.GoMod != "" {
			for _, f := range []string{p.Module.GoMod, strings.TrimSuffix(p.Module.GoMod, ".mod") + ".sum"} {
				hashed[f] = f
			}
		}
	}
	if err := buildcache.HashFilesAs(h, hashed); err != nil {
		return "", nil, err
	}
	return hex.EncodeToString(h.Sum(nil)[:20]), overlay, nil
}

// listedPkg is a non-standard package of a build, as go list prints it.
type listedPkg struct {
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

// files are the paths of the files the go command reads of p.
func (p listedPkg) files() []string {
	var out []string
	for _, group := range [][]string{p.GoFiles, p.CgoFiles, p.EmbedFiles, p.OtherFiles} {
		for _, f := range group {
			out = append(out, filepath.Join(p.Dir, f))
		}
	}
	return out
}

// list lists the non-standard packages of the build of files with flags.
func (b *Builder) list(ctx context.Context, dir string, flags, files []string) ([]listedPkg, error) {
	args := append(append([]string{"list", "-deps", "-json=ImportPath,Dir,GoFiles,CgoFiles,EmbedFiles,OtherFiles,Standard,Module,Error"}, flags...), files...)
	cmd := exec.CommandContext(ctx, b.goBin, args...)
	cmd.Dir = dir
	cmd.Env = goEnv()
	out, err := cmd.Output()
	if err != nil {
		return nil, err
	}
	var pkgs []listedPkg
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		var p listedPkg
		if err := dec.Decode(&p); errors.Is(err, io.EOF) {
			return pkgs, nil
		} else if err != nil {
			return nil, err
		}
		if p.Error != nil {
			return nil, errors.New(p.Error.Err)
		}
		if !p.Standard {
			pkgs = append(pkgs, p)
		}
	}
}

// within reports whether file is in dir or under it.
func within(dir, file string) bool {
	rel, err := filepath.Rel(dir, file)
	return dir != "" && err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator))
}

// copyInput reads file once into a copy in work, named by the file's
// path, and returns the copy's path.
func copyInput(work, file string) (string, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256([]byte(file))
	cp := filepath.Join(work, "in", hex.EncodeToString(sum[:8]), filepath.Base(file))
	if err := os.MkdirAll(filepath.Dir(cp), 0o755); err != nil {
		return "", fmt.Errorf("wfn: cannot create %s: %w", filepath.Dir(cp), err)
	}
	return cp, writeIfChanged(cp, data)
}
