package cli_test

import (
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/wfn-dev/wfn/cli"
	"github.com/wfn-dev/wfn/host"
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

// TestCachePurgeToken: a server started with a purge token refuses purges
// without it (401), and wfn cache purge sends it from --token or from
// WFN_PURGE_TOKEN, which wfn serve reads too.
func TestCachePurgeToken(t *testing.T) {
	const token = "0123456789abcdef-token"
	purge := func(addr string, args ...string) (string, error) {
		out, errOut, err := run(t, append([]string{"cache", "purge", "--url", "http://" + addr, "--tag", "t1"}, args...)...)
		return out + errOut, err
	}
	s := startServe(t, "--listen", "127.0.0.1:0", "--cache-dir", t.TempDir(), "--purge-token", token, watDir(t, "cdn"))
	for _, args := range [][]string{nil, {"--token", "wrong"}, {"--token", token + "x"}} {
		if out, err := purge(s.addr, args...); !errors.Is(err, cli.ErrPurge) || !strings.Contains(err.Error(), "401") {
			t.Errorf("purge %q = %v (%s), want ErrPurge with 401", args, err, out)
		}
	}
	if out, err := purge(s.addr, "--token", token); err != nil || !strings.Contains(out, "invalidated") {
		t.Errorf("purge with --token: %v\n%s", err, out)
	}

	t.Setenv("WFN_PURGE_TOKEN", token)
	s = startServe(t, "--listen", "127.0.0.1:0", "--cache-dir", t.TempDir(), watDir(t, "cdn"))
	if out, err := purge(s.addr); err != nil || !strings.Contains(out, "invalidated") {
		t.Errorf("purge with WFN_PURGE_TOKEN: %v\n%s", err, out)
	}
	if out, err := purge(s.addr, "--token", "wrong"); !errors.Is(err, cli.ErrPurge) || !strings.Contains(err.Error(), "401") {
		t.Errorf("serve took no token from WFN_PURGE_TOKEN: a wrong --token got %v (%s), want 401", err, out)
	}
	if _, _, err := run(t, "serve", "--listen", "127.0.0.1:0", "--cache-dir", t.TempDir(), "--purge-token", "two words", watDir(t, "cdn")); !errors.Is(err, host.ErrConfig) {
		t.Errorf("serve with a token that cannot be sent = %v, want ErrConfig", err)
	}
}
