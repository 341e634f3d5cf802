package host_test

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wfn-dev/wfn/host"
)

// uploadLen is the body the upload guest sends (testdata/wat/upload.wat):
// byte i is i mod 251, so that a byte from anywhere else shows.
const uploadLen = 48 << 20

// uploadSink is a backend that reads uploads and checks every byte it
// receives against the upload guest's pattern.
//
// POST /ID reads an upload: 1 MiB, then it answers its head (the guest
// waits for it: the upload is under way), reads the rest and answers
// "done". With ?pace it reads slowly (16 KiB every 3 ms, 48 MiB in
// about 9 s), so that the upload outlives an invocation that ends at its
// deadline of 6 s. (With 2 s and 3 s, a whole upload of the cases that
// must complete ran past the deadline in CI under -race at load 6 to 8.)
// With ?gate it waits after the head for GET /ID, which the guest sends
// once it has changed its memory.
type uploadSink struct {
	*httptest.Server
	mu      sync.Mutex
	results map[string]uploadResult
	ready   map[string]chan struct{}
}

type uploadResult struct {
	received int64 // bytes read
	bad      int64 // offset of the first byte that is not the guest's; -1: none
	complete bool  // all uploadLen bytes arrived; else the connection was cut
}

func newUploadSink(t *testing.T) *uploadSink {
	s := &uploadSink{results: map[string]uploadResult{}, ready: map[string]chan struct{}{}}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.Close)
	return s
}

func (s *uploadSink) readyChan(id string) chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.ready[id]
	if c == nil {
		c = make(chan struct{})
		s.ready[id] = c
	}
	return c
}

func (s *uploadSink) serve(w http.ResponseWriter, r *http.Request) {
	id := r.URL.Path
	if r.Method == http.MethodGet {
		close(s.readyChan(id))
		return
	}
	q := r.URL.Query()
	gate := q.Has("gate")
	var tick <-chan time.Time
	if q.Has("pace") {
		t := time.NewTicker(3 * time.Millisecond)
		defer t.Stop()
		tick = t.C
	}
	res := uploadResult{bad: -1}
	buf := make([]byte, 16<<10)
	head := false
	for {
		if !head && res.received >= 1<<20 {
			// The head tells the guest that its body is on its way.
			head = true
			rc := http.NewResponseController(w)
			_ = rc.EnableFullDuplex()
			w.WriteHeader(http.StatusOK)
			_ = rc.Flush()
			if gate {
				select {
				case <-s.readyChan(id):
				case <-r.Context().Done():
				}
			}
		}
		if tick != nil {
			<-tick
		}
		n, err := r.Body.Read(buf)
		if off := int(res.received % 251); res.bad < 0 && !bytes.Equal(buf[:n], uploadPattern[off:off+n]) {
			for i := range n {
				if buf[i] != uploadPattern[off+i] {
					res.bad = res.received + int64(i)
					break
				}
			}
		}
		res.received += int64(n)
		if err != nil {
			res.complete = errors.Is(err, io.EOF) && res.received == uploadLen
			break
		}
	}
	s.mu.Lock()
	s.results[id] = res
	s.mu.Unlock()
	_, _ = io.WriteString(w, "done")
}

// uploadPattern is the upload's first 16 KiB and 251 bytes: a read of up
// to 16 KiB at offset o is uploadPattern[o%251:].
var uploadPattern = func() []byte {
	b := make([]byte, 16<<10+251)
	for i := range b {
		b[i] = byte(i % 251)
	}
	return b
}()

func (s *uploadSink) result(id string) (uploadResult, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.results[id]
	return r, ok
}

// A guest's outbound request body is taken whole at http_send: whatever
// the guest does next (overwrites the buffer, traps, runs out its time,
// returns and has its instance closed), the backend receives the guest's
// own bytes or a cut connection, never other memory, and the host lives
// on. Issue 11, item 1: the host used to send from guest memory after the
// call, and crashed when that memory was gone.
func TestOutboundBodyIsTakenAtTheCall(t *testing.T) {
	sink := newUploadSink(t)
	dir := watDir(t, "hello")
	upload, err := os.ReadFile(filepath.Join("..", "testdata", "wat", "upload.wasm"))
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"instance", "invocation"} {
		if err := os.WriteFile(filepath.Join(dir, "api", name+".wasm"), upload, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	writeConfig(t, dir, "vercel.json", `{"functions": {
		"api/instance.wasm": {"isolation": "instance", "maxDuration": 6, "allowedOutboundHosts": ["127.0.0.1:*"]},
		"api/invocation.wasm": {"isolation": "invocation", "maxDuration": 6, "allowedOutboundHosts": ["127.0.0.1:*"]}
	}}`)
	_, srv, _ := serve(t, host.Config{Dir: dir})

	cases := []struct {
		mode, query string
		status      int
		body        string // "" for a platform error
		complete    bool   // the upload must arrive whole
	}{
		{"r", "?gate", 200, "ok", true},
		{"q", "", 200, "sent", false},
		{"t", "", 500, "", false},
		{"w", "?pace", 504, "", false},
	}
	n := 0
	for _, iso := range []string{"instance", "invocation"} {
		for _, tc := range cases {
			n++
			id := "/" + iso + "-" + tc.mode + "-" + strconv.Itoa(n)
			t.Run(iso+"/"+tc.mode+tc.query, func(t *testing.T) {
				r := do(t, "POST", srv.URL+"/api/"+iso, strings.NewReader(tc.mode+sink.URL+id+tc.query))
				if r.status != tc.status || (tc.body != "" && r.body != tc.body) {
					t.Errorf("mode %s = %d %q, want %d %q", tc.mode, r.status, r.body, tc.status, tc.body)
				}
				if h := get(t, srv.URL+"/api/hello"); h.status != 200 || h.body != "Hello from wfn!" {
					t.Fatalf("hello after mode %s = %d %q", tc.mode, h.status, h.body)
				}
				var res uploadResult
				eventually(t, "the backend to finish reading "+id, func() bool {
					var ok bool
					res, ok = sink.result(id)
					return ok
				})
				if res.bad >= 0 {
					t.Errorf("byte %d of %d received is not the guest's", res.bad, res.received)
				}
				if tc.complete && !res.complete {
					t.Errorf("the upload was cut after %d bytes, want all %d", res.received, uploadLen)
				}
				t.Logf("received %d bytes, complete %v", res.received, res.complete)
			})
		}
	}
	t.Run("bodies in flight over the limit", func(t *testing.T) {
		// Two 48 MiB bodies open at once pass the 64 MiB an invocation's
		// bodies in flight may hold: the second send is refused.
		r := do(t, "POST", srv.URL+"/api/instance", strings.NewReader("l"+sink.URL+"/limit"))
		if r.status != 200 || r.body != "E3" {
			t.Errorf("second body = %d %q, want 200 \"E3\" (ETOOLARGE)", r.status, r.body)
		}
	})
}
