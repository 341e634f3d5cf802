package cli

import (
	"context"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/fsnotify/fsnotify"

	"github.com/wfn-dev/wfn/host"
)

// devQuiet is how long the watcher waits after a change for the next one
// before it reloads: an editor's save (a temporary file, a rename, a
// chmod) and edits in quick succession become one reload.
const devQuiet = 25 * time.Millisecond

// watcher reloads a host when the files of its directory change (wfn dev).
type watcher struct {
	h      *host.Host // set by start
	dir    string
	cache  string // the cache directory, never watched
	log    *slog.Logger
	stderr io.Writer
	fsw    *fsnotify.Watcher

	mu    sync.Mutex
	shown map[string]string // source -> the build error printed last
}

// newWatcher watches every directory under dir but the cache directory,
// dot directories and node_modules.
func newWatcher(dir, cache string, log *slog.Logger, stderr io.Writer) (*watcher, error) {
	fsw, err := fsnotify.NewWatcher()
	if err != nil {
		return nil, fmt.Errorf("wfn: cannot watch %s: %w", dir, err)
	}
	w := &watcher{dir: dir, cache: cache, log: log, stderr: stderr, fsw: fsw, shown: map[string]string{}}
	if err := w.addTree(dir, nil); err != nil {
		fsw.Close()
		return nil, err
	}
	return w, nil
}

// ignored reports whether a change at p means nothing to the project:
// under a dot directory (the cache, .git), node_modules or the cache
// directory, or a dot file other than .env.
func (w *watcher) ignored(p string) bool {
	if w.cache != "" && (p == w.cache || strings.HasPrefix(p, w.cache+string(filepath.Separator))) {
		return true
	}
	rel, err := filepath.Rel(w.dir, p)
	if err != nil || rel == "." {
		return err != nil
	}
	for _, part := range strings.Split(filepath.ToSlash(rel), "/") {
		if part == "node_modules" || strings.HasPrefix(part, ".") && rel != ".env" {
			return true
		}
	}
	return strings.HasSuffix(p, "~") // an editor's backup
}

// addTree watches root and the directories under it; with found, it
// collects the files there (a directory created with files in it, whose
// events came before its watch).
func (w *watcher) addTree(root string, found *[]string) error {
	return filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || w.ignored(p) {
			if d != nil && d.IsDir() && p != root {
				return filepath.SkipDir
			}
			return nil
		}
		if !d.IsDir() {
			if found != nil {
				*found = append(*found, p)
			}
			return nil
		}
		if err := w.fsw.Add(p); err != nil {
			return fmt.Errorf("wfn: cannot watch %s: %w", p, err)
		}
		return nil
	})
}

// unwatch drops the watches of a directory renamed away from p and of the
// directories under it. inotify watches an inode, not a path: the watches
// would stay with p's names, so that the directory's events were reported
// under paths that no longer exist, and fsnotify would hand the watch
// back, old name and all, when the directory is added at its new path,
// then drop it when the kernel says the directory moved. Dropped here,
// before the event of the new name comes (it comes after this one), the
// directory is watched afresh under the new name.
func (w *watcher) unwatch(p string) {
	for _, watched := range w.fsw.WatchList() {
		if watched == p || strings.HasPrefix(watched, p+string(filepath.Separator)) {
			_ = w.fsw.Remove(watched) // gone already when the kernel said it moved first
		}
	}
}

// run reloads the host after each burst of changes until ctx is done.
func (w *watcher) run(ctx context.Context) {
	defer w.fsw.Close()
	pending := map[string]bool{}
	quiet := time.NewTimer(time.Hour)
	quiet.Stop()
	reloaded := make(chan struct{}, 1)
	busy := false
	for {
		select {
		case <-ctx.Done():
			if busy {
				<-reloaded
			}
			return
		case ev, ok := <-w.fsw.Events:
			if !ok {
				return
			}
			if w.ignored(ev.Name) || ev.Op == fsnotify.Chmod {
				continue
			}
			if len(pending) == 0 {
				w.log.Debug("changed", "path", ev.Name, "op", ev.Op.String())
			}
			pending[ev.Name] = true
			if ev.Has(fsnotify.Rename) {
				w.unwatch(ev.Name)
			}
			if ev.Has(fsnotify.Create) {
				if st, err := os.Stat(ev.Name); err == nil && st.IsDir() {
					var files []string
					if err := w.addTree(ev.Name, &files); err != nil {
						w.log.Error("watch", "err", err)
					}
					for _, f := range files {
						pending[f] = true
					}
				}
			}
			quiet.Reset(devQuiet)
		case err, ok := <-w.fsw.Errors:
			if !ok {
				return
			}
			// An overflowed queue lost events: reload everything.
			w.log.Error("watch", "err", err)
			pending[w.dir] = true
			quiet.Reset(devQuiet)
		case <-quiet.C:
			if busy {
				continue // reloaded sends when done, then the rest goes
			}
			busy = true
			paths := make([]string, 0, len(pending))
			for p := range pending {
				paths = append(paths, p)
			}
			clear(pending)
			go func() {
				w.reload(ctx, paths)
				reloaded <- struct{}{}
			}()
		case <-reloaded:
			busy = false
			if len(pending) > 0 {
				quiet.Reset(0)
			}
		}
	}
}

// reload reloads the host with the changed paths (the directory itself:
// everything), then prints each new build error in full.
func (w *watcher) reload(ctx context.Context, paths []string) {
	var err error
	if len(paths) == 1 && paths[0] == w.dir {
		err = w.h.Reload(ctx)
	} else {
		err = w.h.Reload(ctx, paths...)
	}
	if err != nil && ctx.Err() == nil {
		fmt.Fprintf(w.stderr, "\n%v\n\n", err)
	}
	w.showErrors()
}

// showErrors prints the build errors that are new since the last call,
// whole, as the compiler wrote them: the log line of each holds them in
// one quoted value.
func (w *watcher) showErrors() {
	w.mu.Lock()
	defer w.mu.Unlock()
	seen := map[string]bool{}
	for _, fn := range w.h.Functions() {
		err := fn.Err
		note := ""
		if err == nil && fn.ReloadErr != nil {
			err, note = fn.ReloadErr, " (its former version still serves)"
		}
		if err == nil {
			continue
		}
		seen[fn.Source] = true
		if msg := err.Error(); w.shown[fn.Source] != msg {
			w.shown[fn.Source] = msg
			fmt.Fprintf(w.stderr, "\n%s failed to build%s:\n%s\n\n", fn.Source, note, strings.TrimRight(msg, "\n"))
		}
	}
	for src := range w.shown {
		if !seen[src] {
			delete(w.shown, src)
		}
	}
}

// openWatcher watches cfg.Dir for a host to be made: called before the
// host scans the directory, so that a file saved from then on is either
// in the scan or in an event, never lost between them.
func openWatcher(cfg host.Config, stderr io.Writer) (*watcher, error) {
	dir, err := filepath.Abs(cfg.Dir)
	if err != nil {
		return nil, fmt.Errorf("wfn: %s: %w", cfg.Dir, err)
	}
	cache := cfg.CacheDir
	if cache != "" {
		cache, _ = filepath.Abs(cache)
	}
	return newWatcher(dir, cache, cfg.Logger, stderr)
}

// start reloads h on the changes from when w was opened until the returned
// function is called, and prints the build errors of the start once
// loaded.
func (w *watcher) start(ctx context.Context, h *host.Host) (stop func()) {
	w.h = h
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		if h.Loaded(ctx) == nil && ctx.Err() == nil { // not loads that a shutdown cut short
			w.showErrors()
		}
		w.run(ctx)
	}()
	w.log.Info("watching for changes", "dir", w.dir)
	return func() {
		cancel()
		<-done
	}
}
