package vroute_test

import (
	"errors"
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
