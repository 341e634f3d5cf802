package cdn_test

import (
	"bufio"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/wfn-dev/wfn/host/internal/cdn"
)

// TestStreamingMiss: a storable response the origin flushes reaches the
// client that caused the miss while the origin still writes it, and is
// stored; past MaxBody it keeps streaming and is not stored.
func TestStreamingMiss(t *testing.T) {
	tests := []struct {
		name   string
		stored bool
	}{
		{"stored", true},
		{"over MaxBody", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			next := make(chan struct{}) // the client read event n; the origin may write n+1
			var once sync.Once
			t.Cleanup(func() { once.Do(func() { close(next) }) })
			const events = 4
			e := newEnvOpts(t, cdn.Options{MaxBody: 64}, func(w http.ResponseWriter, r *http.Request, n int64) []string {
				w.Header().Set("Content-Type", "text/event-stream")
				w.Header().Set("Cache-Control", "s-maxage=60")
				size := 5
				if !tt.stored {
					size = 15
				}
				for i := range events {
					fmt.Fprintf(w, "data: %s\n", strings.Repeat(string(rune('a'+i)), size))
					w.(http.Flusher).Flush()
					if n == 1 && i < events-1 {
						<-next
					}
				}
				return nil
			})
			req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, e.srv.URL+"/sse", nil)
			resp, err := e.client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			if got := resp.Header.Get("X-Vercel-Cache"); got != cdn.Miss {
				t.Fatalf("%s, want MISS", got)
			}
			br := bufio.NewReader(resp.Body)
			var all strings.Builder
			for i := range events {
				line, err := br.ReadString('\n')
				if err != nil {
					t.Fatalf("event %d: %v", i, err)
				}
				all.WriteString(line)
				if i < events-1 {
					next <- struct{}{} // the origin waits for this: the event came before the end
				}
			}
			if rest, _ := io.ReadAll(br); len(rest) != 0 {
				t.Fatalf("more than the events: %q", rest)
			}
			if tt.stored {
				// A request before the entry is stored follows the flight.
				until(t, "the entry", func() bool {
					r := e.get("/sse")
					if r.body != all.String() {
						t.Fatalf("body %q", r.body)
					}
					return r.cache() == cdn.Hit
				})
				e.wantCalls(1)
			} else {
				resp.Body.Close()
				until(t, "the response to end", func() bool { return cdn.Waiters(e.cache, e.srv.URL+"/sse?") == 0 })
				expect(t, e.get("/sse"), cdn.Miss, all.String())
				e.wantCalls(2)
			}
		})
	}
}

// TestStreamingMissFollowers: requests collapsed on a streaming miss wait
// for the stored entry.
func TestStreamingMissFollowers(t *testing.T) {
	gate := make(chan struct{})
	var once sync.Once
	open := func() { once.Do(func() { close(gate) }) }
	e := newEnv(t, func(w http.ResponseWriter, r *http.Request, n int64) []string {
		w.Header().Set("Cache-Control", "s-maxage=60")
		io.WriteString(w, "first ")
		w.(http.Flusher).Flush()
		<-gate
		io.WriteString(w, "last")
		return nil
	})
	t.Cleanup(open)
	var wg sync.WaitGroup
	var leader, follower response
	wg.Go(func() { leader = e.get("/s") })
	until(t, "the leader", func() bool { return e.calls() == 1 })
	wg.Go(func() { follower = e.get("/s") })
	until(t, "the follower", func() bool { return cdn.Waiters(e.cache, e.srv.URL+"/s?") == 1 })
	open()
	wg.Wait()
	expect(t, leader, cdn.Miss, "first last")
	expect(t, follower, cdn.Miss, "first last")
	expect(t, e.get("/s"), cdn.Hit, "first last")
	e.wantCalls(1)
}
