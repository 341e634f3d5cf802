package project_test

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/wfn-dev/wfn/host/internal/project"
	"github.com/wfn-dev/wfn/internal/testkit"
)

func write(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	testkit.WriteFiles(t, dir, files)
	return dir
}

func TestLoad(t *testing.T) {
	dir := write(t, map[string]string{
		"vercel.json": `{"$schema": "x", "rewrites": [{"source": "/a", "destination": "/b"}], "cleanUrls": true,
		"regions": ["iad1"], "env": {"TOP": "1"}, "crons": [{"path": "/api/cron", "schedule": "*/5 * * * *"}],
		"framework": null, "buildCommand": "make",
		"functions": {
			"api/slow": {"maxDuration": 2, "regions": ["iad1"], "affinity": {"mode": "strict"}},
			"api/**": {"memory": 512, "supportsCancellation": true, "maxConcurrency": 3},
			"api/max": {"maxDuration": "max"},
			"api/proxy": {"env": {"A": "1"}, "allowedOutboundHosts": ["127.0.0.1:*"]}
		}}`,
		"wfn.json": `{"cleanUrls": false, "functions": {"api/slow/*.go": {"maxDuration": 7},
			"api/pooled.wasm": {"isolation": "invocation", "snapshot": false, "minInstances": 0, "idleTimeout": 30, "maxInvocations": 1000, "instanceConcurrency": 250}}}`,
	})
	p, err := project.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		paths []string
		want  project.Settings
		key   string
	}{
		{[]string{"api/slow", "api/slow/main.go"}, project.Settings{MaxDuration: new(7 * time.Second)}, "api/slow/*.go"},
		{[]string{"api/slow"}, project.Settings{MaxDuration: new(2 * time.Second)}, "api/slow"},
		{[]string{"api/hello"}, project.Settings{MemoryMB: new(512), SupportsCancellation: new(true), MaxConcurrency: new(3)}, "api/**"},
		{[]string{"other/x"}, project.Settings{}, ""},
		{[]string{"api/pooled.wasm"}, project.Settings{Isolation: new("invocation"), Snapshot: new(false), MinInstances: new(0), IdleTimeout: new(30 * time.Second), MaxInvocations: new(1000), InstanceConcurrency: new(250)}, "api/pooled.wasm"},
	}
	for _, tt := range tests {
		got, key := p.For(tt.paths...)
		if !reflect.DeepEqual(got, tt.want) || key != tt.key {
			t.Errorf("For(%v) = %+v via %q, want %+v via %q", tt.paths, got, key, tt.want, tt.key)
		}
	}
	wantIgnored := []string{"vercel.json: buildCommand", "vercel.json: framework", "vercel.json: regions",
		"vercel.json: functions.api/slow.affinity", "vercel.json: functions.api/slow.regions"}
	for _, w := range wantIgnored {
		if !strings.Contains(strings.Join(p.Ignored, "|"), w) {
			t.Errorf("Ignored = %v, want it to name %q", p.Ignored, w)
		}
	}
	if len(p.Ignored) != len(wantIgnored) {
		t.Errorf("Ignored = %v, want %d entries", p.Ignored, len(wantIgnored))
	}
	if string(p.Routing.CleanURLs) != "false" || !strings.Contains(string(p.Routing.Rewrites), `"/b"`) || p.Routing.Redirects != nil {
		t.Errorf("Routing = %+v: want wfn.json's cleanUrls, vercel.json's rewrites, no redirects", p.Routing)
	}
	if p.Env["TOP"] != "1" || !reflect.DeepEqual(p.Regions, []string{"iad1"}) || len(p.Crons) != 1 || p.Crons[0].Path != "/api/cron" || p.Crons[0].When == nil {
		t.Errorf("env %v, regions %v, crons %v", p.Env, p.Regions, p.Crons)
	}
}

func TestMerge(t *testing.T) {
	host := project.Settings{MaxDuration: new(time.Minute), IdleTimeout: new(time.Duration(0)), Env: map[string]string{"A": "host", "B": "host"}}
	rule := project.Settings{MaxDuration: new(2 * time.Second), Env: map[string]string{"B": "rule"}}
	got := project.Merge(project.Defaults(), host, rule)
	if *got.MaxDuration != 2*time.Second || *got.IdleTimeout != 0 || *got.MemoryMB != 2048 || got.Env["A"] != "host" || got.Env["B"] != "rule" {
		t.Errorf("Merge = maxDuration %v, idleTimeout %v, memory %v, env %v", *got.MaxDuration, *got.IdleTimeout, *got.MemoryMB, got.Env)
	}
	v := reflect.ValueOf(project.Merge(project.Defaults()))
	for i := range v.NumField() {
		if f := v.Field(i); f.Kind() == reflect.Pointer && f.IsNil() {
			t.Errorf("Defaults leaves %s unset", v.Type().Field(i).Name)
		}
	}
}

func TestLoadErrors(t *testing.T) {
	tests := []struct {
		name, json, want string
	}{
		{"typo at the top", `{"rewrite": []}`, `unknown property "rewrite"`},
		{"unknown property", `{"functions": {"api/x": {"maxDurations": 2}}}`, `"api/x": unknown property "maxDurations"`},
		{"duration too long", `{"functions": {"api/x": {"maxDuration": 5000}}}`, `"api/x": maxDuration: want an integer from 1 to 1800`},
		{"duration zero", `{"functions": {"api/x": {"maxDuration": 0}}}`, `maxDuration: want an integer from 1 to 1800 (seconds) or "max", got 0`},
		{"duration fraction", `{"functions": {"api/x": {"maxDuration": 1.5}}}`, `maxDuration`},
		{"duration word", `{"functions": {"api/x": {"maxDuration": "long"}}}`, `maxDuration`},
		{"memory too small", `{"functions": {"api/x": {"memory": 64}}}`, `"api/x": memory: want an integer from 128 to 10240`},
		{"cancellation not bool", `{"functions": {"api/x": {"supportsCancellation": "yes"}}}`, `supportsCancellation: want true or false`},
		{"concurrency zero", `{"functions": {"api/x": {"maxConcurrency": 0}}}`, `maxConcurrency`},
		{"leading slash", `{"functions": {"/api/x": {}}}`, `key "/api/x"`},
		{"no keys", `{"functions": {}}`, `1 to 50 keys`},
		{"not json", `{"functions": `, `vercel.json:1:14: unexpected end of JSON input`},
		{"trailing comma", "{\n  \"redirects\": [\n    {\"source\": \"/a\", \"destination\": \"/b\"},\n  ]\n}\n", `vercel.json:4:3: invalid character ']'`},
		{"past a multibyte character", "{\"env\": {\"A\": \"é\" \"B\": \"1\"}}", `vercel.json:1:19: invalid character '"' after object key:value pair`},
		{"not an object", `{"functions": {"api/x": 3}}`, `"api/x" must be an object`},
		{"env not strings", `{"functions": {"api/x": {"env": {"A": 1}}}}`, `env: want an object of strings`},
		{"env bad name", `{"functions": {"api/x": {"env": {"A=B": "1"}}}}`, `bad variable name`},
		{"top env bad name", `{"env": {"A=B": "1"}}`, `env: bad variable name`},
		{"top env not strings", `{"env": {"A": 1}}`, `env:`},
		{"top env secret missing", `{"env": {"KEY": "@key"}}`, `env: KEY refers to the secret @key, which .env does not set`},
		{"isolation unknown", `{"functions": {"api/x": {"isolation": "process"}}}`, `isolation: want "instance" or "invocation"`},
		{"snapshot not bool", `{"functions": {"api/x": {"snapshot": 1}}}`, `snapshot: want true or false`},
		{"min instances negative", `{"functions": {"api/x": {"minInstances": -1}}}`, `minInstances`},
		{"idle timeout zero", `{"functions": {"api/x": {"idleTimeout": 0}}}`, `idleTimeout`},
		{"max invocations zero", `{"functions": {"api/x": {"maxInvocations": 0}}}`, `maxInvocations`},
		{"instance concurrency zero", `{"functions": {"api/x": {"instanceConcurrency": 0}}}`, `instanceConcurrency`},
		{"hosts not a list", `{"functions": {"api/x": {"allowedOutboundHosts": "x"}}}`, `allowedOutboundHosts`},
		{"rewrites not an array", `{"rewrites": {}}`, `rewrites: want an array`},
		{"cleanUrls not a bool", `{"cleanUrls": "yes"}`, `cleanUrls: want true or false`},
		{"cron path", `{"crons": [{"path": "api/x", "schedule": "* * * * *"}]}`, `crons[0]: path "api/x"`},
		{"cron schedule fields", `{"crons": [{"path": "/x", "schedule": "* * * *"}]}`, `crons[0]: schedule "* * * *"`},
		{"cron schedule names", `{"crons": [{"path": "/x", "schedule": "0 0 * * MON"}]}`, `no names`},
		{"cron schedule descriptor", `{"crons": [{"path": "/x", "schedule": "@daily"}]}`, `crons[0]: schedule`},
		{"cron schedule range", `{"crons": [{"path": "/x", "schedule": "61 * * * *"}]}`, `crons[0]: schedule`},
		{"cron unknown field", `{"crons": [{"path": "/x", "schedule": "* * * * *", "method": "POST"}]}`, `crons`},
		{"nested negation", `{"functions": {"api/+(!(a))": {}}}`, `!(...) inside another extglob is not supported`},
		{"unclosed extglob", `{"functions": {"api/+(a": {}}}`, `unclosed +(`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := project.Load(write(t, map[string]string{"vercel.json": tt.json}))
			if !errors.Is(err, project.ErrInvalid) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Load = %v, want ErrInvalid containing %q", err, tt.want)
			}
		})
	}
}

func TestLoadSecretFromDotenv(t *testing.T) {
	p, err := project.Load(write(t, map[string]string{"vercel.json": `{"env": {"KEY": "@key", "A": "1"}}`, ".env": "KEY=from-dotenv\n"}))
	if err != nil || p.Env["A"] != "1" || p.Dotenv["KEY"] != "from-dotenv" {
		t.Errorf("Load = %+v, %v", p, err)
	}
}

func TestLoadNoFiles(t *testing.T) {
	p, err := project.Load(t.TempDir())
	if err != nil || len(p.Functions) != 0 || len(p.Ignored) != 0 {
		t.Errorf("Load of an empty directory = %+v, %v", p, err)
	}
}

// Every property of Vercel's schemas (@vercel/config 0.7.2's types, the
// vercel CLI 64.0.2's validator) is accepted, each either read or named
// in Ignored.
func TestEveryVercelPropertyAccepted(t *testing.T) {
	top := []string{"$schema", "alias", "build", "builds", "bunVersion", "buildCommand", "bulkRedirectsPath", "cleanUrls",
		"crons", "daemons", "devCommand", "env", "experimentalServiceGroups", "experimentalServices", "experimentalServicesV2",
		"fluid", "framework", "functionFailoverRegions", "functions", "git", "github", "headers", "ignoreCommand", "images",
		"installCommand", "name", "outputDirectory", "passiveRegions", "proxy", "redirects", "regions", "relatedProjects",
		"rewrites", "routes", "schedules", "scope", "services", "trailingSlash", "version", "wildcard"}
	fn := []string{"architecture", "runtime", "memory", "maxDuration", "affinity", "maxConcurrency", "regions",
		"functionFailoverRegions", "includeFiles", "excludeFiles", "experimentalTriggers", "supportsCancellation"}
	values := map[string]string{
		"cleanUrls": "true", "trailingSlash": "false", "builds": "[]", "routes": "[]", "headers": "[]", "redirects": "[]",
		"rewrites": "[]", "crons": "[]", "regions": `["iad1"]`, "env": "{}", "memory": "1024", "maxDuration": "10",
		"maxConcurrency": "2", "supportsCancellation": "true", "fluid": "false",
	}
	value := func(k string) string {
		if v, ok := values[k]; ok {
			return v
		}
		return `"x"`
	}
	var props []string
	for _, k := range fn {
		props = append(props, `"`+k+`": `+value(k))
	}
	var keys []string
	for _, k := range top {
		if k == "functions" {
			keys = append(keys, `"functions": {"api/**": {`+strings.Join(props, ", ")+`}}`)
			continue
		}
		keys = append(keys, `"`+k+`": `+value(k))
	}
	p, err := project.Load(write(t, map[string]string{"vercel.json": "{" + strings.Join(keys, ", ") + "}"}))
	if err != nil {
		t.Fatalf("Load of every property = %v", err)
	}
	ignored := strings.Join(p.Ignored, ", ")
	for _, k := range []string{"alias", "daemons", "proxy", "regions", "functions.api/**.affinity", "functions.api/**.architecture"} {
		if !strings.Contains(ignored, "vercel.json: "+k) {
			t.Errorf("Ignored %q does not name %s", ignored, k)
		}
	}
}

// The routing keys reach vroute as one object, from whichever file set
// them first; the legacy "routes" is named as having no effect.
func TestRoutingJSON(t *testing.T) {
	p, err := project.Load(write(t, map[string]string{
		"wfn.json":    `{"cleanUrls": true, "redirects": [{"source": "/a", "destination": "/b"}]}`,
		"vercel.json": `{"cleanUrls": false, "trailingSlash": false, "routes": []}`,
	}))
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	if err := json.Unmarshal(p.Routing.JSON(), &got); err != nil {
		t.Fatal(err)
	}
	if got["cleanUrls"] != true || got["trailingSlash"] != false || len(got) != 3 {
		t.Errorf("Routing.JSON = %v, want cleanUrls true (wfn.json first), trailingSlash false, redirects", got)
	}
	if !strings.Contains(strings.Join(p.Ignored, ","), "vercel.json: routes") {
		t.Errorf("Ignored %v does not name routes", p.Ignored)
	}
	empty, _ := project.Load(t.TempDir())
	if string(empty.Routing.JSON()) != "{}" {
		t.Errorf("Routing.JSON with no keys = %s", empty.Routing.JSON())
	}
}

// "fluid" is Vercel's top-level Fluid compute toggle, every function's
// default; a functions rule's "fluid" (a wfn extension) overrides it for
// its own functions, over the default false.
func TestFluidToggle(t *testing.T) {
	p, err := project.Load(write(t, map[string]string{"vercel.json": `{"fluid": true, "functions": {"api/v1/**": {"fluid": false}}}`}))
	if err != nil {
		t.Fatal(err)
	}
	if p.Fluid == nil || !*p.Fluid {
		t.Fatalf("top-level fluid = %v, want true", p.Fluid)
	}
	top := project.Settings{Fluid: p.Fluid}
	for path, want := range map[string]bool{"api/v1/x.go": false, "api/v2/x.go": true} {
		rule, _ := p.For(path)
		if got := *project.Merge(project.Defaults(), top, rule).Fluid; got != want {
			t.Errorf("%s: fluid %v, want %v", path, got, want)
		}
	}
	if *project.Defaults().Fluid {
		t.Error("fluid is on by default")
	}
	if _, err := project.Load(write(t, map[string]string{"vercel.json": `{"fluid": "yes"}`})); err == nil {
		t.Error(`"fluid": "yes" was accepted`)
	}
}
