// Package cronjob runs a project's cron jobs on schedule, as Vercel runs
// the "crons" of vercel.json (vercel.com/docs/cron-jobs). Schedules are
// in UTC.
package cronjob

import (
	"context"
	"sync"
	"time"

	"github.com/wfn-dev/wfn/host/internal/project"
)

// Job is one cron job.
type Job struct {
	Path     string
	Schedule project.Schedule
}

// Clock tells the time and waits. Real is the wall clock; tests pass a
// Manual one.
type Clock interface {
	Now() time.Time
	After(d time.Duration) <-chan time.Time
}

// Real is the wall clock.
var Real Clock = realClock{}

type realClock struct{}

func (realClock) Now() time.Time                         { return time.Now() }
func (realClock) After(d time.Duration) <-chan time.Time { return time.After(d) }

// Run calls run(ctx, job) for every job each time its schedule comes, in
// its own goroutine, until ctx is done; then it waits for the runs in
// progress and returns. A run that is still going when the job's next
// time comes does not delay it.
func Run(ctx context.Context, clock Clock, jobs []Job, run func(context.Context, Job)) {
	var wg sync.WaitGroup
	defer wg.Wait()
	if len(jobs) == 0 {
		return
	}
	now := clock.Now().UTC()
	for {
		var next time.Time
		for _, j := range jobs {
			if t := j.Schedule.Next(now); next.IsZero() || t.Before(next) {
				next = t
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-clock.After(next.Sub(clock.Now().UTC())):
		}
		for _, j := range jobs {
			if j.Schedule.Next(now).Equal(next) {
				wg.Add(1)
				go func() {
					defer wg.Done()
					run(ctx, j)
				}()
			}
		}
		now = next
	}
}

// Manual is a clock that moves only when told: for tests.
type Manual struct {
	mu      sync.Mutex
	now     time.Time
	waiters []waiter
}

type waiter struct {
	at time.Time
	ch chan time.Time
}

// NewManual returns a Manual clock showing now.
func NewManual(now time.Time) *Manual { return &Manual{now: now} }

// Now returns the clock's time.
func (m *Manual) Now() time.Time {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.now
}

// After returns a channel that receives once the clock has been moved d
// forward.
func (m *Manual) After(d time.Duration) <-chan time.Time {
	m.mu.Lock()
	defer m.mu.Unlock()
	ch := make(chan time.Time, 1)
	if d <= 0 {
		ch <- m.now
		return ch
	}
	m.waiters = append(m.waiters, waiter{m.now.Add(d), ch})
	return ch
}

// Waiting reports how many After channels have not fired yet.
func (m *Manual) Waiting() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.waiters)
}

// Advance moves the clock d forward and fires the channels due.
func (m *Manual) Advance(d time.Duration) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.now = m.now.Add(d)
	kept := m.waiters[:0]
	for _, w := range m.waiters {
		if w.at.After(m.now) {
			kept = append(kept, w)
			continue
		}
		w.ch <- m.now
	}
	m.waiters = kept
}
