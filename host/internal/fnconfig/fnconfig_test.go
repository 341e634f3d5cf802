package fnconfig_test

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/wfn-dev/wfn/host/internal/fnconfig"
)

func TestMatch(t *testing.T) {
	tests := []struct {
		glob, name string
		want       bool
	}{
		{"api/slow", "api/slow", true},
		{"api/slow", "api/slower", false},
		{"api/*", "api/slow", true},
		{"api/*", "api/a/b", false},
		{"api/**", "api/a/b", true},
		{"api/**/*.go", "api/slow/main.go", true},
		{"api/**/*.go", "api/main.go", true},
		{"api/**/*.go", "api/slow", false},
		{"api/{slow,spin}", "api/spin", true},
		{"api/{slow,spin}", "api/hello", false},
		{"api/greet/[name]", "api/greet/[name]", true},
		{"api/*.wasm", "api/hello.wasm", true},
		{"api/*", "api/.hidden", false},
		{"**", "api/x", true},
	}
	for _, tt := range tests {
		if got := fnconfig.Match(tt.glob, tt.name); got != tt.want {
			t.Errorf("Match(%q, %q) = %v, want %v", tt.glob, tt.name, got, tt.want)
		}
	}
}

func write(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestLoad(t *testing.T) {
	dir := write(t, map[string]string{
		"vercel.json": `{"rewrites": [], "functions": {
			"api/slow": {"maxDuration": 2, "regions": ["iad1"]},
			"api/**": {"memory": 512, "supportsCancellation": true, "maxConcurrency": 3},
			"api/max": {"maxDuration": "max"},
			"api/proxy": {"env": {"A": "1"}, "allowedOutboundHosts": ["127.0.0.1:*"]}
		}}`,
		"wfn.json": `{"functions": {"api/slow/*.go": {"maxDuration": 7},
			"api/pooled.wasm": {"isolation": "invocation", "snapshot": false, "minInstances": 0, "idleTimeout": 30, "maxInvocations": 1000}}}`,
	})
	c, err := fnconfig.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		paths []string
		want  fnconfig.Settings
		glob  string
	}{
		{[]string{"api/slow", "api/slow/main.go"}, fnconfig.Settings{MaxDuration: 7 * time.Second}, "api/slow/*.go"},
		{[]string{"api/slow"}, fnconfig.Settings{MaxDuration: 2 * time.Second}, "api/slow"},
		{[]string{"api/hello"}, fnconfig.Settings{MemoryMB: 512, SupportsCancellation: true, MaxConcurrency: 3}, "api/**"},
		{[]string{"other/x"}, fnconfig.Settings{}, ""},
		{[]string{"api/pooled.wasm"}, fnconfig.Settings{Isolation: "invocation", Snapshot: new(false), MinInstances: new(0), IdleTimeout: 30 * time.Second, MaxInvocations: 1000}, "api/pooled.wasm"},
	}
	for _, tt := range tests {
		got, glob := c.For(tt.paths...)
		if !reflect.DeepEqual(got, tt.want) || glob != tt.glob {
			t.Errorf("For(%v) = %+v via %q, want %+v via %q", tt.paths, got, glob, tt.want, tt.glob)
		}
	}
	if len(c.Ignored) != 1 || !strings.Contains(c.Ignored[0], "regions") {
		t.Errorf("Ignored = %v, want the regions property", c.Ignored)
	}
}

func TestLoadErrors(t *testing.T) {
	tests := []struct {
		name, json, want string
	}{
		{"unknown property", `{"functions": {"api/x": {"maxDurations": 2}}}`, `"api/x": maxDurations: unknown property`},
		{"duration too long", `{"functions": {"api/x": {"maxDuration": 5000}}}`, `"api/x": maxDuration: want an integer from 1 to 1800`},
		{"duration zero", `{"functions": {"api/x": {"maxDuration": 0}}}`, `maxDuration`},
		{"duration fraction", `{"functions": {"api/x": {"maxDuration": 1.5}}}`, `maxDuration`},
		{"duration word", `{"functions": {"api/x": {"maxDuration": "long"}}}`, `maxDuration`},
		{"memory too small", `{"functions": {"api/x": {"memory": 64}}}`, `"api/x": memory: want an integer from 128 to 10240`},
		{"cancellation not bool", `{"functions": {"api/x": {"supportsCancellation": "yes"}}}`, `supportsCancellation: want true or false`},
		{"concurrency zero", `{"functions": {"api/x": {"maxConcurrency": 0}}}`, `maxConcurrency`},
		{"leading slash", `{"functions": {"/api/x": {}}}`, `key "/api/x"`},
		{"no keys", `{"functions": {}}`, `1 to 50 keys`},
		{"not json", `{"functions": `, `vercel.json`},
		{"not an object", `{"functions": {"api/x": 3}}`, `"api/x" must be an object`},
		{"env not strings", `{"functions": {"api/x": {"env": {"A": 1}}}}`, `env: want an object of strings`},
		{"env bad name", `{"functions": {"api/x": {"env": {"A=B": "1"}}}}`, `bad variable name`},
		{"isolation unknown", `{"functions": {"api/x": {"isolation": "process"}}}`, `isolation: want "instance" or "invocation"`},
		{"snapshot not bool", `{"functions": {"api/x": {"snapshot": 1}}}`, `snapshot: want true or false`},
		{"min instances negative", `{"functions": {"api/x": {"minInstances": -1}}}`, `minInstances`},
		{"idle timeout zero", `{"functions": {"api/x": {"idleTimeout": 0}}}`, `idleTimeout`},
		{"max invocations zero", `{"functions": {"api/x": {"maxInvocations": 0}}}`, `maxInvocations`},
		{"hosts not a list", `{"functions": {"api/x": {"allowedOutboundHosts": "x"}}}`, `allowedOutboundHosts`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := fnconfig.Load(write(t, map[string]string{"vercel.json": tt.json}))
			if !errors.Is(err, fnconfig.ErrInvalid) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Load = %v, want ErrInvalid containing %q", err, tt.want)
			}
		})
	}
}
