package cache_test

import (
	"bytes"
	"context"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/wfn-dev/wfn/cache"
)

// benchValue is a typical Runtime Cache value: 2 KiB of JSON, compressed.
var benchValue = bytes.Repeat([]byte(`{"id":123,"name":"wfn"},`), 2048/24)

func benchGets(b *testing.B, open func(b *testing.B, opts ...cache.Option) cache.Store) {
	b.Run("front", func(b *testing.B) { benchGet(b, open(b)) })
	b.Run("nofront", func(b *testing.B) { benchGet(b, open(b, cache.WithFrontSize(0))) })
}

func benchGet(b *testing.B, s cache.Store) {
	ctx := context.Background()
	const keys = 100
	for i := range keys {
		if err := s.Set(ctx, fmt.Sprint("k", i), benchValue, 0, []string{"a", "b"}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		e, err := s.Get(ctx, fmt.Sprint("k", i%keys))
		if err != nil || len(e.Value) != len(benchValue) {
			b.Fatal(err)
		}
	}
}

func benchSet(b *testing.B, s cache.Store) {
	ctx := context.Background()
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		if err := s.Set(ctx, fmt.Sprint("k", i%100), benchValue, 0, []string{"a", "b"}); err != nil {
			b.Fatal(err)
		}
	}
}

func openDiskBench(b *testing.B, opts ...cache.Option) cache.Store {
	return openDisk(b, filepath.Join(b.TempDir(), "cache.db"), opts...)
}

func openRedisBench(b *testing.B, opts ...cache.Option) cache.Store {
	return openRedis(b, testPrefix(b, needRedis(b)), opts...)
}

func BenchmarkDiskGet(b *testing.B)  { benchGets(b, openDiskBench) }
func BenchmarkDiskSet(b *testing.B)  { benchSet(b, openDiskBench(b)) }
func BenchmarkRedisGet(b *testing.B) { benchGets(b, openRedisBench) }
func BenchmarkRedisSet(b *testing.B) { benchSet(b, openRedisBench(b)) }

// TestBenchSetup checks what the benchmarks rely on: the value is over the
// compression threshold and round-trips through both stores.
func TestBenchSetup(t *testing.T) {
	if len(benchValue) <= 1024 {
		t.Fatalf("benchValue is %d bytes, not over the 1 KiB compression threshold", len(benchValue))
	}
	stores := []cache.Store{openDisk(t, filepath.Join(t.TempDir(), "cache.db"))}
	if redisURL != "" {
		stores = append(stores, openRedis(t, testPrefix(t, redisURL)))
	}
	for _, s := range stores {
		if err := s.Set(t.Context(), "k", benchValue, 0, []string{"a", "b"}); err != nil {
			t.Fatal(err)
		}
		if e, err := s.Get(t.Context(), "k"); err != nil || !bytes.Equal(e.Value, benchValue) {
			t.Fatalf("Get = %d bytes, %v", len(e.Value), err)
		}
	}
}
