package cli_test

import (
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/wfn-dev/wfn/cli"
)

// TestCachePurge purges a running wfn serve's CDN cache by tag.
func TestCachePurge(t *testing.T) {
	// One instance: the guest counts its invocations per instance.
	s := startServe(t, "--listen", "127.0.0.1:0", "--cache-dir", t.TempDir(), "--min-instances", "0", watDir(t, "cdn"))
	url := "http://" + s.addr + "/api/cdn"
	state := func() string {
		resp, err := http.Get(url)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var b [8]byte
		n, _ := resp.Body.Read(b[:])
		return resp.Header.Get("X-Vercel-Cache") + " " + string(b[:n])
	}
	if got := state(); got != "MISS 1" {
		t.Fatalf("first = %q", got)
	}
	if got := state(); got != "HIT 1" {
		t.Fatalf("second = %q", got)
	}
	out, errOut, err := run(t, "cache", "purge", "--url", "http://"+s.addr, "--tag", "t1")
	if err != nil || !strings.Contains(out, "invalidated") {
		t.Fatalf("purge: %v\n%s%s", err, out, errOut)
	}
	if got := state(); got != "STALE 1" {
		t.Fatalf("after purge = %q, want STALE 1", got)
	}
	deadline := time.Now().Add(30 * time.Second)
	for state() != "HIT 2" {
		if time.Now().After(deadline) {
			t.Fatal("the stale entry was never refreshed")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if _, _, err := run(t, "cache", "purge", "--url", "http://"+s.addr, "--tag", strings.Repeat("x", 257)); !errors.Is(err, cli.ErrPurge) {
		t.Errorf("purge of a tag over 256 bytes = %v, want ErrPurge", err)
	}
	if _, _, err := run(t, "cache", "purge", "--url", "http://"+s.addr); err == nil {
		t.Error("purge without tags succeeded")
	}
}
