package vroute

import (
	"fmt"
	"strconv"
	"strings"
)

// This file reads Vercel's source syntax: the path-to-regexp 6.1.0 grammar
// (github.com/pillarjs/path-to-regexp, the version @vercel/routing-utils
// pins) that vercel.json's redirects, rewrites and headers use. It gives
// the same regular expression text and parameter names as that library, so
// the route table wfn builds is the one Vercel builds.

type tokenKind uint8

const (
	tkChar tokenKind = iota
	tkEscaped
	tkModifier
	tkOpen
	tkClose
	tkName
	tkPattern
	tkEnd
)

type lexToken struct {
	kind  tokenKind
	index int
	value string
}

func isNameChar(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c == '_'
}

// lex splits a path-to-regexp string into tokens.
func lex(s string) ([]lexToken, error) {
	var toks []lexToken
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == '*' || c == '+' || c == '?':
			toks = append(toks, lexToken{tkModifier, i, s[i : i+1]})
			i++
		case c == '\\':
			if i+1 >= len(s) {
				return nil, fmt.Errorf("trailing backslash at %d", i)
			}
			toks = append(toks, lexToken{tkEscaped, i, s[i+1 : i+2]})
			i += 2
		case c == '{':
			toks = append(toks, lexToken{tkOpen, i, "{"})
			i++
		case c == '}':
			toks = append(toks, lexToken{tkClose, i, "}"})
			i++
		case c == ':':
			j := i + 1
			for j < len(s) && isNameChar(s[j]) {
				j++
			}
			if j == i+1 {
				return nil, fmt.Errorf("missing parameter name at %d", i)
			}
			toks = append(toks, lexToken{tkName, i, s[i+1 : j]})
			i = j
		case c == '(':
			count, j := 1, i+1
			var pat strings.Builder
			if j < len(s) && s[j] == '?' {
				return nil, fmt.Errorf(`pattern cannot start with "?" at %d`, j)
			}
			for j < len(s) {
				if s[j] == '\\' && j+1 < len(s) {
					pat.WriteString(s[j : j+2])
					j += 2
					continue
				}
				if s[j] == ')' {
					count--
					if count == 0 {
						j++
						break
					}
				} else if s[j] == '(' {
					count++
					if j+1 >= len(s) || s[j+1] != '?' {
						return nil, fmt.Errorf("capturing groups are not allowed at %d", j)
					}
				}
				pat.WriteByte(s[j])
				j++
			}
			if count != 0 {
				return nil, fmt.Errorf("unbalanced pattern at %d", i)
			}
			if pat.Len() == 0 {
				return nil, fmt.Errorf("missing pattern at %d", i)
			}
			toks = append(toks, lexToken{tkPattern, i, pat.String()})
			i = j
		default:
			toks = append(toks, lexToken{tkChar, i, s[i : i+1]})
			i++
		}
	}
	return append(toks, lexToken{tkEnd, len(s), ""}), nil
}

// ptoken is a literal (key == nil) or a parameter.
type ptoken struct {
	literal  string
	group    bool // a {...} group without name or pattern
	key      *pkey
	prefix   string
	suffix   string
	pattern  string
	modifier string
}

// pkey names a parameter: by name, or by position when unnamed.
type pkey struct {
	name  string
	index int // for an unnamed one
}

func (k *pkey) named() bool { return k.name != "" }

// escapeString escapes what path-to-regexp escapes.
func escapeString(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if strings.IndexByte(`.+*?=^!:${}()[]|/\`, s[i]) >= 0 {
			b.WriteByte('\\')
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// parsePath parses s with the default prefixes "./"; delimiter is the
// set of characters a default parameter stops at.
func parsePath(s, delimiter string) ([]ptoken, error) {
	toks, err := lex(s)
	if err != nil {
		return nil, err
	}
	defaultPattern := "[^" + escapeString(delimiter) + "]+?"
	var out []ptoken
	key, i := 0, 0
	var path strings.Builder
	try := func(k tokenKind) (string, bool) {
		if i < len(toks) && toks[i].kind == k {
			i++
			return toks[i-1].value, true
		}
		return "", false
	}
	text := func() string {
		var b strings.Builder
		for {
			v, ok := try(tkChar)
			if !ok {
				if v, ok = try(tkEscaped); !ok {
					return b.String()
				}
			}
			b.WriteString(v)
		}
	}
	flush := func() {
		if path.Len() > 0 {
			out = append(out, ptoken{literal: path.String()})
			path.Reset()
		}
	}
	for i < len(toks) {
		char, hasChar := try(tkChar)
		name, hasName := try(tkName)
		pattern, hasPattern := try(tkPattern)
		if hasName || hasPattern {
			prefix := char
			if prefix != "." && prefix != "/" {
				path.WriteString(prefix)
				prefix = ""
			}
			flush()
			k := &pkey{name: name}
			if !hasName {
				k.index = key
				key++
			}
			if !hasPattern {
				pattern = defaultPattern
			}
			mod, _ := try(tkModifier)
			out = append(out, ptoken{key: k, prefix: prefix, pattern: pattern, modifier: mod})
			continue
		}
		if !hasChar {
			char, hasChar = try(tkEscaped)
		}
		if hasChar {
			path.WriteString(char)
			continue
		}
		flush()
		if _, ok := try(tkOpen); ok {
			prefix := text()
			name, _ := try(tkName)
			pattern, _ := try(tkPattern)
			suffix := text()
			if _, ok := try(tkClose); !ok {
				return nil, fmt.Errorf("unexpected token at %d, expected }", toks[i].index)
			}
			t := ptoken{prefix: prefix, suffix: suffix, pattern: pattern, group: name == "" && pattern == ""}
			switch {
			case name != "":
				t.key = &pkey{name: name}
				if pattern == "" {
					t.pattern = defaultPattern
				}
			case pattern != "":
				t.key = &pkey{index: key}
				key++
			}
			t.modifier, _ = try(tkModifier)
			out = append(out, t)
			continue
		}
		if _, ok := try(tkEnd); !ok {
			return nil, fmt.Errorf("unexpected token at %d", toks[i].index)
		}
	}
	return out, nil
}

// sourceRegexp is routing-utils' sourceToRegex: the regular expression
// (JavaScript syntax) of a source, with strict, sensitive and delimiter
// "/", and the names of its parameters in group order ("" for unnamed).
func sourceRegexp(source string) (string, []string, error) {
	toks, err := parsePath(source, "/")
	if err != nil {
		return "", nil, err
	}
	var b strings.Builder
	var names []string
	b.WriteByte('^')
	for _, t := range toks {
		if t.group {
			fmt.Fprintf(&b, "(?:%s%s)%s", escapeString(t.prefix), escapeString(t.suffix), t.modifier)
			continue
		}
		if t.key == nil {
			b.WriteString(escapeString(t.literal))
			continue
		}
		names = append(names, t.key.name)
		prefix, suffix := escapeString(t.prefix), escapeString(t.suffix)
		switch {
		case prefix == "" && suffix == "":
			fmt.Fprintf(&b, "(%s)%s", t.pattern, t.modifier)
		case t.modifier == "+" || t.modifier == "*":
			mod := ""
			if t.modifier == "*" {
				mod = "?"
			}
			fmt.Fprintf(&b, "(?:%s((?:%s)(?:%s%s(?:%s))*)%s)%s", prefix, t.pattern, suffix, prefix, t.pattern, suffix, mod)
		default:
			fmt.Fprintf(&b, "(?:%s(%s)%s)%s", prefix, t.pattern, suffix, t.modifier)
		}
	}
	b.WriteByte('$')
	// routing-utils' normalizeRoutes unescapes slashes.
	return strings.ReplaceAll(b.String(), `\/`, "/"), names, nil
}

// compileTemplate is path-to-regexp's compile(s, {validate: false})(data):
// s with its parameters replaced by data. It fails when s does not parse
// or names a required parameter that data lacks.
func compileTemplate(s string, data map[string]string) (string, error) {
	toks, err := parsePath(s, "/#?")
	if err != nil {
		return "", err
	}
	var b strings.Builder
	for _, t := range toks {
		if t.group {
			// A group with neither name nor pattern has no value to look up.
			if t.modifier == "?" || t.modifier == "*" {
				continue
			}
			return "", fmt.Errorf("expected a value for a group without a name")
		}
		if t.key == nil {
			b.WriteString(t.literal)
			continue
		}
		name := t.key.name
		if !t.key.named() {
			name = strconv.Itoa(t.key.index)
		}
		v, ok := data[name]
		if ok {
			b.WriteString(t.prefix + v + t.suffix)
			continue
		}
		if t.modifier == "?" || t.modifier == "*" {
			continue
		}
		return "", fmt.Errorf("expected %q to be a string", name)
	}
	return b.String(), nil
}
