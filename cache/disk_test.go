package cache_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/wfn-dev/wfn/cache"
	"github.com/wfn-dev/wfn/cache/cachetest"
)

func openDisk(t testing.TB, path string, opts ...cache.Option) cache.Store {
	t.Helper()
	s, err := cache.OpenDisk(path, opts...)
	if err != nil {
		t.Fatalf("OpenDisk: %v", err)
	}
	t.Cleanup(func() { s.Close(context.Background()) })
	return s
}

func TestDiskConformance(t *testing.T) {
	for _, tt := range []struct {
		name string
		opts []cache.Option
	}{
		{"front", nil},
		{"no front", []cache.Option{cache.WithFrontSize(0)}},
		{"tiny front", []cache.Option{cache.WithFrontSize(4 << 10)}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			cachetest.Run(t, func(t *testing.T) cache.Store {
				return openDisk(t, filepath.Join(t.TempDir(), "cache.db"), tt.opts...)
			})
		})
	}
}

func TestDiskReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), ".wfn", "cache.db") // the directory is created
	ctx := t.Context()
	s, err := cache.OpenDisk(path)
	if err != nil {
		t.Fatal(err)
	}
	big := bytes.Repeat([]byte("compressible "), 1000)
	cachetest.MustSet(t, s, "plain", "v", 0, "t1")
	cachetest.MustSet(t, s, "stale", "s", 0, "t2")
	cachetest.MustSet(t, s, "gone", "g", 0, "t3")
	cachetest.MustSet(t, s, "ttl", "x", time.Hour)
	if err := s.Set(ctx, "big", big, 0, nil); err != nil {
		t.Fatal(err)
	}
	if err := s.InvalidateTags(ctx, "t2"); err != nil {
		t.Fatal(err)
	}
	if err := s.ExpireTags(ctx, "t3"); err != nil {
		t.Fatal(err)
	}
	created := cachetest.MustGet(t, s, "plain").Created
	if err := s.Close(ctx); err != nil {
		t.Fatal(err)
	}

	s = openDisk(t, path)
	e := cachetest.MustGet(t, s, "plain")
	if string(e.Value) != "v" || e.Stale || !e.Created.Equal(created) || strings.Join(e.Tags, ",") != "t1" {
		t.Errorf("after reopening: %+v, want v, fresh, created %v, tags t1", e, created)
	}
	cachetest.WantHit(t, s, "stale", "s", true)
	cachetest.WantMiss(t, s, "gone")
	if e := cachetest.MustGet(t, s, "ttl"); e.Expires.IsZero() {
		t.Error("the TTL was lost")
	}
	if e := cachetest.MustGet(t, s, "big"); !bytes.Equal(e.Value, big) {
		t.Error("the compressed value changed")
	}
	// The sequence goes on from where it was: a new Set is after the
	// invalidation.
	cachetest.MustSet(t, s, "stale", "fresh", 0, "t2")
	cachetest.WantHit(t, s, "stale", "fresh", false)
}

func TestDiskLocked(t *testing.T) {
	path := filepath.Join(t.TempDir(), "cache.db")
	holder := startHelper(t, "hold", path)
	if line := holder.next(t); line != "ready" {
		t.Fatalf("helper said %q, want ready", line)
	}
	s, err := cache.OpenDisk(path, cache.WithTimeout(100*time.Millisecond))
	if err == nil {
		s.Close(t.Context())
		t.Fatal("OpenDisk of a file another process holds succeeded")
	}
	if !errors.Is(err, cache.ErrUnavailable) || !strings.Contains(err.Error(), "another process") {
		t.Fatalf("OpenDisk: %v, want ErrUnavailable naming another process", err)
	}
	t.Logf("OpenDisk: %v", err)
	holder.stdin.Close() // the helper closes the store and exits
	if err := holder.cmd.Wait(); err != nil {
		t.Fatalf("helper: %v", err)
	}
	openDisk(t, path) // free again
}

// TestDiskKill9 kills a process in the middle of writes and checks that
// every Set that returned before the kill is in the file.
func TestDiskKill9(t *testing.T) {
	path := filepath.Join(t.TempDir(), "cache.db")
	confirmed := map[string]bool{}
	for round := range 3 {
		h := startHelper(t, "write", path)
		n := 0
		for n < 100 {
			confirmed[h.next(t)] = true
			n++
		}
		if err := h.cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		// Keys printed between the count and the kill are confirmed too.
		for line := range h.lines { // until the helper's stdout closes
			confirmed[line] = true
			n++
		}
		err := h.cmd.Wait()
		var exit *exec.ExitError
		if !errors.As(err, &exit) || exit.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
			t.Fatalf("helper ended with %v, want killed by SIGKILL", err)
		}

		s, err := cache.OpenDisk(path)
		if err != nil {
			t.Fatalf("round %d: OpenDisk after kill -9: %v", round, err)
		}
		for key := range confirmed {
			e, err := s.Get(t.Context(), key)
			if err != nil {
				t.Fatalf("round %d: confirmed key %s: %v", round, key, err)
			}
			if want := helperValue(key); !bytes.Equal(e.Value, want) {
				t.Fatalf("round %d: key %s holds %d bytes, want %d", round, key, len(e.Value), len(want))
			}
		}
		cachetest.MustSet(t, s, "after", "kill", 0)
		cachetest.WantHit(t, s, "after", "kill", false)
		if err := s.Close(t.Context()); err != nil {
			t.Fatal(err)
		}
		t.Logf("round %d: %d keys confirmed by the killed process this round, %d in all, all present", round, n, len(confirmed))
	}
}

func TestDiskSweep(t *testing.T) {
	path := filepath.Join(t.TempDir(), "cache.db")
	ctx := t.Context()
	s := openDisk(t, path, cache.WithSweepInterval(20*time.Millisecond), cache.WithFrontSize(0))
	for i := range 50 {
		cachetest.MustSet(t, s, fmt.Sprintf("ttl%d", i), strings.Repeat("x", 4096), time.Second)
		cachetest.MustSet(t, s, fmt.Sprintf("tag%d", i), strings.Repeat("y", 4096), 0, "doomed")
		cachetest.MustSet(t, s, fmt.Sprintf("keep%d", i), "k", 0, "kept")
	}
	if err := s.ExpireTags(ctx, "doomed"); err != nil {
		t.Fatal(err)
	}
	// Nothing reads the dead entries: only the sweep can remove them.
	cachetest.Eventually(t, 15*time.Second, func() error {
		n, err := countEntries(t, s)
		if err != nil {
			return err
		}
		if n != 50 {
			return fmt.Errorf("%d entries in the file, want the 50 live ones", n)
		}
		return nil
	})
	cachetest.WantHit(t, s, "keep7", "k", false)
}

const helperEnv = "WFN_CACHE_TEST_HELPER"

// helperValue is what the write helper stores under key: some values are
// large enough to be compressed.
func helperValue(key string) []byte {
	if strings.HasSuffix(key, "0") {
		return bytes.Repeat([]byte(key+" compressible "), 300)
	}
	return []byte("value of " + key)
}

// runHelper is the test binary run as a child process by startHelper.
func runHelper() int {
	path := os.Getenv("WFN_CACHE_TEST_PATH")
	s, err := cache.OpenDisk(path, cache.WithTimeout(10*time.Second))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	ctx := context.Background()
	switch os.Getenv(helperEnv) {
	case "hold":
		fmt.Println("ready")
		io.Copy(io.Discard, os.Stdin)
		if err := s.Close(ctx); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		return 0
	case "write":
		var mu sync.Mutex
		var wg sync.WaitGroup
		for w := range 4 {
			wg.Go(func() {
				for i := 0; ; i++ {
					key := fmt.Sprintf("p%d-w%d-%06d", os.Getpid(), w, i)
					if err := s.Set(ctx, key, helperValue(key), 0, []string{"w"}); err != nil {
						fmt.Fprintln(os.Stderr, err)
						os.Exit(1)
					}
					mu.Lock()
					fmt.Println(key)
					mu.Unlock()
				}
			})
		}
		wg.Wait()
	}
	return 2
}

type helper struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
	lines chan string
}

func startHelper(t *testing.T, mode, path string) *helper {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), helperEnv+"="+mode, "WFN_CACHE_TEST_PATH="+path)
	cmd.Stderr = os.Stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	h := &helper{cmd: cmd, stdin: stdin, lines: make(chan string, 1024)}
	go func() {
		defer close(h.lines)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			h.lines <- sc.Text()
		}
	}()
	return h
}

// next returns the helper's next line of output.
func (h *helper) next(t *testing.T) string {
	t.Helper()
	select {
	case line, ok := <-h.lines:
		if !ok {
			t.Fatal("helper exited early")
		}
		return line
	case <-time.After(30 * time.Second):
		t.Fatal("no output from the helper in 30s")
	}
	return ""
}

func countEntries(_ testing.TB, s cache.Store) (int, error) {
	return cache.CountEntries(s)
}

// TestDiskFront checks that the front fills and that writes empty it.
func TestDiskFront(t *testing.T) {
	s := openDisk(t, filepath.Join(t.TempDir(), "cache.db"))
	ctx := t.Context()
	steps := []struct {
		name string
		do   func() error
		want bool
	}{
		{"Set", func() error { return s.Set(ctx, "k", []byte("v"), 0, []string{"t"}) }, false},
		{"Get", func() error { _, err := s.Get(ctx, "k"); return err }, true},
		{"Set of another key", func() error { return s.Set(ctx, "other", nil, 0, nil) }, true},
		{"Set again", func() error { return s.Set(ctx, "k", []byte("v2"), 0, []string{"t"}) }, false},
		{"Get again", func() error { _, err := s.Get(ctx, "k"); return err }, true},
		{"ExpireTags of another tag", func() error { return s.ExpireTags(ctx, "u") }, true},
		{"InvalidateTags", func() error { return s.InvalidateTags(ctx, "t") }, false},
		{"Get stale", func() error { _, err := s.Get(ctx, "k"); return err }, true},
		{"Delete", func() error { return s.Delete(ctx, "k") }, false},
	}
	for _, st := range steps {
		if err := st.do(); err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		if got := cache.FrontHas(s, "k"); got != st.want {
			t.Fatalf("after %s: front holds k: %v, want %v", st.name, got, st.want)
		}
	}
}

// Deleting a key that is not stored commits no write transaction (each
// is an fsync, and bbolt runs them one at a time: the CDN deletes the
// URL of every POST); deleting one that is stored does, and it is gone.
func TestDiskDeleteAbsentWritesNothing(t *testing.T) {
	ctx := context.Background()
	s := openDisk(t, filepath.Join(t.TempDir(), "cache.db"))
	before := cache.WriteTxns(s)
	for i := range 20 {
		if err := s.Delete(ctx, fmt.Sprintf("absent-%d", i)); err != nil {
			t.Fatal(err)
		}
	}
	if got := cache.WriteTxns(s) - before; got != 0 {
		t.Fatalf("deleting absent keys wrote %d times, want 0", got)
	}
	if err := s.Set(ctx, "here", []byte("v"), time.Minute, nil); err != nil {
		t.Fatal(err)
	}
	before = cache.WriteTxns(s)
	if err := s.Delete(ctx, "here"); err != nil {
		t.Fatal(err)
	}
	if cache.WriteTxns(s) == before {
		t.Fatal("deleting a stored key wrote nothing")
	}
	if _, err := s.Get(ctx, "here"); !errors.Is(err, cache.ErrNotFound) {
		t.Fatalf("Get after Delete: %v, want ErrNotFound", err)
	}
}
