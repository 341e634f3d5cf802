package main

import (
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/wfn-dev/wfn/guests/sdk/go/wfn/catchall"
	"github.com/wfn-dev/wfn/guests/sdk/go/wfn/wfntest"
	"github.com/wfn-dev/wfn/internal/redisserver"
)

// allowLocal is this function's allowedOutboundHosts in guests/vercel.json.
var allowLocal = wfntest.AllowedOutboundHosts("127.0.0.1:*", "localhost:*")

// useClient makes the next request build its client from url, closing
// the last test's.
func useClient(t *testing.T, url string) {
	t.Setenv("REDIS_URL", url)
	rdb.mu.Lock()
	defer rdb.mu.Unlock()
	if rdb.client != nil {
		rdb.client.Close()
		rdb.client = nil
	}
}

func get(t *testing.T) (int, string) {
	t.Helper()
	rec := httptest.NewRecorder()
	wfntest.Serve(rec, httptest.NewRequest("POST", "/api/counter", nil), nil, catchall.Serve, allowLocal)
	return rec.Code, rec.Body.String()
}

func TestMissingURL(t *testing.T) {
	useClient(t, "")
	if status, body := get(t); status != 500 || !strings.Contains(body, "REDIS_URL") {
		t.Fatalf("without REDIS_URL: %d %q, want 500 naming it", status, body)
	}
}

// clients is how many clients the server has, less the one asking.
func clients(t *testing.T, c *redis.Client) int {
	t.Helper()
	list, err := c.ClientList(t.Context()).Result()
	if err != nil {
		t.Fatal(err)
	}
	return strings.Count(list, "\n") - 1
}

// The counter increments on one connection that the instance keeps;
// suspension releases it, and the next request connects again.
func TestCounter(t *testing.T) {
	srv := redisserver.StartForTest(t)
	useClient(t, srv.URL())
	check := redis.NewClient(&redis.Options{Addr: srv.Addr()})
	defer check.Close()
	for _, want := range []string{"1", "2", "3"} {
		if status, body := get(t); status != 200 || body != want {
			t.Fatalf("POST /api/counter = %d %q, want %s", status, body, want)
		}
		if n := clients(t, check); n != 1 {
			t.Errorf("the function holds %d connections, want 1", n)
		}
	}
	if err := wfntest.Suspend(); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(10 * time.Second); clients(t, check) != 0; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the idle connection was not closed at suspension")
		}
	}
	if status, body := get(t); status != 200 || body != "4" {
		t.Fatalf("after suspension: %d %q, want 4", status, body)
	}
}

// Redis down: go-redis's error is the answer.
func TestRedisDown(t *testing.T) {
	srv := redisserver.StartForTest(t)
	useClient(t, srv.URL())
	if status, _ := get(t); status != 200 {
		t.Fatalf("status %d", status)
	}
	srv.Kill()
	status, body := get(t)
	if status != 503 || !strings.Contains(body, "counter: ") {
		t.Fatalf("Redis down: %d %q, want 503 with go-redis's error", status, body)
	}
	t.Logf("answer with Redis down: %s", strings.TrimSpace(body))
}
