package serverproc_test

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/wfn-dev/wfn/internal/serverproc"
)

// sh runs script with /bin/sh in dir, or skips without it (fails under
// CI=true).
func sh(t *testing.T, dir, script string) *exec.Cmd {
	t.Helper()
	path, err := exec.LookPath("sh")
	serverproc.Require(t, err, exec.ErrNotFound)
	cmd := exec.Command(path, "-c", script)
	cmd.Dir = dir
	return cmd
}

func TestStart(t *testing.T) {
	dir := t.TempDir()
	log := filepath.Join(dir, "log")
	ready := func() error {
		if _, err := os.Stat(filepath.Join(dir, "ready")); err != nil {
			return errors.New("not ready")
		}
		return nil
	}
	t.Run("ready", func(t *testing.T) {
		p, err := serverproc.Start(t.Context(), sh(t, dir, "echo started; touch ready; exec sleep 60"), log, 30*time.Second, time.Millisecond, ready)
		if err != nil {
			t.Fatal(err)
		}
		if got := p.Log(); !strings.Contains(got, "started") {
			t.Errorf("log = %q, want the program's output", got)
		}
		p.Stop(syscall.SIGTERM, 30*time.Second)
		os.Remove(filepath.Join(dir, "ready"))
	})
	t.Run("exited", func(t *testing.T) {
		_, err := serverproc.Start(t.Context(), sh(t, dir, "echo giving up; exit 3"), log, 30*time.Second, time.Millisecond, ready)
		if err == nil || !strings.Contains(err.Error(), "exited") || !strings.Contains(err.Error(), "giving up") {
			t.Fatalf("Start = %v, want an exit with the log", err)
		}
	})
	t.Run("never ready", func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		_, err := serverproc.Start(ctx, sh(t, dir, "exec sleep 60"), log, 30*time.Second, time.Millisecond, ready)
		if err == nil || !strings.Contains(err.Error(), "did not answer") {
			t.Fatalf("Start = %v, want no answer", err)
		}
	})
}
