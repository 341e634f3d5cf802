package host_test

import (
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wfn-dev/wfn/host"
)

// snapState is what testdata/wat/snapinit.wat answers: its state after
// initialisation and its call counts.
type snapState struct {
	G32, G64, GF32, GF64, Inits, Calls, MemCalls, Pages uint64
	Head                                                string
	Grown                                               uint32
}

func getSnapState(t *testing.T, url string) snapState {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || len(b) != 52 {
		t.Fatalf("GET %s = %d with %d bytes: %q", url, resp.StatusCode, len(b), b)
	}
	le := binary.LittleEndian
	return snapState{
		G32: uint64(le.Uint32(b[0:])), G64: le.Uint64(b[4:]),
		GF32: uint64(math.Float32frombits(le.Uint32(b[12:])) * 100), GF64: uint64(math.Float64frombits(le.Uint64(b[16:])) * 100),
		Inits: uint64(le.Uint32(b[24:])), Calls: uint64(le.Uint32(b[28:])), MemCalls: uint64(le.Uint32(b[32:])),
		Pages: uint64(le.Uint32(b[36:])), Head: string(b[40:46]), Grown: le.Uint32(b[48:]),
	}
}

// TestSnapshotModes serves a guest whose globals and memory change during
// initialisation, started from snapshots and not, with instances reused
// and fresh per invocation: every mode must answer the same.
func TestSnapshotModes(t *testing.T) {
	for _, snapshots := range []bool{true, false} {
		for _, iso := range []string{host.IsolationInstance, host.IsolationInvocation} {
			t.Run(fmt.Sprintf("snapshot=%t/isolation=%s", snapshots, iso), func(t *testing.T) {
				dir := watDir(t, "snapinit")
				_, srv, logs := serve(t, host.Config{Dir: dir, DisableSnapshots: !snapshots, Isolation: iso})
				for i := range 4 {
					st := getSnapState(t, srv.URL+"/api/snapinit")
					want := snapState{
						G32: 0x12345678, G64: 0x1122334455667788, GF32: 150, GF64: 225,
						Inits: 17, // _initialize once, then wfn_init once
						Pages: 3, Head: "after!", Grown: 0xCAFEBABE,
						Calls: uint64(i + 1), MemCalls: uint64(i + 1),
					}
					if iso == host.IsolationInvocation {
						want.Calls, want.MemCalls = 1, 1 // a fresh instance each time
					}
					if st != want {
						t.Errorf("request %d: state %+v,\nwant %+v", i, st, want)
					}
				}
				// The guest's own output of initialisation is logged once
				// per initialisation: once when snapshots start the later
				// instances.
				n := countLines(logs.String(), `msg=init`)
				snapshots := snapshots
				if os.Getenv("WFN_TEST_ENGINE") == "wasmtime" || os.Getenv("WFN_TEST_SNAPSHOT") == "off" {
					// The Wasmtime engine always initialises; so does
					// the suite's run without snapshots.
					snapshots = false
				}
				switch {
				case iso == host.IsolationInstance && n != 1:
					t.Errorf("initialisation logged %d times for one instance, want 1", n)
				case iso == host.IsolationInvocation && snapshots && n != 1:
					t.Errorf("initialisation logged %d times, want 1: later instances start from the snapshot", n)
				case iso == host.IsolationInvocation && !snapshots && n != 4:
					t.Errorf("initialisation logged %d times, want 4: one per fresh instance", n)
				}
			})
		}
	}
}

// TestSnapshotOptOut turns snapshots off for one function in wfn.json.
func TestSnapshotOptOut(t *testing.T) {
	dir := watDir(t, "snapinit")
	if err := os.WriteFile(filepath.Join(dir, "wfn.json"), []byte(`{"functions": {"api/snapinit.wasm": {"snapshot": false, "isolation": "invocation"}}}`), 0o644); err != nil {
		t.Fatal(err)
	}
	_, srv, logs := serve(t, host.Config{Dir: dir})
	for range 3 {
		if st := getSnapState(t, srv.URL+"/api/snapinit"); st.Inits != 17 || st.Calls != 1 {
			t.Fatalf("state %+v", st)
		}
	}
	if n := countLines(logs.String(), `msg=init`); n != 3 {
		t.Errorf("initialisation logged %d times, want 3 (snapshot false, isolation invocation)", n)
	}
}

// countLines counts the log lines containing s.
func countLines(logs, s string) int {
	n := 0
	for _, line := range strings.Split(logs, "\n") {
		if strings.Contains(line, s) {
			n++
		}
	}
	return n
}
