package main

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/wfn-dev/wfn/internal/bench"
)

// The warm section under -warm-v2: the Go hello (guests/api/hello) built
// for ABI v1 and for ABI v2 (build tag wfn_fluid), each served alone by
// `wfn serve --engine E` for every engine of -warm-engines, in the same
// interleaved rounds as the native server, and the ratio of v2's requests
// per second to v1's per engine (issue 19: "warm /api/hello throughput
// not below v1's in the same run").

// warmEngineList is -warm-engines as a list.
func (o options) warmEngineList() []string {
	var out []string
	for _, s := range strings.Split(o.warmEngines, ",") {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}

// wfnBuildTags are the build tags of the wfn binary this run builds: the
// Wasmtime engine when the warm section serves on it.
func (o options) wfnBuildTags() []string {
	if o.warmV2 && slices.Contains(o.warmEngineList(), "wasmtime") {
		return []string{"wasmtime"}
	}
	return nil
}

// warmV2Targets starts, with the wfn binary bin, one server per engine
// and ABI version of the Go hello, and returns them as targets; each v2
// target's v1 is its pair. The caller stops the servers.
func (e *env) warmV2Targets(ctx context.Context, label, bin string) ([]*target, error) {
	if e.goHelloV2 == nil {
		var err error
		if e.goHelloV2, err = buildGo(ctx, filepath.Join(e.tmp, "v2"), filepath.Join(e.root, "guests", "api"), "./hello", "wfn_fluid"); err != nil {
			return nil, err
		}
	}
	var out []*target
	for _, eng := range e.o.warmEngineList() {
		var v1 *target
		for _, g := range []struct {
			name string
			wasm []byte
		}{{"Go v1", e.goHello}, {"Go v2", e.goHelloV2}} {
			e.v2n++
			dir := filepath.Join(e.tmp, "warm-v2-"+strconv.Itoa(e.v2n))
			if err := bench.WriteSite(dir, map[string][]byte{"hello": g.wasm}, ""); err != nil {
				return out, err
			}
			srv, err := e.serveWith(ctx, bin, dir, filepath.Join(dir, ".cache"), "--engine", eng)
			if err != nil {
				return out, fmt.Errorf("%s --engine %s, %s: %w", label, eng, g.name, err)
			}
			t := &target{name: fmt.Sprintf("%s %s, %s", label, eng, g.name), srv: srv}
			if v1 == nil {
				v1 = t
			} else {
				t.pair = v1
			}
			out = append(out, t)
		}
	}
	return out, nil
}

// addV2Ratios adds a row per v2 target: the median over rounds of its
// requests per second over its v1 pair's in the same round, and the
// instances each made (wfn_cold_starts_total; -1: not read).
func (e *env) addV2Ratios(targets []*target) {
	for _, t := range targets {
		if t.pair == nil {
			continue
		}
		var rs []float64
		for r := range min(len(t.rps), len(t.pair.rps)) {
			rs = append(rs, t.rps[r]/t.pair.rps[r])
		}
		e.table.Add(strings.TrimSuffix(t.name, ", Go v2")+": v2/v1", fmt.Sprintf("%.2fx", bench.Median(rs)), "", "", "", "",
			"per round: "+joinFloats(rs, "%.2f")+fmt.Sprintf("; instances made: v1 %d, v2 %d", coldStarts(t.pair.srv.Addr), coldStarts(t.srv.Addr)))
	}
}
