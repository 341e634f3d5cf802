package wfn_test

import (
	"context"
	"errors"
	"fmt"
	"github.com/wfn-dev/wfn/guests/sdk/go/wfn/internal/hostcall"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/wfn-dev/wfn/abi"
	"github.com/wfn-dev/wfn/guests/sdk/go/wfn"
	"github.com/wfn-dev/wfn/guests/sdk/go/wfn/wfntest"
)

func TestWaitUntil(t *testing.T) {
	if hostcall.Concurrent {
		t.Skip("ABI version 1 runs tasks one after another after the response, at most MaxTasks; version 2 (wfn_fluid) starts each at once, alongside it (wfntest.TestInstanceWaitUntil)")
	}
	tests := []struct {
		name    string
		handler func(log *[]string) wfn.HandlerFunc
		want    []string
	}{
		{
			name: "tasks run after the handler, in order",
			handler: func(log *[]string) wfn.HandlerFunc {
				return func(w *wfn.ResponseWriter, r *wfn.Request) {
					wfn.WaitUntil(func(context.Context) { *log = append(*log, "task 1") })
					wfn.After(func() { *log = append(*log, "task 2") })
					*log = append(*log, "handler")
				}
			},
			want: []string{"handler", "task 1", "task 2"},
		},
		{
			name: "a task registers more tasks",
			handler: func(log *[]string) wfn.HandlerFunc {
				return func(w *wfn.ResponseWriter, r *wfn.Request) {
					wfn.After(func() {
						*log = append(*log, "task 1")
						wfn.After(func() { *log = append(*log, "task 3") })
					})
					wfn.After(func() { *log = append(*log, "task 2") })
				}
			},
			want: []string{"task 1", "task 2", "task 3"},
		},
		{
			name: "the task context is the invocation's",
			handler: func(log *[]string) wfn.HandlerFunc {
				return func(w *wfn.ResponseWriter, r *wfn.Request) {
					ctx := r.Context()
					wfn.WaitUntil(func(tctx context.Context) {
						d, ok := tctx.Deadline()
						*log = append(*log, boolString(tctx == ctx), boolString(ok && time.Until(d) > 0), boolString(tctx.Err() == nil))
					})
				}
			},
			want: []string{"true", "true", "true"},
		},
		{
			name: "past the task limit",
			handler: func(log *[]string) wfn.HandlerFunc {
				return func(w *wfn.ResponseWriter, r *wfn.Request) {
					n := 0
					for range wfntest.MaxTasks - 1 {
						wfn.After(func() { n++ })
					}
					wfn.After(func() { *log = append(*log, "ran "+strconv.Itoa(n+1)) })
					*log = append(*log, fmt.Sprint(wfn.After(func() {})))
				}
			},
			want: []string{"wfn: ETOOLARGE", "ran 1024"},
		},
		{
			name: "a killed invocation runs no more tasks",
			handler: func(log *[]string) wfn.HandlerFunc {
				return func(w *wfn.ResponseWriter, r *wfn.Request) {
					wfn.After(func() {
						*log = append(*log, "task 1")
						time.Sleep(300 * time.Millisecond) // past the deadline below
					})
					wfn.After(func() { *log = append(*log, "task 2") })
				}
			},
			want: []string{"task 1"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var log []string
			wfntest.Do(tt.handler(&log), httptest.NewRequest("GET", "/", nil), nil, wfntest.MaxDuration(100*time.Millisecond))
			if !slices.Equal(log, tt.want) {
				t.Errorf("got %q, want %q", log, tt.want)
			}
		})
	}
}

func TestWaitUntilOutsideInvocation(t *testing.T) {
	if err := wfn.After(func() {}); !errors.Is(err, abi.EBADHANDLE) {
		t.Errorf("got %v, want EBADHANDLE", err)
	}
}

// Each invocation runs its own tasks only, even when a task of the one
// before was never run.
func TestTasksPerInvocation(t *testing.T) {
	var ran []string
	for _, name := range []string{"a", "b", "c"} {
		wfntest.Do(wfn.HandlerFunc(func(w *wfn.ResponseWriter, r *wfn.Request) {
			wfn.After(func() { ran = append(ran, name) })
		}), httptest.NewRequest("GET", "/", nil), nil)
	}
	if !slices.Equal(ran, []string{"a", "b", "c"}) {
		t.Errorf("ran %q", ran)
	}
}

// The client has the whole response while a task still runs.
func TestTaskAfterResponse(t *testing.T) {
	release := make(chan struct{})
	taskDone := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		wfntest.Serve(w, r, nil, func() {
			wfn.Serve(wfn.HandlerFunc(func(w *wfn.ResponseWriter, r *wfn.Request) {
				wfn.After(func() {
					<-release
					close(taskDone)
				})
				w.WriteString("scheduled")
			}))
		})
	}))
	defer srv.Close()
	resp, err := srv.Client().Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(body) != "scheduled" || err != nil {
		t.Errorf("body %q, %v", body, err)
	}
	close(release)
	<-taskDone
}

func TestContext(t *testing.T) {
	tests := []struct {
		name      string
		cancel    time.Duration // cancel the request's context after this; 0: never
		max       time.Duration
		wait      func(ctx context.Context)
		wantErr   error
		wantCause error
	}{
		{
			name:      "abort seen by Done",
			cancel:    20 * time.Millisecond,
			wait:      func(ctx context.Context) { <-ctx.Done() },
			wantErr:   context.Canceled,
			wantCause: abi.ECANCELED,
		},
		{
			name:   "abort seen by Err in a loop",
			cancel: 20 * time.Millisecond,
			wait: func(ctx context.Context) {
				for ctx.Err() == nil {
				}
			},
			wantErr:   context.Canceled,
			wantCause: abi.ECANCELED,
		},
		{
			name:   "abort seen by a derived context",
			cancel: 20 * time.Millisecond,
			wait: func(ctx context.Context) {
				ctx, cancel := context.WithTimeout(ctx, time.Minute)
				defer cancel()
				<-ctx.Done()
			},
			wantErr:   context.Canceled,
			wantCause: abi.ECANCELED,
		},
		{
			name:      "deadline",
			max:       50 * time.Millisecond,
			wait:      func(ctx context.Context) { <-ctx.Done() },
			wantErr:   context.DeadlineExceeded,
			wantCause: context.DeadlineExceeded,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			if tt.cancel > 0 {
				time.AfterFunc(tt.cancel, cancel)
			}
			max := wfntest.DefaultMaxDuration
			if tt.max > 0 {
				max = tt.max
			}
			var err, cause error
			wfntest.Do(wfn.HandlerFunc(func(w *wfn.ResponseWriter, r *wfn.Request) {
				ctx := r.Context()
				tt.wait(ctx)
				err, cause = ctx.Err(), context.Cause(ctx)
			}), httptest.NewRequestWithContext(ctx, "GET", "/", nil), nil, wfntest.MaxDuration(max))
			if err != tt.wantErr || !errors.Is(cause, tt.wantCause) {
				t.Errorf("Err %v, Cause %v; want %v, %v", err, cause, tt.wantErr, tt.wantCause)
			}
		})
	}
}

func TestDeadline(t *testing.T) {
	var remaining time.Duration
	var deadline time.Time
	var ok bool
	start := time.Now()
	wfntest.Do(wfn.HandlerFunc(func(w *wfn.ResponseWriter, r *wfn.Request) {
		remaining = r.DeadlineRemaining()
		deadline, ok = r.Context().Deadline()
	}), httptest.NewRequest("GET", "/", nil), nil, wfntest.MaxDuration(2*time.Second))
	if remaining <= time.Second || remaining > 2*time.Second {
		t.Errorf("DeadlineRemaining %v, want about 2s", remaining)
	}
	if d := deadline.Sub(start); !ok || d <= time.Second || d > 2*time.Second+100*time.Millisecond {
		t.Errorf("Deadline %v after the start (%v), want about 2s", d, ok)
	}
}

// The context is canceled when the invocation ends, and its watcher is
// stopped: a watcher left running would ask a host that is no longer
// installed, and panic.
func TestContextEnds(t *testing.T) {
	var ctx context.Context
	wfntest.Do(wfn.HandlerFunc(func(w *wfn.ResponseWriter, r *wfn.Request) {
		ctx = r.Context()
		select {
		case <-ctx.Done(): // starts the watcher
			t.Error("done during the handler")
		default:
		}
	}), httptest.NewRequest("GET", "/", nil), nil)
	select {
	case <-ctx.Done():
	default:
		t.Fatal("the context of an ended invocation is not done")
	}
	if ctx.Err() != context.Canceled {
		t.Errorf("Err %v, want context.Canceled", ctx.Err())
	}
	time.Sleep(5 * 10 * time.Millisecond) // a few watcher polls
}

// A new invocation has a new context.
func TestContextPerInvocation(t *testing.T) {
	var ctxs []context.Context
	h := wfn.HandlerFunc(func(w *wfn.ResponseWriter, r *wfn.Request) {
		ctxs = append(ctxs, r.Context())
		if ctxs[len(ctxs)-1].Err() != nil {
			t.Error("a new invocation's context is done")
		}
	})
	wfntest.Do(h, httptest.NewRequest("GET", "/", nil), nil)
	wfntest.Do(h, httptest.NewRequest("GET", "/", nil), nil)
	if ctxs[0] == ctxs[1] {
		t.Error("two invocations share a context")
	}
}

// After an abort, reads, writes and flushes fail with ECANCELED.
func TestAbortErrors(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	var errs []error
	wfntest.Do(wfn.HandlerFunc(func(w *wfn.ResponseWriter, r *wfn.Request) {
		_, err := r.Body().Read(make([]byte, 8))
		errs = append(errs, err)
		_, err = w.WriteString("x")
		errs = append(errs, err, w.Flush())
	}), httptest.NewRequestWithContext(ctx, "POST", "/", strings.NewReader("body")), nil)
	for i, err := range errs {
		if !errors.Is(err, abi.ECANCELED) {
			t.Errorf("call %d: %v, want ECANCELED", i, err)
		}
	}
}
