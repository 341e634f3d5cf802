package pool_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wfn-dev/wfn/host/internal/engine"
	"github.com/wfn-dev/wfn/host/internal/pool"
	"github.com/wfn-dev/wfn/internal/testkit"
)

// inst is an instance that only counts its closing.
type inst struct {
	engine.Instance
	id     int
	closed *atomic.Int32
}

func (i *inst) Close(context.Context) error { i.closed.Add(1); return nil }

func newPool(max, queue int, timeout time.Duration, limit *pool.Limit) (*pool.Pool, *atomic.Int32, *atomic.Int32) {
	return newPolicyPool(pool.Policy{Max: max, MaxQueue: queue, Timeout: timeout}, limit)
}

func newPolicyPool(policy pool.Policy, limit *pool.Limit) (*pool.Pool, *atomic.Int32, *atomic.Int32) {
	var made, closed atomic.Int32
	p := pool.New(func(context.Context) (engine.Instance, error) {
		return &inst{id: int(made.Add(1)), closed: &closed}, nil
	}, policy, limit)
	return p, &made, &closed
}

// waitFor polls cond with a generous deadline.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	testkit.Eventually(t, 30*time.Second, what, cond)
}

func TestPrewarmKeepsReserve(t *testing.T) {
	ctx := context.Background()
	p, made, _ := newPolicyPool(pool.Policy{Max: 5, MaxQueue: 5, Timeout: time.Second, MinIdle: 2}, pool.NewLimit(10))
	defer p.Close(ctx)
	if made.Load() != 0 {
		t.Fatal("instances made before Prewarm")
	}
	p.Prewarm()
	waitFor(t, "two idle instances", func() bool { return p.Stats().Idle == 2 })
	a, _ := p.Get(ctx)
	// Taking one from the reserve refills it in the background.
	waitFor(t, "the reserve refilled", func() bool { return p.Stats().Idle == 2 })
	if made.Load() != 3 {
		t.Errorf("made %d instances, want 3", made.Load())
	}
	p.Put(ctx, a, true)
	if s := p.Stats(); s.Idle != 3 || s.Live != 3 {
		t.Errorf("stats = %+v, want 3 idle of 3", s)
	}
}

// Drain closes the idle instances, the reserve included, and none is
// made again (Prewarm, an instance that failed) until the next Get, which
// makes the reserve again.
func TestDrain(t *testing.T) {
	ctx := context.Background()
	p, made, closed := newPolicyPool(pool.Policy{Max: 5, MaxQueue: 5, Timeout: time.Second, MinIdle: 1}, pool.NewLimit(10))
	defer p.Close(ctx)
	p.Prewarm()
	waitFor(t, "the reserve", func() bool { return p.Stats().Idle == 1 })
	busy, _ := p.Get(ctx)
	waitFor(t, "the reserve refilled", func() bool { return p.Stats().Idle == 1 })
	gets := p.Gets()
	if err := p.Drain(ctx); err != nil {
		t.Fatal(err)
	}
	if s := p.Stats(); s.Idle != 0 || s.Live != 1 || closed.Load() != 1 {
		t.Fatalf("after Drain: %+v, %d closed; want the busy instance alone live, the reserve closed", s, closed.Load())
	}
	p.Put(ctx, busy, false) // an instance that failed: no reserve for it
	p.Prewarm()
	if s := p.Stats(); s.Live != 0 || made.Load() != 2 {
		t.Errorf("drained pool: %+v after %d made, want nothing made", s, made.Load())
	}
	if p.Gets() != gets {
		t.Errorf("Gets = %d, want %d: no Get since", p.Gets(), gets)
	}
	inst, _ := p.Get(ctx)
	waitFor(t, "the reserve made again", func() bool { return p.Stats().Idle == 1 })
	p.Put(ctx, inst, true)
	if p.Gets() != gets+1 {
		t.Errorf("Gets = %d, want %d", p.Gets(), gets+1)
	}
}

func TestReserveWithinLimits(t *testing.T) {
	ctx := context.Background()
	limit := pool.NewLimit(1)
	p, made, _ := newPolicyPool(pool.Policy{Max: 5, MaxQueue: 5, Timeout: time.Second, MinIdle: 3}, limit)
	defer p.Close(ctx)
	p.Prewarm()
	waitFor(t, "one idle instance", func() bool { return p.Stats().Idle == 1 })
	p.Prewarm() // the global limit allows no more
	if s := p.Stats(); s.Live != 1 || made.Load() != 1 {
		t.Errorf("stats = %+v after %d made, want 1 live: the global limit is 1", s, made.Load())
	}
}

func TestIdleTimeout(t *testing.T) {
	ctx := context.Background()
	p, _, closed := newPolicyPool(pool.Policy{Max: 5, MaxQueue: 5, Timeout: time.Second, MinIdle: 1, IdleTimeout: 20 * time.Millisecond}, pool.NewLimit(10))
	defer p.Close(ctx)
	var held []engine.Instance
	for range 3 {
		i, err := p.Get(ctx)
		if err != nil {
			t.Fatal(err)
		}
		held = append(held, i)
	}
	for _, i := range held {
		p.Put(ctx, i, true)
	}
	// Idle instances beyond the reserve of one are closed.
	// The sweep counts them out before their Close calls, which run
	// concurrently, return.
	waitFor(t, "idle instances closed down to the reserve", func() bool { return p.Stats().Live == 1 && closed.Load() >= 2 })
	if s := p.Stats(); s.Idle != 1 || closed.Load() < 2 {
		t.Errorf("stats = %+v, closed %d; want the reserve of 1 kept", s, closed.Load())
	}
}

func TestMaxUses(t *testing.T) {
	ctx := context.Background()
	p, made, closed := newPolicyPool(pool.Policy{Max: 5, MaxQueue: 5, Timeout: time.Second, MaxUses: 3}, pool.NewLimit(10))
	defer p.Close(ctx)
	var seen []engine.Instance
	for range 7 {
		i, err := p.Get(ctx)
		if err != nil {
			t.Fatal(err)
		}
		seen = append(seen, i)
		p.Put(ctx, i, true)
	}
	if made.Load() != 3 || closed.Load() != 2 {
		t.Fatalf("made %d, closed %d; want 3 made and 2 retired after 3 uses each", made.Load(), closed.Load())
	}
	if seen[0] != seen[2] || seen[2] == seen[3] || seen[3] != seen[5] || seen[5] == seen[6] {
		t.Error("instances were not retired after exactly 3 uses")
	}
}

func TestFreshPerInvocation(t *testing.T) {
	ctx := context.Background()
	p, made, closed := newPolicyPool(pool.Policy{Max: 5, MaxQueue: 5, Timeout: time.Second, MaxUses: 1, MinIdle: 1}, pool.NewLimit(10))
	defer p.Close(ctx)
	p.Prewarm()
	waitFor(t, "a prewarmed instance", func() bool { return p.Stats().Idle == 1 })
	a, _ := p.Get(ctx)
	p.Put(ctx, a, true)
	if closed.Load() != 1 {
		t.Fatal("an instance was reused with MaxUses 1")
	}
	waitFor(t, "a fresh instance in reserve", func() bool { return p.Stats().Idle == 1 })
	b, _ := p.Get(ctx)
	if b == a || made.Load() < 2 {
		t.Error("the second invocation did not get a fresh instance")
	}
	p.Put(ctx, b, true)
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

// Suspend comes once per idle period, after SuspendAfter, while Get
// cannot take the instance (it waits for it, with Max 1); a Suspend that
// fails closes the instance.
func TestSuspendIdle(t *testing.T) {
	ctx := context.Background()
	var calls atomic.Int32
	entered, release := make(chan struct{}), make(chan struct{})
	fail := atomic.Bool{}
	policy := pool.Policy{Max: 1, MaxQueue: 5, Timeout: 30 * time.Second, SuspendAfter: 20 * time.Millisecond,
		Suspend: func(engine.Instance) error {
			if calls.Add(1) == 1 {
				entered <- struct{}{}
				<-release
			}
			if fail.Load() {
				return errors.New("trapped")
			}
			return nil
		}}
	p, made, closed := newPolicyPool(policy, pool.NewLimit(10))
	defer p.Close(ctx)
	a, _ := p.Get(ctx)
	p.Put(ctx, a, true)
	<-entered // suspending: out of the idle list
	got := make(chan engine.Instance)
	go func() {
		i, _ := p.Get(ctx)
		got <- i
	}()
	waitFor(t, "the Get to wait", func() bool { return p.Stats().Waiting == 1 })
	close(release)
	if b := <-got; b != a {
		t.Fatalf("Get during the suspension got another instance")
	}
	if calls.Load() != 1 {
		t.Errorf("%d calls of Suspend, want 1", calls.Load())
	}
	// A new idle period, and a Suspend that fails: the instance goes.
	fail.Store(true)
	p.Put(ctx, a, true)
	waitFor(t, "the failed instance closed", func() bool { return closed.Load() == 1 })
	if s := p.Stats(); s.Live != 0 || s.Idle != 0 || made.Load() != 1 {
		t.Errorf("after a failed Suspend: %+v, %d made", s, made.Load())
	}
}

// suspendingPool returns a pool of up to 5 instances whose Suspend blocks
// until release is closed, failing if fail is set, and one of its
// instances, idle and in its Suspend call.
func suspendingPool(t *testing.T, fail bool) (p *pool.Pool, a engine.Instance, release chan struct{}, made *atomic.Int32) {
	t.Helper()
	entered, release := make(chan struct{}, 1), make(chan struct{})
	policy := pool.Policy{Max: 5, MaxQueue: 5, Timeout: 30 * time.Second, SuspendAfter: 20 * time.Millisecond,
		Suspend: func(engine.Instance) error {
			entered <- struct{}{}
			<-release
			if fail {
				return errors.New("trapped")
			}
			return nil
		}}
	p, made, _ = newPolicyPool(policy, pool.NewLimit(10))
	t.Cleanup(func() {
		select {
		case <-release:
		default:
			close(release)
		}
		p.Close(context.Background())
	})
	a, err := p.Get(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	p.Put(t.Context(), a, true)
	<-entered // suspending: out of the idle list
	return p, a, release, made
}

// getAsync calls Get in the background.
func getAsync(ctx context.Context, p *pool.Pool) <-chan engine.Instance {
	got := make(chan engine.Instance, 1)
	go func() {
		i, _ := p.Get(ctx)
		got <- i
	}()
	return got
}

// A Get that comes while the only idle instance is in its Suspend call
// waits for it rather than make another (a cold start), though the pool
// may make more; a second Get does not wait; a failed Suspend lets the
// waiting Get make one; its context ends the wait.
func TestGetWaitsForSuspend(t *testing.T) {
	t.Run("resumed", func(t *testing.T) {
		p, a, release, made := suspendingPool(t, false)
		got := getAsync(t.Context(), p)
		waitFor(t, "the Get to wait", func() bool {
			if made.Load() > 1 {
				t.Fatal("Get during the suspension made another instance")
			}
			return p.Stats().Waiting == 1
		})
		// One Get waits per instance in suspension: the next makes one.
		b, err := p.Get(t.Context())
		if err != nil || b == a || made.Load() != 2 {
			t.Fatalf("second Get = %v, %v with %d made; want a new instance", b, err, made.Load())
		}
		close(release)
		if i := <-got; i != a {
			t.Fatalf("the waiting Get got %v, want the suspended instance", i)
		}
	})
	t.Run("failed", func(t *testing.T) {
		p, a, release, made := suspendingPool(t, true)
		got := getAsync(t.Context(), p)
		waitFor(t, "the Get to wait", func() bool { return p.Stats().Waiting == 1 })
		close(release)
		if i := <-got; i == nil || i == a || made.Load() != 2 {
			t.Fatalf("the waiting Get got %v with %d made; want a new instance", i, made.Load())
		}
	})
	t.Run("canceled", func(t *testing.T) {
		p, _, _, _ := suspendingPool(t, false)
		ctx, cancel := context.WithCancel(t.Context())
		errc := make(chan error, 1)
		go func() {
			_, err := p.Get(ctx)
			errc <- err
		}()
		waitFor(t, "the Get to wait", func() bool { return p.Stats().Waiting == 1 })
		cancel()
		if err := <-errc; !errors.Is(err, context.Canceled) {
			t.Fatalf("Get = %v, want context.Canceled", err)
		}
		if s := p.Stats(); s.Waiting != 0 {
			t.Errorf("after the cancel: %+v", s)
		}
	})
}

// Close and Drain close the idle instances concurrently: each may run
// the guest's wfn_on_suspend, up to 500 ms.
func TestCloseConcurrently(t *testing.T) {
	for _, tc := range []struct {
		name  string
		close func(*pool.Pool, context.Context) error
	}{
		{"Close", (*pool.Pool).Close},
		{"Drain", (*pool.Pool).Drain},
	} {
		t.Run(tc.name, func(t *testing.T) {
			const n = 4
			var inClose atomic.Int32
			release := make(chan struct{})
			p := pool.New(func(context.Context) (engine.Instance, error) {
				return &blockingInst{inClose: &inClose, release: release}, nil
			}, pool.Policy{Max: n, MaxQueue: n, Timeout: time.Second}, pool.NewLimit(n))
			defer p.Close(context.Background())
			var insts []engine.Instance
			for range n {
				i, err := p.Get(t.Context())
				if err != nil {
					t.Fatal(err)
				}
				insts = append(insts, i)
			}
			for _, i := range insts {
				p.Put(t.Context(), i, true)
			}
			closed := make(chan error, 1)
			go func() { closed <- tc.close(p, t.Context()) }()
			defer func() {
				select {
				case <-release:
				default:
					close(release)
				}
			}()
			waitFor(t, "every idle instance in its Close at once", func() bool { return inClose.Load() == n })
			close(release)
			if err := <-closed; err != nil {
				t.Fatal(err)
			}
			if s := p.Stats(); s.Live != 0 || s.Idle != 0 {
				t.Errorf("after %s: %+v", tc.name, s)
			}
		})
	}
}

// blockingInst's Close blocks until release is closed.
type blockingInst struct {
	engine.Instance
	inClose *atomic.Int32
	release chan struct{}
}

func (i *blockingInst) Close(context.Context) error {
	i.inClose.Add(1)
	<-i.release
	return nil
}
