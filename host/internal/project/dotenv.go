package project

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
)

// ReadDotenv reads dir/.env as the dotenv npm package's parse does
// (dotenv 17; its README, "What rules does the parsing engine follow?"),
// which is what Vercel's tooling reads .env with. A missing file is no
// error; one that cannot be read is. The rules:
//
//   - KEY=VALUE lines, KEY made of letters, digits, '_', '.' and '-';
//     "KEY: VALUE" too; an optional "export " prefix; the last of a
//     repeated key wins;
//   - # starts a comment, except inside quotes; a line that is none of
//     these is skipped, as npm skips it (never an error);
//   - an unquoted value is trimmed; a value in single, double or back
//     quotes keeps its inner spaces and may span lines (a PEM key);
//   - in a double-quoted value, and only there, \n and \r are a newline
//     and a carriage return. No other escape exists (\t, \\ and \" stay
//     as written) and nothing is expanded (${VAR} stays as written).
//
// No Go dotenv library reads these rules: joho/godotenv, compose-go's
// dotenv, direnv's and subosito/gotenv port Ruby's dotenv, which reads
// more escapes and expands variables, so the grammar is written here and
// TestDotenvMatchesNPM checks it against npm dotenv itself.
func ReadDotenv(dir string) (map[string]string, error) {
	b, err := os.ReadFile(filepath.Join(dir, ".env"))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return ParseDotenv(string(b)), nil
}

// jsSpace is the class of JavaScript's \s (ECMA-262, WhiteSpace and
// LineTerminator), wider than Go's.
const jsSpace = `[\t\n\v\f\r \x{a0}\x{1680}\x{2000}-\x{200a}\x{2028}\x{2029}\x{202f}\x{205f}\x{3000}\x{feff}]`

// dotenvLine matches one assignment. A quoted value runs to the next
// unescaped quote of its kind, over newlines; without one, the value is
// read as unquoted. Go's regexp picks the submatches a backtracking
// engine picks (leftmost-first), as JavaScript's does.
var dotenvLine = func() *regexp.Regexp {
	s := jsSpace
	quoted := func(q string) string { return s + `*` + q + `(?:\\` + q + `|[^` + q + `])*` + q }
	value := `(` + quoted(`'`) + `|` + quoted(`"`) + `|` + quoted("`") + `|[^#\r\n]+)?`
	return regexp.MustCompile(`(?m)^` + s + `*(?:export` + s + `+)?([\w.-]+)(?:` + s + `*=` + s + `*?|:` + s + `+?)` +
		value + s + `*(?:#.*)?$`)
}()

// ParseDotenv parses the text of a .env file by ReadDotenv's rules.
func ParseDotenv(text string) map[string]string {
	text = strings.NewReplacer("\r\n", "\n", "\r", "\n").Replace(text)
	env := map[string]string{}
	for _, m := range dotenvLine.FindAllStringSubmatch(text, -1) {
		v := strings.TrimFunc(m[2], isJSSpace)
		double := strings.HasPrefix(v, `"`)
		if len(v) >= 2 && strings.ContainsRune("'\"`", rune(v[0])) && v[len(v)-1] == v[0] {
			v = v[1 : len(v)-1]
		}
		if double {
			v = strings.NewReplacer(`\n`, "\n", `\r`, "\r").Replace(v)
		}
		env[m[1]] = v
	}
	return env
}

func isJSSpace(r rune) bool {
	switch r {
	case '\t', '\n', '\v', '\f', '\r', ' ', 0xa0, 0x1680, 0x2028, 0x2029, 0x202f, 0x205f, 0x3000, 0xfeff:
		return true
	}
	return r >= 0x2000 && r <= 0x200a
}
