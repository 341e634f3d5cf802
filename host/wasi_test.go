package host_test

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/wfn-dev/wfn/host"
)

func TestWASIIsReal(t *testing.T) {
	requireGo(t)
	t.Setenv("WFN_HOST_SECRET", "must-not-leak")
	_, srv, logs := serve(t, host.Config{Dir: "../testdata/guests", Env: map[string]string{"WFN_TEST": "42", "REGION": "dev1"}, DeploymentID: "dpl_test"})
	fields := func(body string) map[string]string {
		m := map[string]string{}
		for _, line := range strings.Split(strings.TrimSpace(body), "\n") {
			k, v, _ := strings.Cut(line, "=")
			m[k] = v
		}
		return m
	}
	r1 := get(t, srv.URL+"/api/wasi")
	if r1.status != 200 {
		t.Fatalf("status %d: %s", r1.status, r1.body)
	}
	f := fields(r1.body)
	if want := "REGION=dev1,VERCEL=1,VERCEL_DEPLOYMENT_ID=dpl_test,VERCEL_ENV=development,VERCEL_REGION=dev1,WFN_TEST=42"; f["env"] != want {
		t.Errorf("guest environment = %q, want exactly the system and configured variables %q", f["env"], want)
	}
	if y, _ := strconv.Atoi(f["year"]); y != time.Now().Year() {
		t.Errorf("wall clock year = %q", f["year"])
	}
	if ms, _ := strconv.Atoi(f["slept_ms"]); ms < 5 {
		t.Errorf("monotonic clock: slept %q ms, want >= 5", f["slept_ms"])
	}
	r2 := get(t, srv.URL+"/api/wasi")
	if g := fields(r2.body)["random"]; len(g) != 32 || g == f["random"] || f["random"] == strings.Repeat("0", 32) {
		t.Errorf("random_get gave %q then %q", f["random"], g)
	}
	id := r1.header.Get("X-Vercel-Id")
	eventually(t, "the guest's output as log lines with the request id", func() bool {
		var out, errOut bool
		for _, line := range strings.Split(logs.String(), "\n") {
			if !strings.Contains(line, "id="+id) || !strings.Contains(line, "fn=api/wasi") {
				continue
			}
			out = out || strings.Contains(line, "level=INFO") && strings.Contains(line, `msg="hello from stdout"`) && strings.Contains(line, "stream=stdout")
			errOut = errOut || strings.Contains(line, "level=WARN") && strings.Contains(line, `msg="hello from stderr"`) && strings.Contains(line, "stream=stderr")
		}
		return out && errOut
	})
}
