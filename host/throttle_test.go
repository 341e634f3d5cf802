package host_test

import (
	"io"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/wfn-dev/wfn/host"
)

// hold starts a request to the hold guest and returns once the guest is
// running (its head has arrived); the instance stays busy until release
// is called, which also returns the response body.
func hold(t *testing.T, url string) (release func() string) {
	t.Helper()
	pr, pw := io.Pipe()
	req, err := http.NewRequest("POST", url+"/api/hold", pr)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 200 {
		t.Fatalf("hold: status %d", resp.StatusCode)
	}
	return func() string {
		pw.Close()
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return string(b)
	}
}

func TestThrottledWhenQueueFull(t *testing.T) {
	_, srv, _ := serve(t, host.Config{Dir: watDir(t, "hold"), MaxInstancesPerFunction: 1, MaxQueue: 1})
	release := hold(t, srv.URL)
	// The only instance is busy and the queue holds one: of two more
	// requests, exactly one waits and one is refused at once.
	results := make(chan response, 2)
	var wg sync.WaitGroup
	for i := 0; i < 2; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results <- do(t, "POST", srv.URL+"/api/hold", nil)
		}()
	}
	first := <-results
	wantError(t, first, 503, host.CodeThrottled)
	if got := first.header.Get("Retry-After"); got == "" {
		t.Error("503 without Retry-After")
	}
	if body := release(); body != "done" {
		t.Errorf("held request = %q, want done", body)
	}
	if second := <-results; second.status != 200 || second.body != "done" {
		t.Errorf("queued request = %d %q, want 200 done", second.status, second.body)
	}
	wg.Wait()
}

func TestThrottledAfterQueueTimeout(t *testing.T) {
	_, srv, _ := serve(t, host.Config{Dir: watDir(t, "hold"), MaxInstancesPerFunction: 1, QueueTimeout: 50 * time.Millisecond})
	release := hold(t, srv.URL)
	defer release()
	wantError(t, do(t, "POST", srv.URL+"/api/hold", nil), 503, host.CodeThrottled)
}

func TestGlobalLimitEvictsIdleInstances(t *testing.T) {
	dir := watDir(t, "hold", "hello")
	_, srv, _ := serve(t, host.Config{Dir: dir, MaxInstances: 1})
	// hello's idle instance must make room for hold's...
	if r := get(t, srv.URL+"/api/hello"); r.status != 200 {
		t.Fatalf("hello = %d", r.status)
	}
	release := hold(t, srv.URL)
	// ...and hello waits for the busy one to go, then runs.
	done := make(chan response, 1)
	go func() { done <- get(t, srv.URL+"/api/hello") }()
	if body := release(); body != "done" {
		t.Errorf("hold = %q", body)
	}
	if r := <-done; r.status != 200 || r.body != "Hello from wfn!" {
		t.Errorf("hello after hold = %d %q", r.status, r.body)
	}
}

func TestConcurrentInvocationsShareWarmInstances(t *testing.T) {
	_, srv, _ := serve(t, host.Config{Dir: watDir(t, "hello"), MaxInstancesPerFunction: 4})
	var wg sync.WaitGroup
	errs := make(chan string, 200)
	for c := 0; c < 8; c++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 25; i++ {
				if r := get(t, srv.URL+"/api/hello"); r.status != 200 || r.body != "Hello from wfn!" {
					errs <- r.body
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Errorf("bad response under concurrency: %q", e)
	}
}
