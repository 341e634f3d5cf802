package project_test

import (
	"encoding/json"
	"testing"

	"github.com/wfn-dev/wfn/host/internal/npmtest"
	"github.com/wfn-dev/wfn/host/internal/project"
)

// globPatterns and globPaths are matched each with each, by Glob and by
// npm minimatch with its default options, as Vercel matches "functions".
var (
	globPatterns = []string{
		"api/*", "api/**", "**", "api/**/*.go", "api/**/x", "api/?", "api/*.{js,ts}",
		"api/{a,b}", "api/{a,{b,c}}", "api/{hello}", "api/{}", "api/{a,b}/*", "api/{,x}y", "api/x{a}{b,c}",
		"api/a{1..3}", "api/{a..c}", "api/a{01..03}", "api/{3..1}",
		"api/[!a]*", "api/[^a]*", "api/[a-c]*", "api/[abc]", "api/a[b",
		"api/+(a|b)", "api/@(a|b).js", "api/?(a|b)x", "api/*(a|b)", "api/*.+(js|ts)", "api/+(a|b*)",
		"!api/a", "!!api/a", "!api/**", "#api/a", "api/.*", "api/\\*", "api/.hidden",
		"api/!(a|b)", "api/!(a)*", "api/x!(a)b", "api/!(*.ts)", "api/!(a).js", "api/!(a)!(b)", "api/a!(+(b))",
		"api/!(a|b)/*", "!(api)/a", "!(a)", "api/\\{hello}*", "api/x\\{a,b}",
	}
	globPaths = []string{
		"api", "api/a", "api/b", "api/c", "api/d", "api/e", "api/i", "api/hello", "api/{hello}", "api/{}",
		"api/ab", "api/aab", "api/abab", "api/ba", "api/bzz", "api/x", "api/ax", "api/bx", "api/y", "api/xy",
		"api/xab", "api/xac", "api/x{a}b", "api/a1", "api/a2", "api/a4", "api/a01", "api/a02", "api/3",
		"api/f.js", "api/f.ts", "api/f.go", "api/f.jsts", "api/a.js", "api/c.js", "api/sub/f.go", "api/sub/deep/x",
		"api/x/y", "api/a/b", "api/b/x", "api/.hidden", "api/.git/x", "api/*", "api/a[b", "other/a",
		"api/sub/.x/f.go", "api/xb", "api/xaab", "api/f.ts.js", "api/abb", "(a)", "a", "api/c/d", "(api)/a", "api/{hello}x", "api/x{a,b}", "api/xa",
	}
)

func TestGlobMatchesMinimatch(t *testing.T) {
	in, _ := json.Marshal(map[string][]string{"patterns": globPatterns, "paths": globPaths})
	out := npmtest.Run(t, `
		const { minimatch } = require("minimatch");
		const { patterns, paths } = JSON.parse(require("fs").readFileSync(0, "utf8"));
		console.log(JSON.stringify(patterns.map((p) => paths.map((s) => minimatch(s, p)))));
	`, in)
	var want [][]bool
	if err := json.Unmarshal(out, &want); err != nil {
		t.Fatalf("minimatch's answers %q: %v", out, err)
	}
	for i, pat := range globPatterns {
		g, err := project.CompileGlob(pat)
		if err != nil {
			t.Errorf("CompileGlob(%q): %v", pat, err)
			continue
		}
		for j, path := range globPaths {
			if got := g.Match(path); got != want[i][j] {
				t.Errorf("%q matches %q: %v, minimatch says %v", pat, path, got, want[i][j])
			}
		}
	}
}

// A key that is the path itself selects it, though minimatch would read
// [id] as a character class.
func TestGlobLiteralKey(t *testing.T) {
	g, err := project.CompileGlob("api/users/[id].go")
	if err != nil {
		t.Fatal(err)
	}
	if !g.Match("api/users/[id].go") || !g.Match("api/users/i.go") || g.Match("api/users/x.go") {
		t.Error("api/users/[id].go: want the file itself and the class's members, nothing else")
	}
}
