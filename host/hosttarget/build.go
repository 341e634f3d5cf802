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

// Build builds the guest whose sources are in dir to a WebAssembly
// reactor, as `wfn build` builds a function: a Go main package (with its
// own go.mod, or in the module around it) when dir has .go files, else
// the .c files of dir with clang and the C SDK's header. The built module
// is kept in cacheDir (by content: building the same sources again
// returns at once); its path is returned. The errors are the builds': a
// missing toolchain (the go command, clang), the compiler's output, or
// ErrNotGuest.
func Build(ctx context.Context, dir, cacheDir string) (wasm string, err error) {
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
		wasm, _, err = b.Build(ctx, dir, dir, []string{"."})
	case cFiles > 0:
		b := &cbuild.Builder{CacheDir: filepath.Join(cacheDir, "build-c")}
		wasm, _, err = b.Build(ctx, dir, dir, nil)
	default:
		return "", fmt.Errorf("%w: %s", ErrNotGuest, dir)
	}
	return wasm, err
}
