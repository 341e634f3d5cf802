package cache_test

import (
	"context"
	"crypto/rand"
	"fmt"
	"os"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/wfn-dev/wfn/cache"
	"github.com/wfn-dev/wfn/internal/redisserver"
)

// redisURL is the Redis the tests share: WFN_TEST_REDIS, or a redis-server
// TestMain started. redisMissing says why there is none.
var (
	redisURL     string
	redisMissing error
)

func TestMain(m *testing.M) {
	if os.Getenv(helperEnv) != "" {
		os.Exit(runHelper())
	}
	os.Exit(runTests(m))
}

func runTests(m *testing.M) int {
	if u := os.Getenv("WFN_TEST_REDIS"); u != "" {
		redisURL = u
		return m.Run()
	}
	dir, err := os.MkdirTemp("", "wfn-cache-redis-")
	if err != nil {
		redisMissing = err
		return m.Run()
	}
	defer os.RemoveAll(dir)
	port, err := redisserver.FreePort()
	if err != nil {
		redisMissing = err
		return m.Run()
	}
	srv, err := redisserver.Start(context.Background(), dir, port)
	if err != nil {
		redisMissing = err
		return m.Run()
	}
	defer srv.Kill()
	redisURL = srv.URL()
	return m.Run()
}

// needRedis returns the shared Redis's URL, or skips the test (fails it
// when CI=true) if there is none.
func needRedis(t testing.TB) string {
	t.Helper()
	if redisURL == "" {
		need(t, redisMissing)
	}
	return redisURL
}

// need skips the test for a missing tool, or fails it when CI=true.
func need(t testing.TB, err error) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatalf("%v (CI=true: not skipping)", err)
	}
	t.Skip(err)
}

// testPrefix is a key prefix no other test uses, whose keys are deleted
// when the test ends.
func testPrefix(t testing.TB, url string) string {
	t.Helper()
	p := fmt.Sprintf("wfntest:%s:%s:", t.Name(), rand.Text()[:8])
	t.Cleanup(func() {
		opt, err := redis.ParseURL(url)
		if err != nil {
			return
		}
		c := redis.NewClient(opt)
		defer c.Close()
		ctx := context.Background()
		iter := c.Scan(ctx, 0, p+"*", 1000).Iterator()
		for iter.Next(ctx) {
			c.Del(ctx, iter.Val())
		}
	})
	return p
}

// openRedis opens a store on the shared Redis under prefix.
func openRedis(t testing.TB, prefix string, opts ...cache.Option) cache.Store {
	t.Helper()
	url := needRedis(t)
	s, err := cache.OpenRedis(context.Background(), url, append([]cache.Option{cache.WithPrefix(prefix)}, opts...)...)
	if err != nil {
		t.Fatalf("OpenRedis: %v", err)
	}
	t.Cleanup(func() { s.Close(context.Background()) })
	return s
}
