package host_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wfn-dev/wfn/host"
	"github.com/wfn-dev/wfn/host/internal/cronjob"
)

// cronProject is a directory with a function that logs the headers a
// cron run sends, and vercel.json's crons: every minute, and yearly.
func cronProject(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "api"), 0o755); err != nil {
		t.Fatal(err)
	}
	writeConfig(t, dir, "api/cron.mjs", `export function GET(request) {
  console.log("cron ua=" + request.headers.get("user-agent") + " auth=" + request.headers.get("authorization"));
  return new Response("done", { status: 202 });
}`)
	writeConfig(t, dir, "vercel.json", `{"crons": [{"path": "/api/cron?from=cron", "schedule": "* * * * *"}, {"path": "/api/missing", "schedule": "0 0 1 1 *"}]}`)
	writeConfig(t, dir, ".env", "CRON_SECRET=s3cret\n")
	return dir
}

func TestCronsRunOnSchedule(t *testing.T) {
	clock := cronjob.NewManual(time.Date(2026, 3, 1, 12, 0, 30, 0, time.UTC))
	_, _, logs := serve(t, host.WithCronClock(host.Config{Dir: cronProject(t), RunCrons: true}, clock))
	for run := 1; run <= 2; run++ {
		eventually(t, "the cron schedule to wait", func() bool { return clock.Waiting() > 0 })
		clock.Advance(time.Minute)
		eventually(t, "a cron run", func() bool {
			return strings.Count(logs.String(), "cron job ran") == run
		})
	}
	out := logs.String()
	for _, want := range []string{"path=\"/api/cron?from=cron\" status=202", "cron ua=vercel-cron/1.0 auth=Bearer s3cret", "cron jobs on"} {
		if !strings.Contains(out, want) {
			t.Errorf("log lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "/api/missing") {
		t.Errorf("the yearly job ran:\n%s", out)
	}
}

func TestCronsOff(t *testing.T) {
	clock := cronjob.NewManual(time.Date(2026, 3, 1, 12, 0, 30, 0, time.UTC))
	_, _, logs := serve(t, host.WithCronClock(host.Config{Dir: cronProject(t)}, clock))
	if clock.Waiting() != 0 || !strings.Contains(logs.String(), "cron jobs are off") {
		t.Errorf("RunCrons unset: %d waits on the clock, log:\n%s", clock.Waiting(), logs)
	}
}
