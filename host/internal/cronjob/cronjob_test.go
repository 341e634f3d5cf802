package cronjob_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/wfn-dev/wfn/host/internal/cronjob"
	"github.com/wfn-dev/wfn/host/internal/project"
	"github.com/wfn-dev/wfn/internal/testkit"
)

func TestRunOnSchedule(t *testing.T) {
	every, _ := project.ParseSchedule("* * * * *")
	hourly, _ := project.ParseSchedule("0 * * * *")
	jobs := []cronjob.Job{{Path: "/minute", Schedule: every}, {Path: "/hour", Schedule: hourly}}
	clock := cronjob.NewManual(time.Date(2026, 1, 1, 11, 58, 30, 0, time.UTC))
	var mu sync.Mutex
	var runs []string
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() {
		defer close(done)
		cronjob.Run(ctx, clock, jobs, func(_ context.Context, j cronjob.Job) {
			mu.Lock()
			defer mu.Unlock()
			runs = append(runs, clock.Now().Format("15:04:05")+" "+j.Path)
		})
	}()
	count := func() int { mu.Lock(); defer mu.Unlock(); return len(runs) }
	// Each step: wait until Run waits on the clock, move it to the next
	// minute, and wait for the runs due then.
	for i, want := range []int{1, 3, 4} {
		waitFor(t, "Run to wait on the clock", func() bool { return clock.Waiting() == 1 })
		step := time.Minute
		if i == 0 {
			step = 30 * time.Second
		}
		clock.Advance(step)
		waitFor(t, "the runs", func() bool { return count() == want })
	}
	cancel()
	<-done
	mu.Lock()
	defer mu.Unlock()
	want := []string{"11:59:00 /minute", "12:00:00 /minute", "12:00:00 /hour", "12:01:00 /minute"}
	if len(runs) != len(want) {
		t.Fatalf("runs = %v, want %v", runs, want)
	}
	// The two runs of 12:00 run concurrently, in either order.
	if runs[0] != want[0] || runs[3] != want[3] || !(runs[1] == want[1] && runs[2] == want[2] || runs[1] == want[2] && runs[2] == want[1]) {
		t.Errorf("runs = %v, want %v", runs, want)
	}
}

func TestRunNoJobs(t *testing.T) {
	cronjob.Run(t.Context(), cronjob.Real, nil, func(context.Context, cronjob.Job) { t.Error("ran") })
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	testkit.Eventually(t, 10*time.Second, what, cond)
}
