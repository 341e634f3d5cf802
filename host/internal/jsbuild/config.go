package jsbuild

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf16"

	"github.com/evanw/esbuild/pkg/api"
)

// ErrStaticConfig is the error of an entry file whose config export is not
// an object of literal values.
var ErrStaticConfig = errors.New("the config export must be an object of literal values (strings, numbers, booleans, null, arrays and objects of them), read without running the code")

// configDecl finds the exported config in esbuild's output, which prints
// each top-level statement at the start of a line.
var configDecl = regexp.MustCompile(`(?m)^export const config = `)

// StaticConfig reads the settings the function entry (a path relative to
// dir, such as api/hello.ts) declares in the file itself, as Vercel's
// static-config reads them without running the code (VERCEL.md section
// 4.1): `export const config = {...}`, whose values are literals. It
// returns each property's value as JSON, by name, or nil when the file
// declares no config. TypeScript's annotations (`: Config`, `satisfies`,
// `as const`) are stripped by esbuild first. A value that is not a
// literal is an error wrapping ErrStaticConfig.
func StaticConfig(dir, entry string) (map[string]json.RawMessage, error) {
	src, err := os.ReadFile(filepath.Join(dir, entry))
	if err != nil {
		return nil, err
	}
	if !strings.Contains(string(src), "config") {
		return nil, nil
	}
	loader := map[string]api.Loader{".ts": api.LoaderTS, ".mts": api.LoaderTS, ".cts": api.LoaderTS, ".tsx": api.LoaderTSX, ".jsx": api.LoaderJSX}[filepath.Ext(entry)]
	if loader == api.LoaderNone {
		loader = api.LoaderJS
	}
	res := api.Transform(string(src), api.TransformOptions{Loader: loader, Target: api.ES2023, Sourcefile: entry})
	if len(res.Errors) > 0 {
		return nil, nil // the bundle reports the file's syntax errors
	}
	code := string(res.Code)
	loc := configDecl.FindStringIndex(code)
	if loc == nil {
		return nil, nil
	}
	p := &literalParser{s: code, i: loc[1]}
	p.space()
	if p.peek() != '{' {
		return nil, fmt.Errorf("%s: %w", entry, ErrStaticConfig)
	}
	v, err := p.value()
	if err != nil {
		return nil, fmt.Errorf("%s: %w (%v)", entry, ErrStaticConfig, err)
	}
	out := map[string]json.RawMessage{}
	for k, x := range v.(map[string]any) {
		b, err := json.Marshal(x)
		if err != nil {
			return nil, fmt.Errorf("%s: config.%s: %w", entry, k, err)
		}
		out[k] = b
	}
	return out, nil
}

// literalParser reads one JavaScript literal as esbuild prints it: an
// object (identifier or string keys), an array, a double-quoted string, a
// number, true, false, null or undefined.
type literalParser struct {
	s string
	i int
}

func (p *literalParser) peek() byte {
	if p.i < len(p.s) {
		return p.s[p.i]
	}
	return 0
}

// space skips white space and comments (esbuild keeps some).
func (p *literalParser) space() {
	for p.i < len(p.s) {
		switch r := p.s[p.i:]; {
		case strings.IndexByte(" \t\r\n", r[0]) >= 0:
			p.i++
		case strings.HasPrefix(r, "//"):
			if j := strings.IndexByte(r, '\n'); j >= 0 {
				p.i += j
			} else {
				p.i = len(p.s)
			}
		case strings.HasPrefix(r, "/*"):
			if j := strings.Index(r[2:], "*/"); j >= 0 {
				p.i += j + 4
			} else {
				p.i = len(p.s)
			}
		default:
			return
		}
	}
}

// word reads an identifier or a number.
func (p *literalParser) word() string {
	j := p.i
	for j < len(p.s) {
		c := p.s[j]
		if c == '_' || c == '$' || c == '.' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' {
			j++
			continue
		}
		break
	}
	w := p.s[p.i:j]
	p.i = j
	return w
}

// str reads a string literal in double or single quotes, with
// JavaScript's escapes (ECMA-262 section 12.9.4).
func (p *literalParser) str() (string, error) {
	quote := p.s[p.i]
	var b strings.Builder
	for j := p.i + 1; j < len(p.s); j++ {
		c := p.s[j]
		switch {
		case c == quote:
			p.i = j + 1
			return b.String(), nil
		case c == '\n':
			return "", errors.New("a line break in a string")
		case c != '\\':
			b.WriteByte(c)
			continue
		}
		j++
		if j >= len(p.s) {
			break
		}
		switch e := p.s[j]; e {
		case 'n':
			b.WriteByte('\n')
		case 't':
			b.WriteByte('\t')
		case 'r':
			b.WriteByte('\r')
		case 'b':
			b.WriteByte('\b')
		case 'f':
			b.WriteByte('\f')
		case 'v':
			b.WriteByte('\v')
		case '0':
			b.WriteByte(0)
		case '\n': // a line continuation
		case 'x', 'u':
			var hex string
			switch {
			case e == 'x' && j+2 < len(p.s):
				hex, j = p.s[j+1:j+3], j+2
			case e == 'u' && j+1 < len(p.s) && p.s[j+1] == '{':
				k := strings.IndexByte(p.s[j:], '}')
				if k < 0 {
					return "", errors.New("a bad \\u{} escape")
				}
				hex, j = p.s[j+2:j+k], j+k
			case e == 'u' && j+4 < len(p.s):
				hex, j = p.s[j+1:j+5], j+4
			}
			n, err := strconv.ParseUint(hex, 16, 32)
			if err != nil {
				return "", fmt.Errorf("a bad \\%c escape", e)
			}
			if utf16.IsSurrogate(rune(n)) && strings.HasPrefix(p.s[j+1:], "\\u") && j+7 <= len(p.s) {
				if lo, err := strconv.ParseUint(p.s[j+3:j+7], 16, 32); err == nil {
					n, j = uint64(utf16.DecodeRune(rune(n), rune(lo))), j+6
				}
			}
			b.WriteRune(rune(n))
		default:
			b.WriteByte(e)
		}
	}
	return "", errors.New("unterminated string")
}

func (p *literalParser) value() (any, error) {
	p.space()
	switch c := p.peek(); {
	case c == '{':
		p.i++
		obj := map[string]any{}
		for {
			p.space()
			if p.peek() == '}' {
				p.i++
				return obj, nil
			}
			var key string
			if q := p.peek(); q == '"' || q == '\'' {
				k, err := p.str()
				if err != nil {
					return nil, err
				}
				key = k
			} else if key = p.word(); key == "" {
				return nil, fmt.Errorf("unexpected %q in an object", p.rest())
			}
			p.space()
			if p.peek() != ':' {
				return nil, fmt.Errorf("property %s is not a key: value pair", key)
			}
			p.i++
			v, err := p.value()
			if err != nil {
				return nil, fmt.Errorf("%s: %w", key, err)
			}
			obj[key] = v
			if err := p.next('}'); err != nil {
				return nil, err
			}
		}
	case c == '[':
		p.i++
		arr := []any{}
		for {
			p.space()
			if p.peek() == ']' {
				p.i++
				return arr, nil
			}
			v, err := p.value()
			if err != nil {
				return nil, err
			}
			arr = append(arr, v)
			if err := p.next(']'); err != nil {
				return nil, err
			}
		}
	case c == '"' || c == '\'':
		return p.str()
	default:
		start := p.i
		w := p.word()
		switch w {
		case "true":
			return true, nil
		case "false":
			return false, nil
		case "null", "undefined":
			return nil, nil
		case "void": // esbuild prints undefined as void 0
			p.space()
			if p.word() == "0" {
				return nil, nil
			}
		}
		if n, err := strconv.ParseFloat(w, 64); err == nil {
			return n, nil
		}
		if n, err := strconv.ParseInt(w, 0, 64); err == nil {
			return float64(n), nil
		}
		p.i = start
		return nil, fmt.Errorf("%q is not a literal", p.rest())
	}
}

// next reads the comma after an element, or sees the closing end.
func (p *literalParser) next(end byte) error {
	p.space()
	switch p.peek() {
	case ',':
		p.i++
		return nil
	case end:
		return nil
	}
	return fmt.Errorf("unexpected %q", p.rest())
}

// rest is the text at the parser's position, for an error.
func (p *literalParser) rest() string {
	r := p.s[p.i:]
	if i := strings.IndexAny(r, "\n,}]"); i >= 0 {
		r = r[:i]
	}
	return strings.TrimSpace(r)
}
