package host_test

import (
	"strings"
	"testing"

	"github.com/wfn-dev/wfn/host"
	"github.com/wfn-dev/wfn/internal/testkit"
)

// A script's own config (export const config = {...}, VERCEL.md section
// 4.1) sets its maxDuration and supportsCancellation, with TypeScript's
// annotations; vercel.json's functions rule wins where both set a
// property; a config that is not literal values fails its function only.
func TestJSInFileConfig(t *testing.T) {
	dir := t.TempDir()
	sleeper := `export async function GET(req: Request): Promise<Response> {
  const ms = Number(new URL(req.url).searchParams.get("ms"));
  await new Promise((resolve) => setTimeout(resolve, ms));
  return new Response("slept " + ms);
}
`
	files := map[string]string{
		// 1 s from the file.
		"api/own.ts": `type Config = { maxDuration: number; regions?: string[] };
export const config: Config = {
  maxDuration: 1,
  regions: ['iad1'],
};
` + sleeper,
		// 1 s in the file, 5 s in vercel.json: vercel.json wins.
		"api/ruled.ts": "export const config = { maxDuration: 1 } satisfies { maxDuration: number };\n" + sleeper,
		// Not a literal: this function fails to load, the others do not.
		"api/computed.ts": "const seconds = 2;\nexport const config = { maxDuration: seconds * 2 };\n" + sleeper,
		// Out of range, as vercel.json's own check says.
		"api/zero.ts": "export const config = { maxDuration: 0 };\n" + sleeper,
		"vercel.json": `{"functions": {"api/ruled.ts": {"maxDuration": 5}}}`,
	}
	testkit.WriteFiles(t, dir, files)
	h, srv, _ := serve(t, host.Config{Dir: dir})
	errs := map[string]string{}
	for _, fn := range h.Functions() {
		if fn.Err != nil {
			errs[fn.Source] = fn.Err.Error()
		}
	}
	for src, want := range map[string]string{
		"api/computed.ts": "must be an object of literal values",
		"api/zero.ts":     `config.maxDuration: want an integer from 1 to`,
	} {
		if !strings.Contains(errs[src], want) || !strings.Contains(errs[src], src) {
			t.Errorf("%s: err %q, want it to name the file and say %q", src, errs[src], want)
		}
	}
	if len(errs) != 2 {
		t.Errorf("load errors %v, want 2", errs)
	}
	wantError(t, get(t, srv.URL+"/api/own?ms=2000"), 504, host.CodeInvocationTimeout)
	if r := get(t, srv.URL+"/api/own?ms=10"); r.status != 200 || r.body != "slept 10" {
		t.Errorf("own, 10 ms: %d %q", r.status, r.body)
	}
	if r := get(t, srv.URL+"/api/ruled?ms=2000"); r.status != 200 || r.body != "slept 2000" {
		t.Errorf("ruled, 2 s under vercel.json's 5 s: %d %q", r.status, r.body)
	}
}
