// Package cbuild builds C guests to WebAssembly reactors with clang
// (--target=wasm32-wasi -mexec-model=reactor) against wasi-libc, cached by
// the content of every file that goes into them.
//
// The SDK header wfn.h (guests/sdk/c/wfn.h; this package embeds a copy) is
// written into the cache and put on the include path, so `#include "wfn.h"`
// works wherever the function lives.
package cbuild

//go:generate cp ../../../guests/sdk/c/wfn.h wfn.h

import (
	"bytes"
	"context"
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/wfn-dev/wfn/host/internal/buildcache"
)

// Header is the SDK header, wfn.h, that every build can include.
//
//go:embed wfn.h
var Header []byte

// Packages names what to install on Debian and Ubuntu to build C functions.
const Packages = "clang lld wasi-libc libclang-rt-dev-wasm32"

// ErrNoClang is returned (wrapped, with the reason) when clang, wasm-ld or
// the wasm32-wasi sysroot cannot be found or cannot link a reactor.
var ErrNoClang = errors.New("wfn: clang for wasm32-wasi is needed to build C functions (Debian/Ubuntu: apt-get install " + Packages + "; elsewhere: wasi-sdk, with WASI_SYSROOT set to its sysroot)")

// BuildError is a C guest that does not compile.
type BuildError struct {
	Function string // the function's source, such as api/hello
	Output   string // what clang printed; file names are relative to the function's directory
	Err      error
}

func (e *BuildError) Error() string {
	out := strings.TrimRight(e.Output, "\n")
	if strings.TrimSpace(out) == "" && e.Err != nil {
		// clang said nothing: it was killed, or never started (no
		// pipe for its output when the process is out of file
		// descriptors). How it ended is the reason.
		out = e.Err.Error()
	}
	return fmt.Sprintf("cannot build %s:\n%s", e.Function, out)
}

func (e *BuildError) Unwrap() error { return e.Err }

// Flags are the compile and link flags of every build, after
// --target=wasm32-wasi --sysroot=SYSROOT and before the include directories.
var Flags = []string{
	"-mexec-model=reactor", // crt1-reactor.o: exports _initialize, never _start
	"-O2",
	"-Wall",
	"-fno-color-diagnostics",
	"-Wl,--strip-debug", // Debian's libc.a has DWARF; keep the name section
}

// Builder builds C guests into a cache directory.
type Builder struct {
	// CacheDir holds the built .wasm files, named by content hash, and
	// the SDK header.
	CacheDir string
	// Clang is the compiler; empty means $WFN_CLANG, else clang on PATH.
	Clang string
	// Sysroot is the wasm32-wasi sysroot; empty means $WASI_SYSROOT, else
	// the first of /usr (Debian's wasi-libc), /usr/share/wasi-sysroot and
	// /opt/wasi-sdk/share/wasi-sysroot that has lib/wasm32-wasi/libc.a.
	Sysroot string

	mu         sync.Mutex
	checked    bool
	clang      string
	sysroot    string
	version    string // clang --version
	libcStamp  string // size and time of the sysroot's libc.a and crt1-reactor.o
	includeDir string // holds wfn.h
	cacheDir   string // CacheDir, absolute
	initErr    error

	workMu sync.Map // work directory -> *sync.Mutex
}

var sysroots = []string{"/usr", "/usr/share/wasi-sysroot", "/opt/wasi-sdk/share/wasi-sysroot"}

// Check reports whether C functions can be built: ErrNoClang (wrapped)
// when the toolchain is missing. Build calls it; its result is kept, unless
// ctx ended while it ran.
func (b *Builder) Check(ctx context.Context) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.checked {
		return b.initErr
	}
	err := b.init(ctx)
	if err != nil && ctx.Err() != nil {
		return err
	}
	b.checked, b.initErr = true, err
	return err
}

func (b *Builder) init(ctx context.Context) error {
	clang := b.Clang
	if clang == "" {
		clang = os.Getenv("WFN_CLANG")
	}
	if clang == "" {
		clang = "clang"
	}
	path, err := exec.LookPath(clang)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrNoClang, err)
	}
	b.clang = path
	out, err := exec.CommandContext(ctx, b.clang, "--version").Output()
	if err != nil {
		return fmt.Errorf("%w: %s --version: %w", ErrNoClang, b.clang, err)
	}
	b.version = string(out)

	sysroot := b.Sysroot
	if sysroot == "" {
		sysroot = os.Getenv("WASI_SYSROOT")
	}
	if sysroot == "" {
		for _, s := range sysroots {
			if _, err := os.Stat(filepath.Join(s, "lib", "wasm32-wasi", "libc.a")); err == nil {
				sysroot = s
				break
			}
		}
	}
	if sysroot == "" {
		return fmt.Errorf("%w: no wasm32-wasi sysroot (lib/wasm32-wasi/libc.a) in %s", ErrNoClang, strings.Join(sysroots, ", "))
	}
	b.sysroot = sysroot
	var stamp strings.Builder
	for _, f := range []string{"libc.a", "crt1-reactor.o"} {
		st, err := os.Stat(filepath.Join(sysroot, "lib", "wasm32-wasi", f))
		if err != nil {
			return fmt.Errorf("%w: sysroot %s: %w", ErrNoClang, sysroot, err)
		}
		fmt.Fprintf(&stamp, "%s %d %d\x00", f, st.Size(), st.ModTime().UnixNano())
	}
	b.libcStamp = stamp.String()

	cacheDir, err := filepath.Abs(b.CacheDir)
	if err != nil {
		return err
	}
	sum := sha256.Sum256(Header)
	b.cacheDir = cacheDir
	b.includeDir = filepath.Join(cacheDir, "include-"+hex.EncodeToString(sum[:6]))
	if err := writeOnce(filepath.Join(b.includeDir, "wfn.h"), Header); err != nil {
		return fmt.Errorf("wfn: cannot write the C SDK header: %w", err)
	}

	// Link a trivial reactor: finds a missing wasm-ld, builtins library or
	// libc now, with a message about packages rather than a link error in
	// the user's function.
	probe, err := os.MkdirTemp(cacheDir, "probe-*")
	if err != nil {
		return fmt.Errorf("wfn: cannot create build cache: %w", err)
	}
	defer os.RemoveAll(probe)
	src := filepath.Join(probe, "probe.c")
	if err := os.WriteFile(src, []byte("#include <stdlib.h>\n#include \"wfn.h\"\nWFN_HANDLER(wfn_handle) { free(malloc(1)); }\n"), 0o644); err != nil {
		return err
	}
	cmd := exec.CommandContext(ctx, b.clang, b.args(probe, filepath.Join(probe, "probe.wasm"), []string{src})...)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("%w: %s cannot link a wasm32-wasi reactor with sysroot %s: %v\n%s", ErrNoClang, b.clang, b.sysroot, err, strings.TrimSpace(string(out)))
	}
	return nil
}

// writeOnce writes data to path unless it already holds exactly that,
// atomically, so that concurrent builders never see a partial file.
func writeOnce(path string, data []byte) error {
	if old, err := os.ReadFile(path); err == nil && bytes.Equal(old, data) {
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	f, err := os.CreateTemp(filepath.Dir(path), ".tmp-*")
	if err != nil {
		return err
	}
	_, werr := f.Write(data)
	if err := errors.Join(werr, f.Close()); err != nil {
		os.Remove(f.Name())
		return err
	}
	if err := os.Rename(f.Name(), path); err != nil {
		os.Remove(f.Name())
		return err
	}
	return nil
}

// common are the flags shared by compiling and listing dependencies.
func (b *Builder) common(dir string) []string {
	return []string{"--target=wasm32-wasi", "--sysroot=" + b.sysroot, "-I", dir, "-I", b.includeDir}
}

func (b *Builder) args(dir, out string, files []string) []string {
	args := []string{"--target=wasm32-wasi", "--sysroot=" + b.sysroot}
	args = append(args, Flags...)
	args = append(args, "-I", dir, "-I", b.includeDir, "-o", out)
	return append(args, files...)
}

// Build compiles and links files, the .c files of the function in dir
// (names relative to dir, or absolute; nil means every .c file in dir),
// and returns the path of the .wasm file. name is the function's source,
// for errors. cached reports whether an earlier build of the same content
// was reused.
func (b *Builder) Build(ctx context.Context, name, dir string, files []string) (wasm string, cached bool, err error) {
	if err := b.Check(ctx); err != nil {
		return "", false, err
	}
	if files == nil {
		ents, err := os.ReadDir(dir)
		if err != nil {
			return "", false, fmt.Errorf("wfn: cannot read %s: %w", name, err)
		}
		for _, e := range ents {
			if !e.IsDir() && strings.HasSuffix(e.Name(), ".c") {
				files = append(files, e.Name())
			}
		}
	}
	var srcs []string
	for _, f := range files {
		if strings.HasSuffix(f, ".c") {
			srcs = append(srcs, f)
		}
	}
	if len(srcs) == 0 {
		return "", false, &BuildError{Function: name, Output: "no .c files"}
	}
	sort.Strings(srcs)

	// The builds of one function take turns: they write its copies.
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", false, err
	}
	sum := sha256.Sum256([]byte(fmt.Sprintf("%s\x00%q", abs, srcs)))
	work := filepath.Join(b.cacheDir, "src", hex.EncodeToString(sum[:10]))
	mu, _ := b.workMu.LoadOrStore(work, new(sync.Mutex))
	mu.(*sync.Mutex).Lock()
	defer mu.(*sync.Mutex).Unlock()

	key, vfs, keyErr := b.key(ctx, abs, work, srcs)
	if keyErr == nil {
		if wasm, ok := (buildcache.Cache{Dir: b.CacheDir, Ext: ".wasm"}).Lookup(key); ok {
			return wasm, true, nil
		}
	}
	var overlay []string
	if keyErr != nil {
		key = "" // inputs unknown, yet the build may pass: store by content
	} else {
		overlay = []string{"-ivfsoverlay", vfs}
	}
	if beforeCompile != nil {
		beforeCompile(dir)
	}
	wasm, err = buildcache.Cache{Dir: b.CacheDir, Ext: ".wasm"}.Build(key, func(dst string) error {
		cmd := exec.CommandContext(ctx, b.clang, append(overlay, b.args(".", dst, srcs)...)...)
		cmd.Dir = dir
		var log bytes.Buffer
		cmd.Stdout, cmd.Stderr = &log, &log
		if err := cmd.Run(); err != nil {
			return &BuildError{Function: name, Output: log.String(), Err: err}
		}
		return nil
	})
	if errors.Is(err, buildcache.ErrNoOutput) {
		return "", false, &BuildError{Function: name, Output: "clang wrote no output", Err: err}
	}
	if err != nil {
		return "", false, err
	}
	return wasm, false, nil
}

// beforeCompile, when set (by a test), is called with the build's
// directory after its key was made and before clang compiles.
var beforeCompile func(dir string)

// key hashes everything a build depends on: the compiler's version, the
// sysroot's libc, the flags, the SDK header, every .c and .h file in dir,
// and every other non-system header the sources include (clang -MM).
// Each file is read once into a copy in work, and the key hashes the
// copy: vfs is a clang -ivfsoverlay file that has the compile read the
// copies under the files' names, so that a file saved during the build
// cannot put the former code under the new content's key, nor the new
// code under the former's. The headers are listed from the copies too.
func (b *Builder) key(ctx context.Context, dir, work string, srcs []string) (key, vfs string, err error) {
	h := sha256.New()
	fmt.Fprintf(h, "wfn-cbuild-1\x00%s\x00%s\x00%s\x00", b.version, b.sysroot, b.libcStamp)
	fmt.Fprintf(h, "flags %q\x00srcs %q\x00", Flags, srcs)
	sum := sha256.Sum256(Header)
	fmt.Fprintf(h, "wfn.h %x\x00", sum)

	copies := map[string]string{} // file -> its copy
	var fresh []string
	add := func(p string) {
		if !filepath.IsAbs(p) {
			p = filepath.Join(dir, p)
		}
		p = filepath.Clean(p)
		if _, ok := copies[p]; !ok && filepath.Dir(p) != b.includeDir {
			copies[p] = ""
			fresh = append(fresh, p)
		}
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		return "", "", err
	}
	for _, e := range ents {
		if !e.IsDir() && (strings.HasSuffix(e.Name(), ".c") || strings.HasSuffix(e.Name(), ".h")) {
			add(e.Name())
		}
	}
	for _, s := range srcs {
		add(s)
	}
	vfs = filepath.Join(work, "vfs.json")
	// Until clang lists no header that has no copy: a header first read
	// in a round may include others.
	for len(fresh) > 0 {
		for _, p := range fresh {
			cp, err := copyInput(work, p)
			if err != nil {
				return "", "", err
			}
			copies[p] = cp
		}
		fresh = fresh[:0]
		if err := writeVFS(vfs, copies); err != nil {
			return "", "", err
		}
		args := append(append([]string{"-ivfsoverlay", vfs}, b.common(".")...), "-MM")
		cmd := exec.CommandContext(ctx, b.clang, append(args, srcs...)...)
		cmd.Dir = dir
		out, err := cmd.Output()
		if err != nil {
			return "", "", err
		}
		for _, p := range parseDeps(string(out)) {
			add(p)
		}
	}
	if err := buildcache.HashFilesAs(h, copies); err != nil {
		return "", "", err
	}
	return hex.EncodeToString(h.Sum(nil)[:20]), vfs, nil
}

// copyInput reads file once into a copy in work, named by the file's
// path, and returns the copy's path. A missing file has no copy: the
// overlay leaves it to clang, which finds it missing.
func copyInput(work, file string) (string, error) {
	data, err := os.ReadFile(file)
	if errors.Is(err, os.ErrNotExist) {
		return file, nil
	} else if err != nil {
		return "", err
	}
	sum := sha256.Sum256([]byte(file))
	cp := filepath.Join(work, "in", hex.EncodeToString(sum[:8]), filepath.Base(file))
	return cp, writeOnce(cp, data)
}

// writeVFS writes a clang -ivfsoverlay file that has clang read each file
// of copies from its copy, under the file's own name (in its messages,
// __FILE__ and -MM's list).
func writeVFS(vfs string, copies map[string]string) error {
	type entry struct {
		Type     string `json:"type"`
		Name     string `json:"name"`
		Contents string `json:"external-contents"`
	}
	roots := []entry{}
	for _, p := range slices.Sorted(maps.Keys(copies)) {
		if cp := copies[p]; cp != "" && cp != p {
			roots = append(roots, entry{"file", p, cp})
		}
	}
	data, err := json.Marshal(map[string]any{"version": 0, "use-external-names": false, "roots": roots})
	if err != nil {
		return err
	}
	return writeOnce(vfs, data)
}

// parseDeps returns the prerequisites of make rules as clang -MM prints
// them: "a.o: a.c dir/x.h \<newline> y.h", with spaces in names escaped.
func parseDeps(s string) []string {
	s = strings.ReplaceAll(s, "\\\r\n", " ")
	s = strings.ReplaceAll(s, "\\\n", " ")
	var deps []string
	var cur strings.Builder
	flush := func() {
		if cur.Len() == 0 {
			return
		}
		w := cur.String()
		cur.Reset()
		if strings.HasSuffix(w, ":") { // a rule's target
			return
		}
		deps = append(deps, w)
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '\\' && i+1 < len(s) && (s[i+1] == ' ' || s[i+1] == '#'):
			cur.WriteByte(s[i+1])
			i++
		case c == '$' && i+1 < len(s) && s[i+1] == '$':
			cur.WriteByte('$')
			i++
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			flush()
		default:
			cur.WriteByte(c)
		}
	}
	flush()
	return deps
}
