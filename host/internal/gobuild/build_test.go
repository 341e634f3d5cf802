package gobuild

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wfn-dev/wfn/host/internal/buildcache/buildcachetest"
)

// A file saved while a guest builds (wfn dev: an editor's save while the
// former save's build runs) does not go into the guest stored under the
// key of the content before the save. The key hashed the files before the
// go command read them, so a save in between stored the new code under
// the former content's key, and going back to that content (an undo)
// served the newer code from the cache. The test saves, from a hook the
// build calls after its key was made, a main package's file, a file it
// embeds, and a file a Vercel-style handler embeds; then checks that each
// key's guest holds its content, and that the build after the save holds
// the new one.
func TestBuildSavedDuringBuild(t *testing.T) {
	if _, err := exec.LookPath("go"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal(err)
		}
		t.Skip("skipping: the go command is not on PATH: ", err)
	}
	const mainGo = "package main\n\nimport _ \"embed\"\n\n//go:embed data.txt\nvar data string\n\nfunc main() { println(\"code-%s\", data) }\n"
	const handlerGo = "package handler\n\nimport (\n\t_ \"embed\"\n\t\"io\"\n\t\"net/http\"\n)\n\n//go:embed data.txt\nvar data string\n\nfunc Handler(w http.ResponseWriter, r *http.Request) { io.WriteString(w, data) }\n"
	for _, tc := range []struct {
		name  string
		files map[string]string // with %s for the version
		saved string            // the file saved during the build
		build func(b *Builder, dir string) (string, bool, error)
	}{
		{
			name:  "main package's file",
			files: map[string]string{"go.mod": "module example.com/guest\n\ngo 1.24\n", "main.go": mainGo, "data.txt": "data"},
			saved: "main.go",
			build: func(b *Builder, dir string) (string, bool, error) {
				return b.Build(context.Background(), "api/guest", dir, []string{"."})
			},
		},
		{
			name:  "main package's embedded file",
			files: map[string]string{"go.mod": "module example.com/guest\n\ngo 1.24\n", "main.go": strings.Replace(mainGo, "%s", "main", 1), "data.txt": "data-%s"},
			saved: "data.txt",
			build: func(b *Builder, dir string) (string, bool, error) {
				return b.Build(context.Background(), "api/guest", dir, []string{"."})
			},
		},
		{
			name:  "handler's file",
			files: map[string]string{"api/h.go": strings.Replace(handlerGo, "io.WriteString(w, data)", "io.WriteString(w, data+\"code-%s\")", 1), "api/data.txt": "data"},
			saved: "api/h.go",
			build: func(b *Builder, dir string) (string, bool, error) {
				file := filepath.Join(dir, "api", "h.go")
				return b.BuildHandler(context.Background(), Handler{Name: "api/h.go", File: file, Func: "Handler"})
			},
		},
		{
			name:  "handler's embedded file",
			files: map[string]string{"api/h.go": handlerGo, "api/data.txt": "data-%s"},
			saved: "api/data.txt",
			build: func(b *Builder, dir string) (string, bool, error) {
				file := filepath.Join(dir, "api", "h.go")
				return b.BuildHandler(context.Background(), Handler{Name: "api/h.go", File: file, Func: "Handler"})
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			b := &Builder{CacheDir: t.TempDir()}
			buildcachetest.SavedDuringBuild(t, func() (string, bool, error) { return tc.build(b, dir) }, func(v string) {
				files := map[string]string{}
				for name, text := range tc.files {
					files[name] = strings.Replace(text, "%s", v, 1)
				}
				buildcachetest.Save(t, dir, files)
			}, &beforeCompile)
		})
	}
}

// A main package's compile errors name its files as the go command names
// the project's files, though it compiles copies: ./main.go in the
// built directory, lib/l.go below it.
func TestBuildErrorNamesFile(t *testing.T) {
	if _, err := exec.LookPath("go"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal(err)
		}
		t.Skip("skipping: the go command is not on PATH: ", err)
	}
	for _, tc := range []struct {
		name, main, lib, want string
	}{
		{"main.go", "package main\n\nimport _ \"example.com/guest/lib\"\n\nfunc main() { undefinedInMain() }\n", "package lib\n", "./main.go:5:15: undefined: undefinedInMain"},
		{"lib/l.go", "package main\n\nimport _ \"example.com/guest/lib\"\n\nfunc main() {}\n", "package lib\n\nvar X = undefinedInLib\n", "lib/l.go:3:9: undefined: undefinedInLib"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			for name, text := range map[string]string{"go.mod": "module example.com/guest\n\ngo 1.24\n", "main.go": tc.main, "lib/l.go": tc.lib} {
				p := filepath.Join(dir, filepath.FromSlash(name))
				if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			b := &Builder{CacheDir: t.TempDir()}
			_, _, err := b.Build(context.Background(), "api/guest", dir, []string{"."})
			var be *BuildError
			if !errors.As(err, &be) || !strings.Contains(be.Output, tc.want) || strings.Contains(be.Output, b.CacheDir) {
				t.Errorf("err = %v; want a BuildError saying %q", err, tc.want)
			}
		})
	}
}
