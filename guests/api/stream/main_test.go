package main

import (
	"bufio"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/wfn-dev/wfn/guests/sdk/go/wfn/catchall"
	"github.com/wfn-dev/wfn/guests/sdk/go/wfn/wfntest"
)

// The first line reaches the client long before the last.
func TestStream(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		wfntest.Serve(w, r, nil, catchall.Serve)
	}))
	defer srv.Close()
	resp, err := srv.Client().Get(srv.URL + "/api/stream")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	var lines []string
	var first time.Time
	for sc.Scan() {
		if first.IsZero() {
			first = time.Now()
		}
		lines = append(lines, sc.Text())
	}
	if gap := time.Since(first); gap < 600*time.Millisecond {
		t.Errorf("last line came %v after the first, want about 800ms", gap)
	}
	want := []string{"chunk 1", "chunk 2", "chunk 3", "chunk 4", "chunk 5"}
	if len(lines) != len(want) {
		t.Fatalf("got %q, want %q", lines, want)
	}
	for i := range want {
		if lines[i] != want[i] {
			t.Errorf("line %d = %q, want %q", i, lines[i], want[i])
		}
	}
}
