package jsbuild

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func TestStaticConfig(t *testing.T) {
	for _, tc := range []struct {
		name, src, want string // want: the properties as JSON, "" for none, "error" for ErrStaticConfig
	}{
		{"none.ts", "export function GET() { return new Response('x') }\n", ""},
		{"other.ts", "const config = { maxDuration: 1 };\nexport function GET() { return new Response(String(config)) }\n", ""},
		{"typed.ts", "type C = { maxDuration: number };\nexport const config: C = { maxDuration: 10, supportsCancellation: true } as const;\n",
			`{"maxDuration":10,"supportsCancellation":true}`},
		{"values.mjs", "export const config = {\n  'runtime': \"nodejs\", // a comment\n  /* regions */ regions: ['iad1', \"sfo1\",],\n  memory: 0x400,\n  nested: { a: null, b: undefined, c: [1.5, 'é\\n\"'] },\n};\n",
			`{"memory":1024,"nested":{"a":null,"b":null,"c":[1.5,"é\n\""]},"regions":["iad1","sfo1"],"runtime":"nodejs"}`},
		{"negative.ts", "export const config = { maxDuration: -1 };\n", "error"},
		{"computed.ts", "const s = 2;\nexport const config = { maxDuration: s * 2 };\n", "error"},
		{"call.js", "export const config = { regions: list() };\nfunction list() { return [] }\n", "error"},
		{"spread.js", "const base = {};\nexport const config = { ...base, maxDuration: 1 };\n", "error"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			if err := os.MkdirAll(filepath.Join(dir, "api"), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, "api", tc.name), []byte(tc.src), 0o644); err != nil {
				t.Fatal(err)
			}
			got, err := StaticConfig(dir, "api/"+tc.name)
			t.Logf("%s: %v", got, err)
			switch tc.want {
			case "":
				if got != nil || err != nil {
					t.Errorf("got %v, %v; want none", got, err)
				}
			case "error":
				if !errors.Is(err, ErrStaticConfig) {
					t.Errorf("got %v, %v; want ErrStaticConfig", got, err)
				}
			default:
				b, _ := json.Marshal(got)
				if err != nil || string(b) != tc.want {
					t.Errorf("got %s, %v; want %s", b, err, tc.want)
				}
			}
		})
	}
}
