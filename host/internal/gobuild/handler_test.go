package gobuild

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// A handler file saved while it builds (wfn dev: an editor's save while
// the former save's build or compilation runs) is stored under the key of
// the content it was built from. The key hashed the file itself, read
// after the copy the go command compiles: a save between the two stored
// the former code under the new content's key, so that the next build of
// the new content, the reload of that save, got the former code from the
// cache, and wfn dev served it with no error until the file changed again.
func TestBuildHandlerSavedDuringBuild(t *testing.T) {
	if _, err := exec.LookPath("go"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal(err)
		}
		t.Skip("skipping: the go command is not on PATH: ", err)
	}
	dir := t.TempDir()
	file := filepath.Join(dir, "api", "v.go")
	if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
		t.Fatal(err)
	}
	save := func(v int) error { // as an editor saves: a temporary file, then a rename
		tmp := file + ".tmp~"
		src := fmt.Sprintf("package handler\n\nimport (\n\t\"io\"\n\t\"net/http\"\n)\n\nfunc Handler(w http.ResponseWriter, r *http.Request) {\n\tio.WriteString(w, \"version-%07d\")\n}\n", v)
		if err := os.WriteFile(tmp, []byte(src), 0o644); err != nil {
			return err
		}
		return os.Rename(tmp, file)
	}
	if err := save(0); err != nil {
		t.Fatal(err)
	}
	b := &Builder{CacheDir: t.TempDir()}
	h := Handler{Name: "api/v.go", File: file, Func: "Handler"}
	version := regexp.MustCompile(`version-[0-9]{7}`)
	built := func() (wasm, v string, cached bool) {
		t.Helper()
		wasm, cached, err := b.BuildHandler(context.Background(), h)
		if err != nil {
			t.Fatal(err)
		}
		code, err := os.ReadFile(wasm)
		if err != nil {
			t.Fatal(err)
		}
		return wasm, string(version.Find(code)), cached
	}
	if _, v, _ := built(); v != "version-0000000" {
		t.Fatalf("the first build holds %q, want version-0000000", v)
	}
	// The first build put the SDK's packages in the go command's cache.

	// Saves every few milliseconds while three builds run.
	stop, saved := make(chan struct{}), make(chan error, 1)
	go func() {
		tick := time.NewTicker(3 * time.Millisecond)
		defer tick.Stop()
		for v := 1; ; v++ {
			select {
			case <-stop:
				saved <- nil
				return
			case <-tick.C:
			}
			if err := save(v); err != nil {
				saved <- err
				return
			}
		}
	}()
	type build struct{ wasm, v string }
	var builds []build
	for range 3 {
		wasm, v, _ := built()
		builds = append(builds, build{wasm, v})
	}
	close(stop)
	if err := <-saved; err != nil {
		t.Fatal(err)
	}
	// Each build's content, saved again, is that build, from the cache.
	for _, bd := range builds {
		var n int
		if _, err := fmt.Sscanf(bd.v, "version-%d", &n); err != nil {
			t.Fatalf("a build holds no version: %q", bd.v)
		}
		if err := save(n); err != nil {
			t.Fatal(err)
		}
		wasm, v, cached := built()
		if v != bd.v || !cached || wasm != bd.wasm {
			t.Errorf("%s built as %s; built again it is %s (cached %v, %s): the first was stored under another content's key", bd.v, bd.wasm, v, cached, wasm)
		}
	}
}

// A handler's compile errors name its file by its path in the project
// (api/v.go:6:2), as its load errors and the other functions' do, wherever
// its module's root is: the project's root, api/ (a go.mod there), or the
// file's own directory (no go.mod: a module of its own).
func TestBuildHandlerErrorNamesProjectPath(t *testing.T) {
	if _, err := exec.LookPath("go"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal(err)
		}
		t.Skip("skipping: the go command is not on PATH: ", err)
	}
	const broken = "package handler\n\nimport \"net/http\"\n\nfunc Handler(w http.ResponseWriter, r *http.Request) {\n\tundefinedThing()\n}\n"
	b := &Builder{CacheDir: t.TempDir()}
	for _, tc := range []struct{ name, gomod string }{
		{"go.mod at the root", "go.mod"},
		{"go.mod in api", "api/go.mod"},
		{"no go.mod", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			files := map[string]string{"api/v.go": broken}
			if tc.gomod != "" {
				files[tc.gomod] = "module example.com/p\n\ngo 1.24\n"
			}
			for name, text := range files {
				p := filepath.Join(dir, filepath.FromSlash(name))
				if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			_, _, err := b.BuildHandler(context.Background(), Handler{Name: "api/v.go", File: filepath.Join(dir, "api", "v.go"), Func: "Handler"})
			var be *BuildError
			if !errors.As(err, &be) {
				t.Fatalf("BuildHandler = %v, want a BuildError", err)
			}
			if !regexp.MustCompile(`(?m)^api/v\.go:6:2: undefined: undefinedThing$`).MatchString(be.Output) {
				t.Errorf("output %q, want api/v.go:6:2: undefined: undefinedThing", be.Output)
			}
		})
	}
}

// A handler with no go.mod gets the advice to make one when its build
// needs another module, and only then: under a typo's error it sent the
// reader to go mod init.
func TestBuildHandlerNoGoModAdvice(t *testing.T) {
	if _, err := exec.LookPath("go"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal(err)
		}
		t.Skip("skipping: the go command is not on PATH: ", err)
	}
	b := &Builder{CacheDir: t.TempDir()}
	for _, tc := range []struct {
		name, src, want string
		advice          bool
	}{
		{"typo", "package handler\n\nimport \"net/http\"\n\nfunc Handler(w http.ResponseWriter, r *http.Request) {\n\tundefinedThing()\n}\n",
			"api/v.go:6:2: undefined: undefinedThing", false},
		{"another module", "package handler\n\nimport (\n\t\"net/http\"\n\n\t\"example.com/nowhere\"\n)\n\nfunc Handler(w http.ResponseWriter, r *http.Request) { nowhere.X() }\n",
			"api/v.go:6:2: no required module provides package example.com/nowhere", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			file := filepath.Join(dir, "api", "v.go")
			if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(file, []byte(tc.src), 0o644); err != nil {
				t.Fatal(err)
			}
			_, _, err := b.BuildHandler(context.Background(), Handler{Name: "api/v.go", File: file, Func: "Handler"})
			var be *BuildError
			if !errors.As(err, &be) {
				t.Fatalf("BuildHandler = %v, want a BuildError", err)
			}
			if !strings.Contains(be.Output, tc.want) {
				t.Errorf("output %q, want %q", be.Output, tc.want)
			}
			if advice := strings.Contains(be.Output, "go mod init"); advice != tc.advice {
				t.Errorf("output %q: advice to make a go.mod %v, want %v", be.Output, advice, tc.advice)
			}
		})
	}
}
