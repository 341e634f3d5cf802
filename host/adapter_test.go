package host_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/wfn-dev/wfn/host"
)

// The net/http adapter (wfnhttp) under faults, through the host: the Go
// guest testdata/adapter/api/adapter, built from source.
func TestGoAdapterFaults(t *testing.T) {
	requireGo(t)
	// The test counts on one instance serving on; wfn_on_suspend (every Go
	// guest exports it) takes an idle instance out of the pool while it
	// runs, and a request then gets another.
	_, srv, logs := serve(t, host.Config{Dir: "../testdata/adapter", SuspendAfter: time.Hour})
	url := srv.URL + "/api/adapter?case="
	count := func() int {
		t.Helper()
		r := get(t, url+"count")
		n, err := strconv.Atoi(r.body)
		if r.status != 200 || err != nil {
			t.Fatalf("count = %d %q", r.status, r.body)
		}
		return n
	}
	// linesWith returns the log lines with the request id.
	linesWith := func(id string) []string {
		var lines []string
		for _, line := range strings.Split(logs.String(), "\n") {
			if strings.Contains(line, id) {
				lines = append(lines, line)
			}
		}
		return lines
	}

	t.Run("panic", func(t *testing.T) {
		before := count()
		r := get(t, url+"panic")
		if r.status != 500 || r.body != "Internal Server Error\n" {
			t.Errorf("panic = %d %q, want 500 Internal Server Error", r.status, r.body)
		}
		id := r.header.Get("X-Vercel-Id")
		eventually(t, "the panic's log line", func() bool {
			return logHas(logs, id, "level=WARN", "panic serving GET /api/adapter?case=panic: boom in the adapter guest", `\\ngoroutine `)
		})
		if lines := linesWith(id); len(lines) != 1 {
			t.Errorf("%d log lines for the panic, want one:\n%s", len(lines), strings.Join(lines, "\n"))
		}
		if after := count(); after != before+2 {
			t.Errorf("count after the panic = %d, want %d: the instance did not serve on", after, before+2)
		}
	})

	t.Run("abort", func(t *testing.T) {
		before := count()
		r := get(t, url+"abort")
		id := r.header.Get("X-Vercel-Id")
		eventually(t, "the abort's log line", func() bool {
			return logHas(logs, id, "level=INFO", "handler aborted", "abort Handler")
		})
		if lines := linesWith(id); len(lines) != 1 {
			t.Errorf("%d log lines for the abort, want one:\n%s", len(lines), strings.Join(lines, "\n"))
		}
		if after := count(); after != before+2 {
			t.Errorf("count after the abort = %d, want %d", after, before+2)
		}
	})

	t.Run("panic after the head", func(t *testing.T) {
		resp, err := http.Get(url + "panicstream")
		if err != nil {
			t.Fatal(err)
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if string(body) != "started," || !errors.Is(err, io.ErrUnexpectedEOF) {
			t.Errorf("got %q, %v; want the start, then a cut", body, err)
		}
		id := resp.Header.Get("X-Vercel-Id")
		eventually(t, "the panic's log line", func() bool {
			return logHas(logs, id, "level=WARN", "panic serving", "boom after the head", `\\ngoroutine `)
		})
		if r := get(t, url+"count"); r.status != 200 {
			t.Errorf("count after the cut = %d", r.status)
		}
	})

	t.Run("chunked request body", func(t *testing.T) {
		pr, pw := io.Pipe()
		go func() {
			io.WriteString(pw, "hello, ")
			io.WriteString(pw, "chunks")
			pw.Close()
		}()
		req, _ := http.NewRequest("POST", url+"body", pr) // unknown length: sent chunked
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if want := `-1 [chunked] false "hello, chunks" <nil>`; string(b) != want {
			t.Errorf("chunked body = %q, want %q", b, want)
		}
		for _, tt := range []struct {
			name string
			body io.Reader
			want string
		}{
			{"sized", strings.NewReader("sized"), `5 [] false "sized" <nil>`},
			{"none", nil, `0 [] true "" <nil>`},
		} {
			if r := do(t, "POST", url+"body", tt.body); r.body != tt.want {
				t.Errorf("%s body = %q, want %q", tt.name, r.body, tt.want)
			}
		}
	})

	t.Run("streamed length mismatch", func(t *testing.T) {
		resp, err := http.Get(url + "length")
		if err != nil {
			t.Fatal(err)
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if string(body) != "12345" || !errors.Is(err, io.ErrUnexpectedEOF) {
			t.Errorf("got %q, %v; want 5 bytes, then a cut", body, err)
		}
		id := resp.Header.Get("X-Vercel-Id")
		eventually(t, "the mismatch's log line", func() bool {
			return logHas(logs, id, "level=ERROR", "Content-Length", "content_length=10", "written=5")
		})
	})

	t.Run("flush after a disconnect", func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		req, _ := http.NewRequestWithContext(ctx, "GET", url+"disconnect", nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		id := resp.Header.Get("X-Vercel-Id")
		if _, err := io.ReadFull(resp.Body, make([]byte, 4096)); err != nil {
			t.Fatal(err)
		}
		cancel()
		resp.Body.Close()
		eventually(t, "the guest's report", func() bool { return logHas(logs, id, "disconnect: first=") })
		if !logHas(logs, id, "write=wfn: EIO flush=wfn: EIO") {
			t.Errorf("after the client left, write and flush do not both report EIO:\n%s", strings.Join(linesWith(id), "\n"))
		}
	})
}
