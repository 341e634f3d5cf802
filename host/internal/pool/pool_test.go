package pool_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wfn-dev/wfn/host/internal/engine"
	"github.com/wfn-dev/wfn/host/internal/pool"
)

// inst is an instance that only counts its closing.
type inst struct {
	engine.Instance
	id     int
	closed *atomic.Int32
}

func (i *inst) Close(context.Context) error { i.closed.Add(1); return nil }

func newPool(max, queue int, timeout time.Duration, limit *pool.Limit) (*pool.Pool, *atomic.Int32, *atomic.Int32) {
	var made, closed atomic.Int32
	p := pool.New(func(context.Context) (engine.Instance, error) {
		return &inst{id: int(made.Add(1)), closed: &closed}, nil
	}, max, queue, timeout, limit)
	return p, &made, &closed
}

func TestReuseAndDiscard(t *testing.T) {
	ctx := context.Background()
	p, made, closed := newPool(2, 10, time.Second, pool.NewLimit(10))
	a, _ := p.Get(ctx)
	p.Put(ctx, a, true)
	b, _ := p.Get(ctx)
	if b != a || made.Load() != 1 {
		t.Fatalf("a healthy instance was not reused (made %d)", made.Load())
	}
	p.Put(ctx, b, false)
	if closed.Load() != 1 {
		t.Fatal("an unhealthy instance was not closed")
	}
	c, _ := p.Get(ctx)
	if c == b || made.Load() != 2 {
		t.Fatal("an unhealthy instance was reused")
	}
	if s := p.Stats(); s.Live != 1 || s.Idle != 0 {
		t.Errorf("stats = %+v", s)
	}
}

func TestWaitingEndsThreeWays(t *testing.T) {
	ctx := context.Background()
	p, _, _ := newPool(1, 1, 50*time.Millisecond, pool.NewLimit(10))
	held, _ := p.Get(ctx)

	// The queue timeout.
	if _, err := p.Get(ctx); !errors.Is(err, pool.ErrQueueTimeout) {
		t.Errorf("Get = %v, want ErrQueueTimeout", err)
	}
	// The caller's context.
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := p.Get(cctx); !errors.Is(err, context.Canceled) {
		t.Errorf("Get = %v, want context.Canceled", err)
	}
	// A full queue, at once; and a hand-off to the one waiting.
	p2, _, _ := newPool(1, 1, time.Minute, pool.NewLimit(10))
	h2, _ := p2.Get(ctx)
	got := make(chan engine.Instance)
	go func() { i, _ := p2.Get(ctx); got <- i }()
	deadline := time.Now().Add(30 * time.Second)
	for p2.Stats().Waiting != 1 {
		if time.Now().After(deadline) {
			t.Fatal("the waiter never queued")
		}
		time.Sleep(time.Millisecond)
	}
	if _, err := p2.Get(ctx); !errors.Is(err, pool.ErrThrottled) {
		t.Errorf("Get on a full queue = %v, want ErrThrottled", err)
	}
	p2.Put(ctx, h2, true)
	if i := <-got; i != h2 {
		t.Error("the waiter did not get the released instance")
	}
	p.Put(ctx, held, true)
}

func TestGlobalLimit(t *testing.T) {
	ctx := context.Background()
	limit := pool.NewLimit(1)
	a, _, aClosed := newPool(5, 5, time.Second, limit)
	b, _, _ := newPool(5, 5, time.Second, limit)
	ia, _ := a.Get(ctx)
	a.Put(ctx, ia, true) // idle in a: evicted to make room for b
	ib, err := b.Get(ctx)
	if err != nil || aClosed.Load() != 1 {
		t.Fatalf("b.Get = %v; a's idle instance closed %d times, want 1", err, aClosed.Load())
	}
	// b holds the only slot; a waits, and gets one when b's instance
	// goes idle (it is closed to free the slot).
	done := make(chan error)
	go func() {
		i, err := a.Get(ctx)
		if err == nil {
			a.Put(ctx, i, true)
		}
		done <- err
	}()
	for a.Stats().Waiting != 1 {
		time.Sleep(time.Millisecond)
	}
	b.Put(ctx, ib, true)
	if err := <-done; err != nil {
		t.Errorf("a.Get = %v", err)
	}
	if err := a.Close(ctx); err != nil {
		t.Error(err)
	}
	if _, err := a.Get(ctx); !errors.Is(err, pool.ErrClosed) {
		t.Errorf("Get after Close = %v, want ErrClosed", err)
	}
}
