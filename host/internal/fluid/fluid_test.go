package fluid_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wfn-dev/wfn/host/internal/engine"
	"github.com/wfn-dev/wfn/host/internal/fluid"
	"github.com/wfn-dev/wfn/host/internal/gobuild"
	"github.com/wfn-dev/wfn/host/internal/hostcall"
	"github.com/wfn-dev/wfn/host/internal/outbound"
	"github.com/wfn-dev/wfn/internal/testkit"
)

// serveGuest builds testdata/fluid/api/sleep, compiles it as an ABI v2
// guest on the engine WFN_TEST_ENGINE names (wazero when unset) and
// serves it on a loopback server through a fluid.Pool whose invocations
// have the given maximum duration and supportsCancellation.
func serveGuest(t testing.TB, maxDuration time.Duration) (*httptest.Server, *fluid.Pool) {
	srv, p, _ := serveGuestEnded(t, maxDuration, nil)
	return srv, p
}

// serveGuestEnded is serveGuest that also returns why each instance
// ended, in order, and tells served, when not nil, how long the server
// took over each request.
func serveGuestEnded(t testing.TB, maxDuration time.Duration, served func(time.Duration)) (*httptest.Server, *fluid.Pool, <-chan error) {
	t.Helper()
	if _, err := exec.LookPath("go"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("go is not installed")
		}
		t.Skip("go is not installed: cannot build the guest")
	}
	ctx := context.Background()
	dir, _ := filepath.Abs("../../../testdata/fluid/api/sleep")
	b := &gobuild.Builder{CacheDir: filepath.Join(os.TempDir(), "wfn-fluidtest")}
	wasmPath, _, err := b.BuildTags(ctx, "api/sleep", dir, []string{"main.go"}, []string{gobuild.TagFluid})
	if err != nil {
		t.Fatal(err)
	}
	wasm, err := os.ReadFile(wasmPath)
	if err != nil {
		t.Fatal(err)
	}
	e := newEngine(t, filepath.Join(os.TempDir(), "wfn-fluidtest", "code"))
	mod, err := e.CompileV2(ctx, "api/sleep", wasm)
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	ended := make(chan error, 16)
	p := &fluid.Pool{
		Exports: fluid.HandlerExports(wasm), // catchall's wfn_handle
		Ended:   func(err error) { ended <- err },
		New: func(ctx context.Context) (fluid.Instance, error) {
			return mod.Instantiate(ctx, engine.InstanceConfig{MemoryLimit: 256 << 20, Stdout: io.Discard, Stderr: io.Discard})
		},
		Answer: func(w http.ResponseWriter, r *http.Request, req fluid.Request, f fluid.Failure, err error) {
			mu.Lock()
			t.Logf("%s: failure %d: %v", req.ID, f, err)
			mu.Unlock()
			if w == nil {
				return
			}
			status := map[fluid.Failure]int{fluid.Failed: 500, fluid.TimedOut: 504, fluid.ResponseTooLarge: 500, fluid.InvalidStatus: 502}[f]
			http.Error(w, "failed", status)
		},
	}
	seq := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if served != nil {
			defer func(start time.Time) { served(time.Since(start)) }(time.Now())
		}
		mu.Lock()
		seq++
		id := fmt.Sprintf("req-%d", seq)
		mu.Unlock()
		// Outbound HTTP to loopback only (the backends of the tests).
		rc := &requestContext{}
		rc.out = outbound.NewSession(context.Background(), loopback, func(string, ...any) {})
		err := p.Serve(w, r, fluid.Request{ID: id, Function: "api/sleep", Deadline: time.Now().Add(maxDuration), Cancel: true,
			Ctx: rc, OnAbort: func(int32) { rc.out.CancelInFlight() }, OnEnd: rc.out.Close})
		if err != nil {
			http.Error(w, err.Error(), http.StatusServiceUnavailable)
		}
	}))
	t.Cleanup(func() {
		srv.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		p.Close(ctx)
		mod.Close(context.Background())
	})
	return srv, p, ended
}

// loopback is an outbound client allowed to reach 127.0.0.1 only.
var loopback = func() *outbound.Client {
	policy, err := outbound.NewPolicy([]string{"127.0.0.1:*"})
	if err != nil {
		panic(err)
	}
	return outbound.NewClient(policy)
}()

// requestContext is the request context of the tests' invocations: no
// headers of the host's, no client address, and outbound HTTP.
type requestContext struct{ out *outbound.Session }

func (*requestContext) ExtraHeaders(dst []hostcall.Param) []hostcall.Param { return dst }
func (*requestContext) Hidden(string) bool                                 { return false }
func (*requestContext) IPAddress() (string, bool)                          { return "", false }
func (*requestContext) Geolocation() []byte                                { return []byte(`{"region":"dev1"}`) }
func (c *requestContext) Outbound() *outbound.Session                      { return c.out }
func (*requestContext) Cache() hostcall.Cache                              { return nil }

// 200 invocations that each sleep 2 s run at once in one instance: all
// answer right, one instance is made, and together they take far less
// than the 400 s they would one after another. The sleep outlasts the
// burst of arrivals: on a loaded machine (CI under -race) 200 arrivals
// kept the guest running for up to 250 ms, and sleeps of 200 ms that
// ended in that run made it count as CPU-busy (computing through its
// invocations, fluid.Pool), so a second instance was made.
func TestConcurrentSleepersOneInstance(t *testing.T) {
	srv, p := serveGuest(t, time.Minute)
	// The first request makes the instance.
	if code, body, err := testkit.Get(t.Context(), srv.URL+"/?n=first"); err != nil || code != 200 || body != "hello first" {
		t.Fatalf("first request: %d %q %v", code, body, err)
	}
	const n = 200
	start := time.Now()
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Go(func() {
			code, body, err := testkit.Get(t.Context(), fmt.Sprintf("%s/?ms=2000&n=%d", srv.URL, i))
			if want := fmt.Sprintf("hello %d", i); err != nil || code != 200 || body != want {
				errs <- fmt.Errorf("request %d: %d %q %v, want 200 %q", i, code, body, err, want)
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if elapsed := time.Since(start); elapsed > 20*time.Second {
		t.Errorf("%d sleeps of 2 s took %v: they did not run at once", n, elapsed)
	}
	if got := p.Created(); got != 1 {
		t.Errorf("%d instances made, want 1", got)
	}
	// A POST's body streams in through EAGAIN and EventReady.
	resp, err := http.Post(srv.URL, "text/plain", strings.NewReader(strings.Repeat("x", 200_000)))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if len(b) != 200_000 {
		t.Errorf("echo: %d bytes back, want 200000", len(b))
	}
}

// A client that leaves aborts its invocation only: the guest's handler
// sees its context cancelled, and the others answer as usual.
func TestAbortOneAmongMany(t *testing.T) {
	srv, p := serveGuest(t, time.Minute)
	var wg sync.WaitGroup
	const n = 20
	errs := make(chan error, n)
	ctx, leave := context.WithCancel(t.Context())
	wg.Go(func() {
		_, _, err := testkit.Get(ctx, srv.URL+"/?ms=30000&n=gone")
		if !errors.Is(err, context.Canceled) {
			errs <- fmt.Errorf("the request whose client left: %v", err)
		}
	})
	for i := range n {
		wg.Go(func() {
			code, body, err := testkit.Get(t.Context(), fmt.Sprintf("%s/?ms=1000&n=%d", srv.URL, i))
			if want := fmt.Sprintf("hello %d", i); err != nil || code != 200 || body != want {
				errs <- fmt.Errorf("request %d: %d %q %v", i, code, body, err)
			}
		})
	}
	// Leave once the instance is serving, then wait for the guest to
	// count the abort.
	waitFor(t, func() bool { return p.Instances() == 1 })
	leave()
	waitFor(t, func() bool {
		_, body, _ := testkit.Get(t.Context(), srv.URL+"/?stats")
		return body == "aborted 1"
	})
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if got := p.Created(); got != 1 {
		t.Errorf("%d instances made, want 1", got)
	}
}

// An invocation past its deadline gets 504 while the others on its
// instance answer; one that ends its instance (proc_exit) fails every
// invocation in flight there, and the next request gets a new instance.
func TestDeadlineAndExitOfOneAmongMany(t *testing.T) {
	srv, p := serveGuest(t, 3*time.Second)
	var wg sync.WaitGroup
	results := make(chan string, 3)
	wg.Go(func() {
		code, _, err := testkit.Get(t.Context(), srv.URL+"/?ms=60000&n=late")
		results <- fmt.Sprintf("late %d %v", code, err)
	})
	wg.Go(func() {
		code, body, err := testkit.Get(t.Context(), srv.URL+"/?ms=100&n=quick")
		results <- fmt.Sprintf("quick %d %s %v", code, body, err)
	})
	wg.Wait()
	close(results)
	got := map[string]bool{}
	for r := range results {
		got[r] = true
	}
	for _, want := range []string{"late 504 <nil>", "quick 200 hello quick <nil>"} {
		if !got[want] {
			t.Errorf("results %v lack %q", got, want)
		}
	}
	// The late one's r.Context() ended with context.DeadlineExceeded, as
	// the SDK's doc says, not context.Canceled (EventAbort's reason 2).
	waitFor(t, func() bool {
		_, body, _ := testkit.Get(t.Context(), srv.URL+"/?deadlines")
		return body == "deadlines 1"
	})

	// proc_exit ends the instance: a sleeper beside it fails with 500.
	// The sleeper must be running on the instance before the exit is
	// sent: the late invocation's end is awaited first, so that the one
	// in flight is the sleeper.
	waitFor(t, func() bool { return p.Inflight() == 0 })
	sleeper := make(chan int, 1)
	go func() {
		code, _, _ := testkit.Get(t.Context(), srv.URL+"/?ms=2500&n=beside")
		sleeper <- code
	}()
	waitFor(t, func() bool { return p.Inflight() == 1 })
	created := p.Created()
	if code, _, _ := testkit.Get(t.Context(), srv.URL+"/?exit"); code != 500 {
		t.Errorf("exit: status %d, want 500", code)
	}
	if code := <-sleeper; code != 500 {
		t.Errorf("the invocation beside the exit: status %d, want 500", code)
	}
	if code, body, err := testkit.Get(t.Context(), srv.URL+"/?n=after"); code != 200 || body != "hello after" {
		t.Errorf("after the exit: %d %q %v", code, body, err)
	}
	if p.Created() != created+1 {
		t.Errorf("instances made: %d, want %d", p.Created(), created+1)
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 30 s")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// A handler that computes without yielding starves its instance: once its
// invocation is past its deadline (504) and the guest has not called into
// the host for abi.WatchdogMs, the watchdog stops the instance, failing
// the invocation beside it, and the next request gets a new instance.
func TestWatchdogStopsASpinningInstance(t *testing.T) {
	srv, p, ended := serveGuestEnded(t, 2*time.Second, nil)
	// The request beside stays on the spinning instance: it does not
	// move to another when the spinning one is CPU-busy.
	p.BusyAfter = -1
	if code, _, _ := testkit.Get(t.Context(), srv.URL+"/?n=warm"); code != 200 {
		t.Fatalf("warm-up: %d", code)
	}
	spin := make(chan int, 1)
	go func() {
		code, _, _ := testkit.Get(t.Context(), srv.URL+"/?spin")
		spin <- code
	}()
	waitFor(t, func() bool { return p.Inflight() == 1 })
	// Beside it: it cannot run while the guest spins, and fails with the
	// instance (500) or at its own deadline (504), whichever comes first.
	if code, _, _ := testkit.Get(t.Context(), srv.URL+"/?ms=10&n=beside"); code != 500 && code != 504 {
		t.Errorf("the invocation beside the spinning one: %d, want 500 or 504", code)
	}
	if code := <-spin; code != 504 {
		t.Errorf("spin: %d, want 504", code)
	}
	if err := <-ended; !errors.Is(err, fluid.ErrWatchdog) {
		t.Errorf("the instance ended with %v, want the watchdog's error", err)
	}
	waitFor(t, func() bool { return p.Instances() == 0 })
	if code, body, err := testkit.Get(t.Context(), srv.URL+"/?n=after"); code != 200 || body != "hello after" {
		t.Errorf("after the watchdog: %d %q %v", code, body, err)
	}
	if got := p.Created(); got != 2 {
		t.Errorf("%d instances made, want 2", got)
	}
}

// While an invocation is past its deadline and its guest spins, the
// watchdog is about to stop the instance: a request that comes then goes
// to a new instance, not to the one that will fail it.
func TestSpinningPastDeadlineTakesNoNewInvocation(t *testing.T) {
	srv, p, ended := serveGuestEnded(t, 2*time.Second, nil)
	p.BusyAfter = -1 // the CPU-busy rule does not steer it
	if code, _, _ := testkit.Get(t.Context(), srv.URL+"/?n=warm"); code != 200 {
		t.Fatalf("warm-up: %d", code)
	}
	if code, _, _ := testkit.Get(t.Context(), srv.URL+"/?spin"); code != 504 {
		t.Fatalf("spin: %d, want 504", code)
	}
	// The watchdog stops the spinning instance a second from now.
	if code, body, err := testkit.Get(t.Context(), srv.URL+"/?n=next"); code != 200 || body != "hello next" {
		t.Errorf("a request while the instance spins past a deadline: %d %q %v, want 200 from another instance", code, body, err)
	}
	if got := p.Created(); got != 2 {
		t.Errorf("%d instances made, want 2", got)
	}
	if err := <-ended; !errors.Is(err, fluid.ErrWatchdog) {
		t.Errorf("the instance ended with %v, want the watchdog's error", err)
	}
}

// An invocation whose task never returns (it waits on a channel nothing
// sends to) never ends, though the guest does not spin: a second past its
// deadline its instance takes no new invocation and, nothing else being
// left on it, is stopped (ErrNeverEnded, naming the request id), so that
// it does not hold the function's one slot (one instance of one
// invocation here) for good: the next request gets a new instance.
func TestInvocationThatNeverEndsDoesNotHoldItsSlot(t *testing.T) {
	srv, p, ended := serveGuestEnded(t, time.Second, nil)
	p.MaxInstances, p.Concurrency = 1, 1
	if code, body, err := testkit.Get(t.Context(), srv.URL+"/?leak"); code != 200 || body != "leaking" {
		t.Fatalf("leak: %d %q %v", code, body, err)
	}
	// Its slot is held until the instance stops: 503 (throttled) until then.
	var code int
	var body string
	waitFor(t, func() bool {
		code, body, _ = testkit.Get(t.Context(), srv.URL+"/?n=after")
		return code != http.StatusServiceUnavailable
	})
	if code != 200 || body != "hello after" {
		t.Errorf("after the leaked invocation: %d %q", code, body)
	}
	if err := <-ended; !errors.Is(err, fluid.ErrNeverEnded) || !strings.Contains(err.Error(), "request ids ") {
		t.Errorf("the instance ended with %v, want ErrNeverEnded naming the request id", err)
	}
	if got := p.Created(); got != 2 {
		t.Errorf("%d instances made, want 2", got)
	}
}

// Invocations waiting on a slow backend through the host (wfnfetch.Transport:
// http_send, then EAGAIN and EventReady until the head and the body are
// in) wait together in one instance: the backend sees them all at once.
func TestOutboundWaitsTogether(t *testing.T) {
	var mu sync.Mutex
	inside, most := 0, 0
	release := make(chan struct{})
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		inside++
		most = max(most, inside)
		mu.Unlock()
		<-release
		mu.Lock()
		inside--
		mu.Unlock()
		io.WriteString(w, "ok "+r.URL.Query().Get("n"))
	}))
	defer backend.Close()
	srv, p := serveGuest(t, time.Minute)
	const n = 50
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Go(func() {
			url := fmt.Sprintf("%s/?backend=%s/%%3Fn%%3D%d", srv.URL, backend.URL, i)
			code, body, err := testkit.Get(t.Context(), url)
			if want := fmt.Sprintf("backend 200 ok %d", i); err != nil || code != 200 || body != want {
				errs <- fmt.Errorf("request %d: %d %q %v, want %q", i, code, body, err, want)
			}
		})
	}
	// Every invocation reaches the backend before any is answered.
	waitFor(t, func() bool {
		mu.Lock()
		defer mu.Unlock()
		return inside == n
	})
	close(release)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if got := p.Created(); got != 1 {
		t.Errorf("%d instances made, want 1", got)
	}
	if most != n {
		t.Errorf("the backend saw at most %d requests at once, want %d", most, n)
	}
}

// WaitUntil's tasks start at once and run after the response, and one
// that panics stops no other; the invocation ends when they have
// returned.
func TestWaitUntilRunsAlongside(t *testing.T) {
	srv, p := serveGuest(t, time.Minute)
	if code, body, err := testkit.Get(t.Context(), srv.URL+"/?after"); code != 200 || body != "scheduled" {
		t.Fatalf("after: %d %q %v", code, body, err)
	}
	waitFor(t, func() bool {
		_, body, _ := testkit.Get(t.Context(), srv.URL+"/?tasks")
		return body == "tasks 1"
	})
	waitFor(t, func() bool { return p.Inflight() == 0 })
	if got := p.Created(); got != 1 {
		t.Errorf("%d instances made, want 1 (a task's panic must not end the instance)", got)
	}
}

// Closing a pool stops an idle instance with EventStop (its serving call
// returns), and gives a busy one EventSigterm and the time left in the
// context, after which its invocations fail.
func TestCloseStopsIdleAndBusyInstances(t *testing.T) {
	srv, p, ended := serveGuestEnded(t, time.Minute, nil)
	if code, _, _ := testkit.Get(t.Context(), srv.URL+"/?n=warm"); code != 200 {
		t.Fatalf("warm-up: %d", code)
	}
	waitFor(t, func() bool { return p.Inflight() == 0 })
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	if err := p.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if err := <-ended; !errors.Is(err, fluid.ErrServeReturned) {
		t.Errorf("the idle instance ended with %v, want its serving call returned", err)
	}

	srv2, p2, ended2 := serveGuestEnded(t, time.Minute, nil)
	sleeper := make(chan int, 1)
	go func() {
		code, _, _ := testkit.Get(t.Context(), srv2.URL+"/?ms=30000&n=busy")
		sleeper <- code
	}()
	waitFor(t, func() bool { return p2.Inflight() == 1 })
	ctx2, cancel2 := context.WithTimeout(t.Context(), 500*time.Millisecond)
	defer cancel2()
	if err := p2.Close(ctx2); err != nil {
		t.Fatal(err)
	}
	if err := <-ended2; !errors.Is(err, fluid.ErrClosed) {
		t.Errorf("the busy instance ended with %v, want ErrClosed", err)
	}
	if code := <-sleeper; code != 500 {
		t.Errorf("the invocation in flight at the close: %d, want 500", code)
	}
}

// An instance with no invocation in flight for the pool's IdleTimeout
// returns from its serving export (EventStop) and is closed; one serving
// an invocation longer than the timeout is not, and a request after the
// close gets a new instance.
func TestIdleInstanceCloses(t *testing.T) {
	srv, p, ended := serveGuestEnded(t, time.Minute, nil)
	p.IdleTimeout = 200 * time.Millisecond
	// Busy for 1 s, five idle timeouts: the instance stays.
	if code, body, err := testkit.Get(t.Context(), srv.URL+"/?ms=1000&n=busy"); code != 200 {
		t.Fatalf("an invocation longer than the idle timeout: %d %q %v", code, body, err)
	}
	waitFor(t, func() bool { return p.Instances() == 0 })
	select {
	case err := <-ended:
		if !errors.Is(err, fluid.ErrServeReturned) {
			t.Fatalf("the idle instance ended with %v, want its serving call returned", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("no instance ended")
	}
	if got := p.Created(); got != 1 {
		t.Fatalf("%d instances made before the idle close, want 1", got)
	}
	if code, body, err := testkit.Get(t.Context(), srv.URL+"/?n=again"); code != 200 || body != "hello again" {
		t.Fatalf("after the idle close: %d %q %v", code, body, err)
	}
	if got := p.Created(); got != 2 {
		t.Fatalf("%d instances made, want 2 (a new one after the idle close)", got)
	}
}
