package gobuild

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"go/version"
	"io/fs"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"strings"
	"text/template"

	"github.com/wfn-dev/wfn/host/internal/route"
)

// generatedDir starts the name of the directory, seen only by the go
// command, of a handler's generated packages.
const generatedDir = "wfnfn_"

// generatedNames matches a handler's generated package where a stack
// trace names its functions: in Go's ("example.com/m/api/wfnfn_1a2b3c4d/fn.Handler")
// and in the engine's, where the path's slashes are underscores.
var generatedNames = regexp.MustCompile(`[/_]` + generatedDir + `[0-9a-f]{8}[/_]fn\.`)

// TraceNames rewrites, in a line of a handler's output or error, the
// functions of its generated package to the package of the handler's file:
// "example.com/m/api/wfnfn_1a2b3c4d/fn.Handler" becomes
// "example.com/m/api.Handler", as a panic's trace in Vercel's Go runtime
// would name it (with an import path's unsafe characters, such as [id]'s
// brackets, as underscores). A line without one is returned as it is.
func TraceNames(line string) string {
	if !strings.Contains(line, generatedDir) {
		return line
	}
	return generatedNames.ReplaceAllString(line, ".")
}

// sdkModule is the module path of the Go guest SDK.
const sdkModule = "github.com/wfn-dev/wfn"

// noModule is the module path of a handler with no go.mod in its
// directory or above.
const noModule = "handler"

// errNoGoMod is moduleRoot's error when no directory has a go.mod.
var errNoGoMod = errors.New("no go.mod")

// Handler is one .go file of a non-main package that exports a net/http
// handler, in the shape of Vercel's Go runtime (shared/VERCEL.md section
// 4.2).
type Handler struct {
	// Name is the function's source, such as api/users/[id].go, for errors.
	Name string
	// File is the absolute path of the .go file.
	File string
	// Siblings are the names of the files of its directory that go into
	// its package with it: those that export no handler.
	Siblings []string
	// Func is the name of the exported handler, such as Handler.
	Func string
	// Params are the names of the route's params, which the adapter sets
	// as the request's path values (r.PathValue).
	Params []string
	// Tags are build tags (go build -tags), such as TagFluid.
	Tags []string
}

// BuildHandler builds a Handler file into a guest with the module it
// belongs to (the go.mod in its directory or above): it generates a main
// package in the cache that imports the file's package and serves Func
// through the SDK's net/http adapter (wfnhttp.Handle). The go command sees
// the file with its siblings, and the generated main, in directories of
// their own through an overlay, so that several handler files of one
// directory make several functions and nothing is written to the
// project. When the project's go.mod does not require the SDK, the SDK of
// the wfn module this package was built from is required (sdkDir),
// through an alternate go.mod (-modfile).
func (b *Builder) BuildHandler(ctx context.Context, h Handler) (wasm string, cached bool, err error) {
	if err := b.init(ctx); err != nil {
		return "", false, err
	}
	root, err := moduleRoot(filepath.Dir(h.File))
	var mod *goMod
	switch {
	case errors.Is(err, errNoGoMod):
		// Vercel's Go runtime builds such a file too: it gets a module of
		// its own, in its directory (modfile writes its go.mod).
		root, mod = filepath.Dir(h.File), &goMod{}
		mod.Module.Path = noModule
	case err != nil:
		return "", false, &BuildError{Function: h.Name, Output: err.Error(), Err: err}
	default:
		if mod, err = b.readGoMod(ctx, filepath.Join(root, "go.mod")); err != nil {
			return "", false, &BuildError{Function: h.Name, Output: err.Error(), Err: err}
		}
	}
	sum := sha256.Sum256([]byte(h.File))
	work, err := filepath.Abs(filepath.Join(b.CacheDir, "handler", hex.EncodeToString(sum[:10])))
	if err != nil {
		return "", false, err
	}
	// One build at a time writes a function's generated files.
	unlock := b.lockWork(work)
	defer unlock()
	if err := os.MkdirAll(work, 0o755); err != nil {
		return "", false, fmt.Errorf("wfn: cannot create %s: %w", work, err)
	}
	// The package's directory, relative to the module root, with the
	// characters an import path cannot hold (such as the brackets of
	// [id]) replaced: the generated packages live under it, so that the
	// file's imports of internal packages stay allowed.
	rel, err := filepath.Rel(root, filepath.Dir(h.File))
	if err != nil {
		return "", false, err
	}
	vdir := path.Join(importSafe(filepath.ToSlash(rel)), generatedDir+hex.EncodeToString(sum[:4]))
	overlay := map[string]string{
		filepath.Join(root, vdir, "fn", "wfn_entry.go"): h.File,
	}
	for _, s := range h.Siblings {
		overlay[filepath.Join(root, vdir, "fn", importSafe(s))] = filepath.Join(filepath.Dir(h.File), s)
	}
	// The go command reads each .go file from a copy that starts with a
	// //line directive giving its own name, as -trimpath names the files
	// of the module's other packages (module path, then the path in the
	// module): stack traces and the compiler then name the user's file,
	// not the generated one. The copy's lines are the file's.
	goOverlay, lineNames := map[string]string{}, map[string]string{}
	for seen, real := range overlay {
		text, err := os.ReadFile(real)
		if err != nil {
			return "", false, &BuildError{Function: h.Name, Output: err.Error(), Err: err}
		}
		relFile, err := filepath.Rel(root, real)
		if err != nil {
			return "", false, err
		}
		name := path.Join(mod.Module.Path, filepath.ToSlash(relFile))
		cp := filepath.Join(work, "src", filepath.Base(seen))
		if err := os.MkdirAll(filepath.Dir(cp), 0o755); err != nil {
			return "", false, fmt.Errorf("wfn: cannot create %s: %w", filepath.Dir(cp), err)
		}
		if err := writeIfChanged(cp, append([]byte("//line "+name+":1:1\n"), text...)); err != nil {
			return "", false, err
		}
		goOverlay[seen] = cp
		lineNames[name] = real
		// The go command's own errors (an import it cannot resolve)
		// name the file by the //line name joined to its directory.
		lineNames[filepath.Join(filepath.Dir(seen), filepath.FromSlash(name))] = real
	}
	// The files its //go:embed lines name go in beside them, under their
	// own names: the go command looks for them in the package's
	// directory, which is the generated one. The build reads them from
	// copies it makes (key), as the .go files are.
	for _, f := range embedded(filepath.Dir(h.File), append([]string{filepath.Base(h.File)}, h.Siblings...), h.Tags) {
		overlay[filepath.Join(root, vdir, "fn", f)] = filepath.Join(filepath.Dir(h.File), f)
	}
	mainGo := filepath.Join(work, "main.go")
	var src bytes.Buffer
	if err := mainTemplate.Execute(&src, map[string]any{
		"Name": h.Name, "Pkg": path.Join(mod.Module.Path, vdir, "fn"), "Func": h.Func, "Params": h.Params,
	}); err != nil {
		return "", false, err
	}
	if err := writeIfChanged(mainGo, src.Bytes()); err != nil {
		return "", false, err
	}
	overlay[filepath.Join(root, vdir, "wfn_main.go")] = mainGo
	flags := tagFlags(h.Tags)
	modfile := ""
	gowork := ""
	if mod.Module.Path != noModule && !mod.requires(sdkModule) {
		if gowork, err = b.goWork(ctx, root); err != nil {
			return "", false, &BuildError{Function: h.Name, Output: err.Error(), Err: err}
		}
	}
	if gowork != "" {
		// In a workspace the go command takes no -modfile: the SDK joins
		// the workspace instead, through a copy of its go.work.
		cp, err := b.workfile(ctx, gowork, work)
		if err != nil {
			return "", false, err
		}
		goOverlay[gowork] = cp // not in overlay: errors name the project's
	} else if !mod.requires(sdkModule) {
		modfile, err = b.modfile(ctx, root, work)
		if err != nil {
			return "", false, err
		}
		flags = append(flags, "-modfile="+modfile)
		if mod.Module.Path == noModule {
			// The go command finds the module's root by its go.mod.
			overlay[filepath.Join(root, "go.mod")] = modfile
		}
	}
	replace := map[string]string{}
	for seen, real := range overlay {
		replace[seen] = real
	}
	for seen, cp := range goOverlay {
		replace[seen] = cp
	}
	for name, real := range lineNames {
		overlay[name] = real
	}
	// Errors name the files by their paths in the project, as h.Name
	// does, wherever the module's root is (api/, or the file's directory
	// for a file with no go.mod).
	if project, ok := strings.CutSuffix(h.File, filepath.FromSlash(h.Name)); ok && h.Name != "" {
		for seen, real := range overlay {
			if rel, err := filepath.Rel(project, real); err == nil && !strings.HasPrefix(rel, "..") {
				overlay[seen] = filepath.ToSlash(rel)
			}
		}
	}
	wasm, cached, err = b.build(ctx, h.Name, root, work, flags, []string{"./" + vdir}, replace, overlay)
	var be *BuildError
	if errors.As(err, &be) {
		// The go command names the generated package (in its advice too:
		// go get PKG); the user's is the file's directory.
		be.Output = strings.ReplaceAll(be.Output, path.Join(mod.Module.Path, vdir, "fn"), path.Join(mod.Module.Path, filepath.ToSlash(rel)))
	}
	if modfile != "" && mod.Module.Path != noModule && errors.As(err, &be) {
		// What the go command says of the copy (a go version newer than
		// the toolchain's, a bad directive) is said of the project's.
		// The go command names a file by its path relative to its
		// directory when that is shorter.
		if rel, err := filepath.Rel(root, modfile); err == nil {
			be.Output = strings.ReplaceAll(be.Output, rel, "go.mod")
		}
		be.Output = strings.ReplaceAll(be.Output, modfile, "go.mod")
	}
	if mod.Module.Path == noModule && errors.As(err, &be) &&
		(strings.Contains(be.Output, "no required module provides package") || strings.Contains(be.Output, "cannot find module providing package")) {
		// The go command's advice (go get) needs a go.mod first; other
		// errors (a typo) get none.
		be.Output = strings.TrimRight(be.Output, "\n") + "\n(no go.mod in " + root + " or above: to require other modules, make one with go mod init)"
	}
	return wasm, cached, err
}

var mainTemplate = template.Must(template.New("main").Parse(`// Code generated by wfn for {{.Name}}. DO NOT EDIT.

package main

import (
	"net/http"

	"github.com/wfn-dev/wfn/guests/sdk/go/wfn/wfnhttp"

	fn "{{.Pkg}}"
)

func init() {
	wfnhttp.Handle(http.HandlerFunc(fn.{{.Func}}){{range .Params}}, {{printf "%q" .}}{{end}})
}

func main() {}
`))

// embedded returns the files, relative to dir, that the //go:embed lines
// of the named files of dir may match: each pattern's matches, with the
// files under a matched directory. The go command decides which of them
// it embeds (it leaves out names starting with . or _, unless all:) and
// reports a pattern with no match; a pattern that leaves dir is left for
// it to reject.
func embedded(dir string, names, tags []string) []string {
	var out []string
	seen := map[string]bool{}
	for _, pat := range route.EmbedPatterns(dir, names, tags) {
		if !fs.ValidPath(pat) {
			continue
		}
		matches, _ := filepath.Glob(filepath.Join(dir, filepath.FromSlash(pat)))
		for _, m := range matches {
			_ = filepath.WalkDir(m, func(p string, d fs.DirEntry, err error) error {
				if err != nil || !d.Type().IsRegular() {
					return nil
				}
				if rel, err := filepath.Rel(dir, p); err == nil && !seen[rel] {
					seen[rel] = true
					out = append(out, rel)
				}
				return nil
			})
		}
	}
	return out
}

var unsafeImport = regexp.MustCompile(`[^A-Za-z0-9._~/+-]`)

// importSafe replaces what cannot be in an import path's element.
func importSafe(p string) string {
	if p == "." {
		return ""
	}
	return unsafeImport.ReplaceAllString(p, "_")
}

// moduleRoot finds the directory of the go.mod that dir belongs to.
func moduleRoot(dir string) (string, error) {
	for d := dir; ; {
		if st, err := os.Stat(filepath.Join(d, "go.mod")); err == nil && !st.IsDir() {
			return d, nil
		}
		parent := filepath.Dir(d)
		if parent == d {
			return "", fmt.Errorf("%w in %s or above", errNoGoMod, dir)
		}
		d = parent
	}
}

type goMod struct {
	Module  struct{ Path string }
	Go      string
	Require []struct{ Path string }
	Replace []struct{ Old struct{ Path string } }
}

func (m *goMod) requires(p string) bool {
	for _, r := range m.Require {
		if r.Path == p {
			return true
		}
	}
	for _, r := range m.Replace {
		if r.Old.Path == p {
			return true
		}
	}
	return false
}

// readGoMod reads a go.mod with the go command.
func (b *Builder) readGoMod(ctx context.Context, file string) (*goMod, error) {
	cmd := exec.CommandContext(ctx, b.goBin, "mod", "edit", "-json", file)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("%s: %s: %w", file, strings.TrimSpace(stderr.String()), err)
	}
	var m goMod
	if err := json.Unmarshal(out, &m); err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	return &m, nil
}

// modfile writes, in work, a copy of the module's go.mod and go.sum that
// also requires the SDK, replaced by the copy sdkDir writes. Without a
// go.mod in root, the copy is of an empty module named noModule.
func (b *Builder) modfile(ctx context.Context, root, work string) (string, error) {
	sdk, sdkGo, err := b.sdkDir()
	if err != nil {
		return "", err
	}
	gomod, err := os.ReadFile(filepath.Join(root, "go.mod"))
	if errors.Is(err, fs.ErrNotExist) {
		gomod = []byte("module " + noModule + "\n")
	} else if err != nil {
		return "", err
	}
	gosum, err := os.ReadFile(filepath.Join(root, "go.sum"))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return "", err
	}
	modfile := filepath.Join(work, "go.mod")
	if err := os.WriteFile(modfile, gomod, 0o644); err != nil {
		return "", err
	}
	if err := writeIfChanged(filepath.Join(work, "go.sum"), gosum); err != nil {
		return "", err
	}
	args := []string{"mod", "edit", "-require=" + sdkModule + "@v0.0.0", "-replace=" + sdkModule + "=" + sdk}
	// The SDK's go version, when newer, becomes the build's: the go
	// command wants a main module no older than its requirements.
	if want := sdkGo; version.Compare("go"+want, "go"+goLine(gomod)) > 0 {
		args = append(args, "-go="+want)
	}
	cmd := exec.CommandContext(ctx, b.goBin, append(args, modfile)...)
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("wfn: go mod edit: %s: %w", strings.TrimSpace(string(out)), err)
	}
	return modfile, nil
}

// goWork returns the go.work file that the go command uses in root, or
// "" outside a workspace.
func (b *Builder) goWork(ctx context.Context, root string) (string, error) {
	cmd := exec.CommandContext(ctx, b.goBin, "env", "GOWORK")
	cmd.Dir, cmd.Env = root, goEnv()
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("wfn: go env GOWORK: %w", err)
	}
	if w := strings.TrimSpace(string(out)); w != "off" {
		return w, nil
	}
	return "", nil
}

// workfile writes, in work, a copy of the workspace's go.work that also
// uses the copy of the SDK that sdkDir writes, with the SDK's go version
// when newer: the go command wants a workspace no older than its modules.
func (b *Builder) workfile(ctx context.Context, gowork, work string) (string, error) {
	sdk, sdkGo, err := b.sdkDir()
	if err != nil {
		return "", err
	}
	text, err := os.ReadFile(gowork)
	if err != nil {
		return "", err
	}
	cp := filepath.Join(work, "go.work")
	if err := os.WriteFile(cp, text, 0o644); err != nil {
		return "", err
	}
	args := []string{"work", "edit", "-use=" + sdk}
	if version.Compare("go"+sdkGo, "go"+goLine(text)) > 0 {
		args = append(args, "-go="+sdkGo)
	}
	cmd := exec.CommandContext(ctx, b.goBin, append(args, cp)...)
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("wfn: go work edit: %s: %w", strings.TrimSpace(string(out)), err)
	}
	return cp, nil
}

// goLine returns the version of a go.mod's go directive.
func goLine(gomod []byte) string {
	for _, line := range strings.Split(string(gomod), "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "go "); ok {
			return strings.TrimSpace(v)
		}
	}
	return "1.21"
}

// writeIfChanged writes data to file unless it holds it already.
func writeIfChanged(file string, data []byte) error {
	if old, err := os.ReadFile(file); err == nil && bytes.Equal(old, data) {
		return nil
	}
	f, err := os.CreateTemp(filepath.Dir(file), ".tmp-")
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), file)
	}
	if err != nil {
		_ = os.Remove(f.Name())
	}
	return err
}
