package host_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/wfn-dev/wfn/host"
	"github.com/wfn-dev/wfn/internal/redisserver"
)

// TestRedisSharedByHosts runs two hosts on one Redis: what one stores the
// other reads, and a tag expired on one is a miss on the other within
// 300 ms.
func TestRedisSharedByHosts(t *testing.T) {
	requireGo(t)
	redis := redisserver.StartForTest(t)
	cfg := host.Config{Dir: "../testdata/guests", Cache: redis.URL()}
	_, a, _ := serve(t, cfg)
	_, b, _ := serve(t, cfg)
	kv := "/api/kv?key=shared"
	if r := do(t, http.MethodPut, a.URL+kv+"&tags=t", strings.NewReader("from a")); r.status != 200 {
		t.Fatalf("put on a = %d %q", r.status, r.body)
	}
	if r := get(t, b.URL+kv); r.status != 200 || r.body != "from a" {
		t.Fatalf("get on b = %d %q, want what a stored", r.status, r.body)
	}
	// B has read the entry (its in-memory front may hold it). Expire the
	// tag on A and measure when B sees the miss.
	if r := do(t, http.MethodPut, a.URL+"/api/kv?key=expire&tags=t", strings.NewReader("")); r.status != 200 {
		t.Fatal(r.status)
	}
	start := time.Now()
	expireTag(t, a.URL, "t")
	var seen time.Duration
	eventually(t, "b to see the expiry", func() bool {
		if get(t, b.URL+kv).status == 404 {
			seen = time.Since(start)
			return true
		}
		return false
	})
	t.Logf("tag expired on host a, seen as a miss on host b after %s", seen)
	if seen > 300*time.Millisecond {
		t.Errorf("expiry seen after %s, want under 300 ms", seen)
	}
}

// expireTag expires a Runtime Cache tag with testdata/guests/api/kv
// (cache_expire_tag).
func expireTag(t *testing.T, base, tag string) {
	t.Helper()
	if r := do(t, http.MethodPost, base+"/api/kv?expire="+tag, nil); r.status != 200 {
		t.Fatalf("expire %s = %d %q", tag, r.status, r.body)
	}
}

// TestRedisGoesAway stops Redis under a running host: functions keep
// serving, cache calls fail with EIO, and the host reconnects when Redis
// is back.
func TestRedisGoesAway(t *testing.T) {
	requireGo(t)
	redis := redisserver.StartForTest(t)
	_, srv, logs := serve(t, host.Config{Dir: "../testdata/guests", Cache: redis.URL()})
	kv := srv.URL + "/api/kv?key=k"
	if r := do(t, http.MethodPut, kv, strings.NewReader("v")); r.status != 200 {
		t.Fatalf("put = %d", r.status)
	}
	redis.Kill()
	start := time.Now()
	r := get(t, kv)
	if r.status != 503 || !strings.Contains(r.body, "EIO") {
		t.Errorf("get with Redis down = %d %q, want the guest's 503 for EIO", r.status, r.body)
	}
	t.Logf("a cache call with Redis down failed after %s", time.Since(start))
	if r := get(t, srv.URL+"/api/count"); r.status != 200 {
		t.Errorf("a function that does not cache = %d with Redis down", r.status)
	}
	if !strings.Contains(logs.String(), "cache unavailable") {
		t.Error("no log line says the cache is unavailable")
	}

	restarted, err := redisserver.Start(context.Background(), t.TempDir(), redis.Port)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(restarted.Kill)
	eventually(t, "the host to use Redis again", func() bool {
		return do(t, http.MethodPut, kv, strings.NewReader("again")).status == 200
	})
	if r := get(t, kv); r.status != 200 || r.body != "again" {
		t.Errorf("after Redis came back: %d %q", r.status, r.body)
	}
}

// sharedHosts serves testdata/guests from two hosts of one deployment
// sharing a Redis of the test's own.
func sharedHosts(t *testing.T) (a, b *httptest.Server) {
	t.Helper()
	requireGo(t)
	redis := redisserver.StartForTest(t)
	cfg := host.Config{Dir: "../testdata/guests", Cache: redis.URL(), DeploymentID: "dpl_shared"}
	_, a, _ = serve(t, cfg)
	_, b, _ = serve(t, cfg)
	return a, b
}

// TestRedisCDNVariants: two hosts sharing Redis serve each other's stored
// variants, each only to requests whose selecting headers match.
func TestRedisCDNVariants(t *testing.T) {
	a, b := sharedHosts(t)
	wantCDN(t, rawGet(t, a.URL+"/api/tenant", "X-Tenant: acme", "Host: shop.example"), "MISS", "tenant acme run 1")
	wantCDN(t, rawGet(t, b.URL+"/api/tenant", "X-Tenant: acme", "Host: shop.example"), "HIT", "tenant acme run 1")
	wantCDN(t, rawGet(t, b.URL+"/api/tenant", "X-Tenant: globex", "Host: shop.example"), "MISS", "tenant globex run 1")
	wantCDN(t, rawGet(t, a.URL+"/api/tenant", "X-Tenant: globex", "Host: shop.example"), "HIT", "tenant globex run 1")
	wantCDN(t, rawGet(t, a.URL+"/api/tenant", "X-Tenant: acme", "Host: shop.example"), "HIT", "tenant acme run 1")
}

// TestRedisCDNRevalidation: an entry stored by one host and expired is
// validated by the other; the first host then serves the refreshed entry.
func TestRedisCDNRevalidation(t *testing.T) {
	a, b := sharedHosts(t)
	path := fmt.Sprintf("/api/cdnkit?mode=validate&id=%d", freshID())
	wantCDN(t, rawGet(t, a.URL+path, "Host: shop.example"), "MISS", "validate run 1 if-none-match ")
	revalidate(t, b.URL+path, "Host: shop.example")
	r := rawGet(t, a.URL+path, "Host: shop.example")
	wantCDN(t, r, "HIT", "validate run 1 if-none-match ")
	if r.header.Get("X-Run") != "2" {
		t.Fatalf("the other host's HIT has X-Run %q, want the 304's 2", r.header.Get("X-Run"))
	}
}
