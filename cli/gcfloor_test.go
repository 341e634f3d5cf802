package cli

import (
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"testing"
	"time"
)

func TestGCPercentFor(t *testing.T) {
	for _, c := range []struct {
		live, floor uint64
		want        int
	}{
		{live: 1 << 20, floor: 32 << 20, want: 800},   // the minimum heap, 4 MiB × 8, is the floor
		{live: 8 << 20, floor: 32 << 20, want: 300},   // 8 MiB × 4
		{live: 16 << 20, floor: 32 << 20, want: 100},  // twice the live heap is the floor
		{live: 100 << 20, floor: 32 << 20, want: 100}, // above it: GOGC=100
		{live: 1 << 10, floor: 32 << 20, want: 800},
		{live: 0, floor: 32 << 20, want: 800},
		{live: 1 << 20, floor: 1 << 40, want: maxGCPercent},
		{live: 0, floor: 1, want: 100},
	} {
		if got := gcPercentFor(c.live, c.floor); got != c.want {
			t.Errorf("gcPercentFor(%d, %d) = %d, want %d", c.live, c.floor, got, c.want)
		}
	}
}

// TestGCFloorFollowsCollections checks that the floor's percent is set at
// start and set again after a collection, and that stop restores
// GOGC=100.
func TestGCFloorFollowsCollections(t *testing.T) {
	t.Setenv("GOGC", "")
	t.Setenv("GOMEMLIMIT", "")
	stop := startGCFloor(1 << 40) // far above any live heap: the maximum
	defer stop()
	if got := gogc(t); got != maxGCPercent {
		t.Fatalf("GOGC after start = %d, want %d", got, maxGCPercent)
	}
	// Something else sets it: the next collection's end sets it back.
	debug.SetGCPercent(100)
	deadline := time.Now().Add(10 * time.Second)
	for gogc(t) != maxGCPercent {
		if time.Now().After(deadline) {
			t.Fatal("GOGC was not set again after collections")
		}
		runtime.GC()
		runtime.Gosched() // the finalizer's goroutine
	}
	stop()
	if got := gogc(t); got != 100 {
		t.Fatalf("GOGC after stop = %d, want 100", got)
	}
	runtime.GC()
	runtime.GC()
	if got := gogc(t); got != 100 {
		t.Fatalf("GOGC after stop and collections = %d, want 100", got)
	}
}

// TestGCFloorLeavesUsersGOGC checks that a GOGC of the user's stands.
func TestGCFloorLeavesUsersGOGC(t *testing.T) {
	t.Setenv("GOGC", "100")
	stop := startGCFloor(1 << 40)
	defer stop()
	if got := gogc(t); got != 100 {
		t.Fatalf("GOGC with the user's GOGC=100 = %d, want 100", got)
	}
}

func gogc(t *testing.T) int {
	t.Helper()
	s := []metrics.Sample{{Name: "/gc/gogc:percent"}}
	metrics.Read(s)
	if s[0].Value.Kind() != metrics.KindUint64 {
		t.Fatal("no /gc/gogc:percent metric")
	}
	return int(s[0].Value.Uint64())
}
