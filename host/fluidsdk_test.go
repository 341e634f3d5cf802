package host_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wfn-dev/wfn/host"
	"github.com/wfn-dev/wfn/internal/testkit"
)

// testdata/fluidsdk serves api/sdk, a function of the SDK's ordinary user
// API (a net/http handler through wfnhttp and catchall, wfncache,
// WaitUntil, AddCacheTag), which wfn.json's "fluid": true builds for ABI
// version 2. On one instance: many invocations are held at once; the
// abort of one cancels its r.Context() and no other's; a panic fails
// only its invocation; the Runtime Cache stores, reads and expires by
// tag; a WaitUntil task runs alongside its response.
func TestFluidSDKUnchangedUserAPI(t *testing.T) {
	requireGo(t)
	h, srv, logs := serve(t, host.Config{Dir: "../testdata/fluidsdk"})
	run := fmt.Sprint(time.Now().UnixNano()) // keys of this run, in the shared cache
	fetch := func(ctx context.Context, query string) (int, string, error) {
		return testkit.Get(ctx, srv.URL+"/api/sdk?"+query)
	}
	get := func(query string) (int, string) {
		t.Helper()
		code, body, err := fetch(context.Background(), query)
		if err != nil {
			t.Fatalf("%s: %v", query, err)
		}
		return code, body
	}
	// poll asks query until it answers want, for up to 20 s.
	poll := func(query, want string) {
		t.Helper()
		deadline := time.Now().Add(20 * time.Second)
		for {
			code, body := get(query)
			if body == want {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: %d %q, want %q", query, code, body, want)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}

	// Twenty invocations held at once, one of them by a client that leaves.
	const n = 20
	var wg sync.WaitGroup
	results := make([]string, n)
	leave, leaveNow := context.WithCancel(context.Background())
	defer leaveNow()
	for i := range n {
		ctx := context.Background()
		if i == 0 {
			ctx = leave
		}
		wg.Go(func() {
			_, body, err := fetch(ctx, fmt.Sprintf("op=hold&id=%s-%d", run, i))
			if err != nil {
				body = "error"
			}
			results[i] = body
		})
	}
	poll("op=held", fmt.Sprint(n))

	// A panic among them fails its invocation only.
	if code, body := get("op=panic"); code != http.StatusInternalServerError {
		t.Errorf("panic: %d %q, want 500", code, body)
	}
	// One while streaming cuts its response (wfnhttp's cut, which
	// version 1 makes by exiting the instance).
	if code, body, err := fetch(context.Background(), "op=streampanic"); err == nil {
		t.Errorf("panic while streaming: %d %q, want a cut response", code, body)
	}
	if _, body := get("op=held"); body != fmt.Sprint(n) {
		t.Errorf("after the panics %s invocations are held, want %d", body, n)
	}
	// Logged with its request id: standard error is shared by the
	// invocations, the log import is not.
	logged := false
	for line := range strings.SplitSeq(logs.String(), "\n") {
		if strings.Contains(line, "panic serving GET /api/sdk?op=panic:") && strings.Contains(line, " id=dev1::") {
			logged = true
		}
	}
	if !logged {
		t.Error("the panic is not logged with its request id")
	}

	// The client of invocation 0 leaves: its context is cancelled, and
	// only its own.
	leaveNow()
	poll("op=get&key=held-"+run+"-0", "cancelled: wfn: ECANCELED")
	poll("op=held", fmt.Sprint(n-1))

	get("op=release")
	wg.Wait()
	for i := 1; i < n; i++ {
		if results[i] != "released" {
			t.Errorf("invocation %d: %q, want released", i, results[i])
		}
	}

	// The Runtime Cache, with tags.
	key := "k-" + run
	if code, body := get("op=set&key=" + key + "&val=v1&tag=t-" + run); code != 200 || body != "stored" {
		t.Fatalf("set: %d %q", code, body)
	}
	if code, body := get("op=get&key=" + key); code != 200 || body != "v1" {
		t.Errorf("get: %d %q, want v1", code, body)
	}
	// A value longer than the SDK's first buffer: cache_get answers its
	// length, and the call again with a larger buffer gets the result
	// the host kept.
	big := strings.Repeat("b", 10000)
	if code, body := get("op=set&key=big-" + key + "&val=" + big + "&tag=t-" + run); code != 200 || body != "stored" {
		t.Fatalf("set of 10000 bytes: %d %q", code, body)
	}
	if code, body := get("op=get&key=big-" + key); code != 200 || body != big {
		t.Errorf("get of 10000 bytes: %d, %d bytes", code, len(body))
	}
	if code, body := get("op=expire&tag=t-" + run); code != 200 || body != "expired" {
		t.Errorf("expire: %d %q", code, body)
	}
	if code, body := get("op=get&key=" + key); code != http.StatusNotFound {
		t.Errorf("get after expiring its tag: %d %q, want 404", code, body)
	}

	// WaitUntil: the task runs while the handler still answers, and goes
	// on after the response.
	if code, body := get("op=task&key=task-" + run); code != 200 || body != "task running" {
		t.Errorf("task: %d %q, want task running", code, body)
	}
	get("op=open")
	poll("op=get&key=task-"+run, "task done")

	// AddCacheTag tags the CDN's entry of the response, and a purge of
	// the tag (a CDN import through EAGAIN) deletes it.
	tagURL := srv.URL + "/api/sdk?op=tag&tag=cdn-" + run
	wantCDN(t, rawGet(t, tagURL), "MISS", "tagged 1")
	wantCDN(t, rawGet(t, tagURL), "HIT", "tagged 1")
	if code, body := get("op=purge&tag=cdn-" + run); code != 200 || body != "purged" {
		t.Errorf("purge: %d %q", code, body)
	}
	wantCDN(t, rawGet(t, tagURL), "REVALIDATED", "tagged 2")

	found := false
	for _, fs := range h.Stats().Functions {
		if fs.Source == "api/sdk" {
			found = true
			if fs.ColdStarts != 1 {
				t.Errorf("api/sdk: %d instances made, want 1", fs.ColdStarts)
			}
			// wfn_invocations_aborted_total counts the client that left,
			// as for version 1.
			if fs.Aborted != 1 {
				t.Errorf("api/sdk: %d invocations aborted, want 1", fs.Aborted)
			}
		}
	}
	if !found {
		t.Errorf("no api/sdk in the host's stats: %+v", h.Stats().Functions)
	}
	if strings.Contains(results[0], "released") {
		t.Errorf("the aborted invocation was not cancelled: %q", results[0])
	}
}

// BenchmarkFluidHello serves one function's code built for ABI version 1
// (api/v1) and for version 2 (api/v2, "fluid": true), from the same
// parallel clients. Compare interleaved runs of the two:
//
//	go test ./host -run '^$' -bench 'FluidHello/v1' ; ... 'FluidHello/v2' ; ...
func BenchmarkFluidHello(b *testing.B) {
	h := quietHost(b, "../testdata/fluidbench")
	for _, v := range []string{"v1", "v2"} {
		b.Run(v, func(b *testing.B) { benchHTTP(b, h, "/api/"+v) })
	}
}
