package vroute_test

import (
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/wfn-dev/wfn/host/internal/vroute"
)

func TestParseErrors(t *testing.T) {
	for _, tc := range []struct {
		name, json, want string
	}{
		{"not JSON", `{`, "unexpected end"},
		{"wrong type", `{"redirects": {}}`, "redirects: json"},
		{"capturing group in source", `{"redirects": [{"source": "/(a(b))", "destination": "/"}]}`, "redirects[0]: source"},
		{"unbalanced source", `{"rewrites": [{"source": "/(abc", "destination": "/"}]}`, "unbalanced pattern"},
		{"unknown segment", `{"rewrites": [{"source": "/a/:x", "destination": "/b/:y"}]}`, `segment ":y"`},
		{"segment from has", `{"rewrites": [{"source": "/a", "destination": "/b/:y", "has": [{"type": "query", "key": "z", "value": "(?<y>.*)"}]}]}`, ""},
		{"permanent and statusCode", `{"redirects": [{"source": "/a", "destination": "/b", "permanent": true, "statusCode": 301}]}`, "both permanent and statusCode"},
		{"bad condition type", `{"headers": [{"source": "/a", "headers": [], "has": [{"type": "ip", "value": "1"}]}]}`, `condition type "ip"`},
		{"condition without key", `{"headers": [{"source": "/a", "headers": [], "has": [{"type": "cookie"}]}]}`, "needs a key"},
		{"bad has regexp", `{"redirects": [{"source": "/a", "destination": "/b", "has": [{"type": "host", "value": "(["}]}]}`, "host value"},
		{"no source", `{"rewrites": [{"destination": "/"}]}`, "rewrites[0]: source must have"},
		{"no destination", `{"redirects": [{"source": "/a", "destinaton": "/b"}]}`, "redirects[0]: destination is required"},
		{"header without key", `{"headers": [{"source": "/a", "headers": [{"value": "1"}]}]}`, "headers[0].headers[0]: key is required"},
		{"unknown operator", `{"redirects": [{"source": "/a", "destination": "/b", "has": [{"type": "query", "key": "q", "value": {"like": "x"}}]}]}`, `unknown field "like"`},
		{"empty operators", `{"redirects": [{"source": "/a", "destination": "/b", "has": [{"type": "query", "key": "q", "value": {}}]}]}`, "at least one operator"},
		{"eq neither string nor number", `{"redirects": [{"source": "/a", "destination": "/b", "has": [{"type": "query", "key": "q", "value": {"eq": true}}]}]}`, "want a string or a number"},
		{"value neither string nor object", `{"redirects": [{"source": "/a", "destination": "/b", "has": [{"type": "query", "key": "q", "value": 3}]}]}`, "want a string or an object"},
		{"bad re operator", `{"redirects": [{"source": "/a", "destination": "/b", "has": [{"type": "header", "key": "x", "value": {"re": "(["}}]}]}`, "header value"},
		{"key of an object value is no segment", `{"rewrites": [{"source": "/a", "destination": "/b/:q", "has": [{"type": "query", "key": "q", "value": {"pre": "x"}}]}]}`, `segment ":q"`},
		{"other keys ignored", `{"functions": {"api/x": {}}, "crons": [], "cleanUrls": true}`, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := vroute.Parse([]byte(tc.json))
			if tc.want == "" {
				if err != nil {
					t.Fatalf("Parse: %v", err)
				}
				return
			}
			if !errors.Is(err, vroute.ErrInvalid) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Parse: %v, want ErrInvalid with %q", err, tc.want)
			}
		})
	}
}

func TestEmptyConfigRoutesNothing(t *testing.T) {
	rt, err := vroute.New(vroute.Config{})
	if err != nil || rt != nil {
		t.Fatalf("New(empty) = %v, %v; want nil, nil", rt, err)
	}
}

// Headers of entries with has or missing depend on more than the path:
// they are kept apart (CondHeader), so that a cache that stores the
// response keeps only the path's own (Header); a later entry wins.
func TestConditionalHeadersKeptApart(t *testing.T) {
	cfg, err := vroute.Parse([]byte(`{"headers": [
		{"source": "/(.*)", "headers": [{"key": "X-All", "value": "1"}, {"key": "X-Over", "value": "path"}]},
		{"source": "/(.*)", "headers": [{"key": "X-Beta", "value": "on"}, {"key": "X-Over", "value": "beta"}], "has": [{"type": "cookie", "key": "beta"}]},
		{"source": "/(.*)", "headers": [{"key": "X-Anon", "value": "1"}], "missing": [{"type": "cookie", "key": "id"}]},
		{"source": "/late", "headers": [{"key": "X-Beta", "value": "late"}]}
	]}`))
	if err != nil {
		t.Fatal(err)
	}
	rt, err := vroute.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	exists := func(string) bool { return true }
	for _, tc := range []struct {
		path, cookie string
		header, cond map[string]string
		all          map[string]string
	}{
		{"/x", "", map[string]string{"X-All": "1", "X-Over": "path"}, map[string]string{"X-Anon": "1"},
			map[string]string{"X-All": "1", "X-Over": "path", "X-Anon": "1"}},
		{"/x", "beta=1; id=2", map[string]string{"X-All": "1", "X-Over": "path"}, map[string]string{"X-Beta": "on", "X-Over": "beta"},
			map[string]string{"X-All": "1", "X-Over": "beta", "X-Beta": "on"}},
		{"/late", "beta=1; id=2", map[string]string{"X-All": "1", "X-Over": "path", "X-Beta": "late"}, map[string]string{"X-Over": "beta"},
			map[string]string{"X-All": "1", "X-Over": "beta", "X-Beta": "late"}},
	} {
		r, _ := http.NewRequest(http.MethodGet, "http://localhost"+tc.path, nil)
		if tc.cookie != "" {
			r.Header.Set("Cookie", tc.cookie)
		}
		res := rt.Route(r, exists)
		for name, c := range map[string]struct {
			got  http.Header
			want map[string]string
		}{"Header": {res.Header, tc.header}, "CondHeader": {res.CondHeader, tc.cond}, "AllHeader": {res.AllHeader(), tc.all}} {
			got := map[string]string{}
			for k := range c.got {
				got[k] = c.got.Get(k)
			}
			if len(got) != len(c.want) {
				t.Errorf("%s cookie %q: %s = %v, want %v", tc.path, tc.cookie, name, got, c.want)
				continue
			}
			for k, v := range c.want {
				if got[k] != v {
					t.Errorf("%s cookie %q: %s = %v, want %v", tc.path, tc.cookie, name, got, c.want)
					break
				}
			}
		}
	}
}
