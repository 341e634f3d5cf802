package project_test

import (
	"encoding/json"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wfn-dev/wfn/host/internal/npmtest"
	"github.com/wfn-dev/wfn/host/internal/project"
)

// dotenvCases are .env files, tricky ones among them, that ReadDotenv
// must read as npm dotenv's parse does, key for key and value for value.
var dotenvCases = map[string]string{
	"plain":     "A=1\nB=two words\n",
	"comments":  "# a comment\nA=1 # after the value\n\n  # indented\nB=2\nC=no#space\n",
	"export":    "export A=1\nexport B=\"x y\"\nexportC=3\n",
	"quotes":    "A='single # not a comment'\nB=\"double # not a comment\"\nC='a \\n stays'\n",
	"newline":   "A=\"line\\nbreak\"\nB=\"cr\\rlf\"\n",
	"multiline": "A=\"first\nsecond\nthird\"\nB=after\n",
	"pem": "PRIVATE_KEY=\"-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\nBKcwggSjAgEAAoIBAQC7\n-----END PRIVATE KEY-----\"\n" +
		"NEXT=1\n",
	"single multiline": "A='one\ntwo'\n",
	"equals":           "URL=postgres://u:p@h/db?sslmode=require&a=b\n",
	"spaces":           "  A  =  padded  \nB=\nC=\" kept \"\n",
	"crlf":             "A=1\r\nB=\"2\"\r\nC=\"x\r\ny\"\rD=4\n",
	"later wins":       "A=1\nA=2\n",
	// Escapes: only \n and \r, and only in double quotes.
	"escapes":       "A=\"tab\\there\"\nB=\"back\\\\slash\"\nC=\"say \\\"hi\\\"\"\nD=un\\nquoted\nE='single\\r'\nF=`back\\n`\n",
	"no expansion":  "A=1\nB=${A}\nC=\"$A and ${A:-x}\"\nD='${A}'\n",
	"backquotes":    "A=`it's \"both\"`\nB=`multi\nline`\n",
	"json":          "JSON={\"foo\": \"bar\"}\n",
	"inner quotes":  "A=\"a\"b\"\nB='it''s'\nC=\"open\nD=close\"\n",
	"unclosed":      "A=\"never closed\nB=2\nC='half\n",
	"mismatched":    "A=\"x'\nB='y\"\n",
	"yaml style":    "A: 1\nB:2\nC:  spaced\n",
	"keys":          "a.b-c_D=1\n9=nine\n-=dash\nbad key=3\n=none\n",
	"not a line":    "just words\nA=1\n  \nexport\n",
	"empty quotes":  "A=\"\"\nB=''\nC=\"\nD=1\n",
	"quote in word": "A=it's\nB=say\"x\"\n",
	"unicode":       "A=héllo wörld\nB=\"日本\"\nC=\u00a0nbsp\u00a0\n",
	"no final eol":  "A=1\nB=\"last\"",
	"escaped quote": "A=\"a\\\"\nB=2\"\n",
}

func TestDotenvMatchesNPM(t *testing.T) {
	in, _ := json.Marshal(dotenvCases)
	out := npmtest.Run(t, `
		const dotenv = require("dotenv");
		const cases = JSON.parse(require("fs").readFileSync(0, "utf8"));
		const res = {};
		for (const [name, text] of Object.entries(cases)) res[name] = dotenv.parse(text);
		console.log(JSON.stringify(res));
	`, in)
	var want map[string]map[string]string
	if err := json.Unmarshal(out, &want); err != nil {
		t.Fatalf("dotenv's answers %q: %v", out, err)
	}
	for name, text := range dotenvCases {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, ".env"), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		got, err := project.ReadDotenv(dir)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if !maps.Equal(got, want[name]) {
			t.Errorf("%s: ReadDotenv = %q, npm dotenv = %q", name, got, want[name])
		}
	}
}

func TestDotenvMissing(t *testing.T) {
	if env, err := project.ReadDotenv(t.TempDir()); env != nil || err != nil {
		t.Errorf("no .env: %v, %v; want nothing and no error", env, err)
	}
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, ".env"), 0o755); err != nil {
		t.Fatal(err)
	}
	if _, err := project.ReadDotenv(dir); err == nil || !strings.Contains(err.Error(), ".env") {
		t.Errorf("a .env that cannot be read: %v, want an error naming it", err)
	}
}
