package hosttarget

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/wfn-dev/wfn/host/internal/cbuild"
	"github.com/wfn-dev/wfn/host/internal/gobuild"
)

// ErrNotGuest is returned by Build for a directory with neither .go nor
// .c files.
var ErrNotGuest = errors.New("wfn: not a guest's source directory: no .go or .c files")

// ErrCTags is returned by Build for a C guest given Go build tags: a C
// guest chooses its ABI version by its marker export (abi/SPEC-v2.md
// section 10a), not by a tag.
var ErrCTags = errors.New("wfn: build tags are for Go guests; a C guest has none")

// TagFluid is the Go build tag that links the Go SDK's ABI version 2
// runtime (abi/SPEC-v2.md section 10a), as `"fluid": true` does for wfn
// build.
const TagFluid = "wfn_fluid"

// TagFluid is written out for go doc; the compiler checks it is gobuild's.
var _ = map[bool]struct{}{TagFluid == gobuild.TagFluid: {}, false: {}}

// Build builds the guest whose sources are in dir to a WebAssembly
// reactor, as `wfn build` builds a function: a Go main package (with its
// own go.mod, or in the module around it) when dir has .go files, built
// with the Go build tags tags (such as TagFluid, for ABI version 2), else
// the .c files of dir with clang and the C SDK's header (tags must then
// be empty: ErrCTags). The built module
// is kept in cacheDir (by content: building the same sources again
// returns at once); its path is returned. The errors are the builds': a
// missing toolchain (the go command, clang), the compiler's output,
// ErrNotGuest or ErrCTags.
func Build(ctx context.Context, dir, cacheDir string, tags ...string) (wasm string, err error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return "", fmt.Errorf("wfn: cannot read the guest's directory: %w", err)
	}
	var goFiles, cFiles int
	for _, e := range ents {
		switch name := e.Name(); {
		case e.IsDir():
		case strings.HasSuffix(name, ".go") && !strings.HasSuffix(name, "_test.go"):
			goFiles++
		case strings.HasSuffix(name, ".c"):
			cFiles++
		}
	}
	switch {
	case goFiles > 0:
		b := &gobuild.Builder{CacheDir: filepath.Join(cacheDir, "build")}
		wasm, _, err = b.BuildTags(ctx, dir, dir, []string{"."}, tags)
	case cFiles > 0 && len(tags) > 0:
		return "", fmt.Errorf("%w: %s", ErrCTags, dir)
	case cFiles > 0:
		b := &cbuild.Builder{CacheDir: filepath.Join(cacheDir, "build-c")}
		wasm, _, err = b.Build(ctx, dir, dir, nil)
	default:
		return "", fmt.Errorf("%w: %s", ErrNotGuest, dir)
	}
	return wasm, err
}
