package cli_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/wfn-dev/wfn/internal/redisserver"
	"github.com/wfn-dev/wfn/internal/testkit"
)

// TestServeRedisDownLogs serves with --cache on a Redis that is down and
// --log-format json: what go-redis itself reports (its failed dials)
// goes into the log as JSON lines at debug level, not as lines of its own
// format on the process's stderr.
func TestServeRedisDownLogs(t *testing.T) {
	redis := redisserver.StartForTest(t)
	redis.Kill()
	s := startServe(t, "--listen", "127.0.0.1:0", "--cache-dir", t.TempDir(), "--log-format", "json", "--log-level", "debug",
		"--cache", redis.URL(), watDir(t, "cdn"))
	testkit.Eventually(t, deadline, "a go-redis line in the log", func() bool {
		get(t, "http://"+s.addr+"/api/cdn")
		return strings.Contains(s.stderr.String(), "failed to dial")
	})
	for _, line := range strings.Split(strings.TrimSpace(s.stderr.String()), "\n") {
		var e struct{ Level, Msg string }
		if err := json.Unmarshal([]byte(line), &e); err != nil {
			t.Errorf("a log line is not JSON (%v): %q", err, line)
			continue
		}
		if strings.Contains(e.Msg, "failed to dial") && e.Level != "DEBUG" {
			t.Errorf("go-redis's line at %s, want DEBUG: %q", e.Level, line)
		}
	}
}
