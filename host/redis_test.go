package host_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/wfn-dev/wfn/host"
	"github.com/wfn-dev/wfn/internal/redisserver"
	"github.com/wfn-dev/wfn/internal/testkit"
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

// TestRedisDownAtStart starts a host whose Redis (with a password) is
// not there yet: functions serve, cache calls fail with EIO, the log
// says so once (not once a second) and never shows the password, and the
// host uses Redis once it is up, without a restart.
func TestRedisDownAtStart(t *testing.T) {
	requireGo(t)
	redis := redisserver.StartForTest(t) // for its port, and to know redis-server is there
	redis.Kill()
	const password = "hunter2-secret"
	url := fmt.Sprintf("redis://:%s@%s/0", password, redis.Addr())
	_, srv, logs := serve(t, host.Config{Dir: "../testdata/guests", Cache: url})
	kv := srv.URL + "/api/kv?key=k"
	start := time.Now()
	for n := 0; time.Since(start) < 2500*time.Millisecond; n++ {
		if r := get(t, kv); r.status != 503 || !strings.Contains(r.body, "EIO") {
			t.Fatalf("get %d with Redis down = %d %q, want the guest's 503 for EIO", n, r.status, r.body)
		}
		if r := get(t, srv.URL+"/api/count"); r.status != 200 {
			t.Fatalf("a function that does not cache = %d with Redis down", r.status)
		}
	}
	log := logs.String()
	if strings.Contains(log, password) {
		t.Errorf("the log shows the Redis password:\n%s", log)
	}
	if n := strings.Count(log, "cannot open the cache"); n != 1 {
		t.Errorf("%d lines say the cache cannot be opened in 2.5 s of requests, want 1:\n%s", n, log)
	}
	if strings.Contains(log, "invalid configuration") {
		t.Errorf("a Redis that is down is logged as a configuration error:\n%s", log)
	}

	restarted, err := redisserver.Start(context.Background(), t.TempDir(), redis.Port)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(restarted.Kill)
	rc := goredis.NewClient(&goredis.Options{Addr: restarted.Addr()})
	defer rc.Close()
	if err := rc.ConfigSet(t.Context(), "requirepass", password).Err(); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the host to use Redis", func() bool {
		return do(t, http.MethodPut, kv, strings.NewReader("up")).status == 200
	})
	if r := get(t, kv); r.status != 200 || r.body != "up" {
		t.Errorf("after Redis came up: %d %q", r.status, r.body)
	}
	if !strings.Contains(logs.String(), "cache opened") {
		t.Errorf("no log line says the cache is open:\n%s", logs.String())
	}
	if strings.Contains(logs.String(), password) {
		t.Errorf("the log shows the Redis password:\n%s", logs.String())
	}
}

// TestRedisDownAtStartCDNHeaders: while the CDN cache's Redis cannot be
// reached, a response is the origin's, as with a store that fails
// mid-run: x-vercel-cache: MISS, the CDN-only headers (Vercel-CDN-Cache-
// Control, Vercel-Cache-Tag) kept from the client, the default
// Cache-Control. Once Redis is up, the cache stores and hits.
func TestRedisDownAtStartCDNHeaders(t *testing.T) {
	redis := redisserver.StartForTest(t)
	redis.Kill()
	h, srv, _ := serve(t, host.Config{Dir: watDir(t, "cdn"), Cache: redis.URL()})
	url := srv.URL + "/api/cdn"
	check := func(r response, want string) {
		t.Helper()
		if r.status != 200 || r.header.Get("X-Vercel-Cache") != want {
			t.Errorf("x-vercel-cache %q (status %d), want %s", r.header.Get("X-Vercel-Cache"), r.status, want)
		}
		for _, h := range []string{"Vercel-Cdn-Cache-Control", "Vercel-Cache-Tag"} {
			if v := r.header.Get(h); v != "" {
				t.Errorf("the client got %s: %s", h, v)
			}
		}
		if cc := r.header.Get("Cache-Control"); cc != "public, max-age=0, must-revalidate" {
			t.Errorf("Cache-Control %q, want the CDN's default", cc)
		}
	}
	check(get(t, url), "MISS")
	check(get(t, url), "MISS")
	// The metrics say why (wfn_cdn_cache_store_errors_total).
	if n := h.Stats().CDNStoreErrors["get"]; n < 2 {
		t.Errorf("CDNStoreErrors[get] = %d after two requests with Redis down, want 2 or more", n)
	}

	restarted, err := redisserver.Start(context.Background(), t.TempDir(), redis.Port)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(restarted.Kill)
	eventually(t, "a HIT once Redis is up", func() bool {
		return get(t, url).header.Get("X-Vercel-Cache") == "HIT"
	})
	check(get(t, url), "HIT")
}

// TestRedisDownJSCache: with the Runtime Cache's Redis down, a
// JavaScript function's getCache() calls do not throw, as Vercel's cache
// client never does: get resolves null (a miss), set, delete and
// expireTag resolve; the function answers. A value the host refuses still
// rejects. Once Redis is up, the same calls reach it.
func TestRedisDownJSCache(t *testing.T) {
	redis := redisserver.StartForTest(t)
	redis.Kill()
	dir := t.TempDir()
	testkit.WriteFiles(t, dir, map[string]string{"api/c.ts": `
import { getCache } from '@vercel/functions';
export async function GET(request: Request) {
  const cache = getCache();
  const before = await cache.get('k');
  await cache.set('k', 'v', { ttl: 60, tags: ['t'] });
  const after = await cache.get('k');
  await cache.delete('other');
  await cache.expireTag('other-tag');
  let refused = '';
  try {
    await cache.set('big', 'x'.repeat(3 << 20));
  } catch (err) {
    refused = String(err);
  }
  return Response.json({ before, after, refused });
}
`})
	_, srv, _ := serve(t, host.Config{Dir: dir, Cache: redis.URL()})
	r := get(t, srv.URL+"/api/c")
	if r.status != 200 || r.body != `{"before":null,"after":null,"refused":"TypeError: cache_set: ETOOLARGE"}` {
		t.Fatalf("GET with Redis down = %d %q, want 200 with misses and the refused value's error", r.status, r.body)
	}

	restarted, err := redisserver.Start(context.Background(), t.TempDir(), redis.Port)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(restarted.Kill)
	eventually(t, "the function to reach Redis", func() bool {
		return get(t, srv.URL+"/api/c").body == `{"before":"v","after":"v","refused":"TypeError: cache_set: ETOOLARGE"}`
	})
}
