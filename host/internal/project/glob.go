package project

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/bmatcuk/doublestar/v4"
)

// Glob is a compiled "functions" key. Vercel matches these keys with
// minimatch (npm), default options; so does a Glob:
//   - a leading ! negates (each one flips), a leading # is a comment
//     that matches nothing;
//   - braces expand as npm brace-expansion does: {a,b}, nested
//     {a,{b,c}}, sequences {1..3} and {a..c}; a brace with one item and
//     no sequence, such as {hello}, stays literal;
//   - within a segment, * ? [abc] [a-z] [!a] [^a] and \ escapes (matched
//     by doublestar), and the extglobs @(a|b) ?(a|b) +(a|b) *(a|b) and
//     !(a|b) (not a !(...) inside another extglob);
//   - ** alone in a segment matches any number of segments (at the end
//     of the glob, one or more);
//   - a wildcard never matches a leading dot, nor . or ..
//
// A key that equals the path matches too, so that a key naming a file
// with [brackets] in its name (api/users/[id].go) selects it.
type Glob struct {
	key    string
	negate bool
	none   bool         // a comment
	alts   [][]*segment // one per brace expansion, split on /
}

// segment is one /-separated part of a pattern.
type segment struct {
	globstar bool
	literal  string     // with no magic: compared as is
	pattern  string     // for doublestar, when set
	ext      []extPiece // an extglob segment, when set
	dot      bool       // the pattern starts with a dot: it may match one
}

// CompileGlob compiles a minimatch pattern.
func CompileGlob(key string) (*Glob, error) {
	g := &Glob{key: key}
	pat := key
	if strings.HasPrefix(pat, "#") {
		g.none = true
		return g, nil
	}
	for strings.HasPrefix(pat, "!") { // even !(: minimatch negates, and (a) is literal
		g.negate = !g.negate
		pat = pat[1:]
	}
	for _, p := range expandBraces(pat) {
		var segs []*segment
		for _, part := range strings.Split(p, "/") {
			s, err := compileSegment(part)
			if err != nil {
				return nil, err
			}
			segs = append(segs, s)
		}
		g.alts = append(g.alts, segs)
	}
	return g, nil
}

// Match reports whether the /-separated path matches.
func (g *Glob) Match(path string) bool {
	if path == g.key {
		return true
	}
	if g.none {
		return false
	}
	names := strings.Split(path, "/")
	for _, segs := range g.alts {
		if matchSegments(segs, names) {
			return !g.negate
		}
	}
	return g.negate
}

func matchSegments(segs []*segment, names []string) bool {
	for len(segs) > 0 {
		if segs[0].globstar {
			if len(segs) == 1 {
				// A trailing ** matches one segment or more, none a dot
				// one: api/** does not match api.
				if len(names) == 0 {
					return false
				}
				for _, n := range names {
					if strings.HasPrefix(n, ".") {
						return false
					}
				}
				return true
			}
			for i := 0; i <= len(names); i++ {
				if i > 0 && strings.HasPrefix(names[i-1], ".") {
					return false
				}
				if matchSegments(segs[1:], names[i:]) {
					return true
				}
			}
			return false
		}
		if len(names) == 0 || !segs[0].match(names[0]) {
			return false
		}
		segs, names = segs[1:], names[1:]
	}
	return len(names) == 0
}

func (s *segment) match(name string) bool {
	if s.pattern == "" && s.ext == nil {
		return name == s.literal
	}
	if name == "." || name == ".." || (strings.HasPrefix(name, ".") && !s.dot) {
		return false
	}
	if s.ext != nil {
		return matchPieces(s.ext, name)
	}
	ok, err := doublestar.Match(s.pattern, name)
	return err == nil && ok
}

var errNestedNegation = errors.New("a !(...) inside another extglob is not supported by wfn")

func compileSegment(part string) (*segment, error) {
	if part == "**" {
		return &segment{globstar: true}, nil
	}
	s := &segment{dot: strings.HasPrefix(part, ".")}
	if !strings.ContainsAny(part, "*?[\\+@!") {
		s.literal = part
		return s, nil
	}
	if hasExtglob(part) {
		ext, err := extglobPieces(part)
		if err != nil {
			return nil, err
		}
		s.ext = ext
		return s, nil
	}
	// Braces left after expansion are literal, and so is a [ with no ]
	// (minimatch); doublestar reads both otherwise.
	part = escapeBraces(part)
	if !doublestar.ValidatePattern(part) {
		part = strings.ReplaceAll(part, "[", `\[`)
	}
	s.pattern = part
	return s, nil
}

// escapeBraces escapes the { and } that are not escaped already.
func escapeBraces(part string) string {
	var b strings.Builder
	for i := 0; i < len(part); i++ {
		switch part[i] {
		case '\\':
			b.WriteString(part[i:min(i+2, len(part))])
			i++
		case '{', '}':
			b.WriteByte('\\')
			b.WriteByte(part[i])
		default:
			b.WriteByte(part[i])
		}
	}
	return b.String()
}

func hasExtglob(part string) bool {
	for i := 0; i+1 < len(part); i++ {
		if part[i] == '\\' {
			i++
			continue
		}
		if part[i+1] == '(' && strings.IndexByte("@?+*!", part[i]) >= 0 {
			return true
		}
	}
	return false
}

// extPiece is a part of an extglob segment: a run matched by an
// anchored regular expression, or a !(...) that matches any text its
// alternatives do not match (bash's and minimatch's reading: some split
// of the name gives the !(...) a part that none of them matches).
type extPiece struct {
	re  *regexp.Regexp
	not bool
}

// extglobPieces translates one segment with extglobs.
func extglobPieces(part string) ([]extPiece, error) {
	var pieces []extPiece
	add := func(expr string, not bool) error {
		re, err := regexp.Compile("^(?:" + expr + ")$")
		if err != nil {
			return fmt.Errorf("glob segment %q: %w", part, err)
		}
		pieces = append(pieces, extPiece{re, not})
		return nil
	}
	s := part
	for {
		i := indexNegation(s)
		if i < 0 {
			break
		}
		if i > 0 {
			expr, _, err := extglobExpr(s[:i], false)
			if err != nil {
				return nil, err
			}
			if err := add(expr, false); err != nil {
				return nil, err
			}
		}
		inner, rest, err := extglobExpr(s[i+2:], true)
		if err != nil {
			return nil, err
		}
		if !strings.HasPrefix(rest, ")") {
			return nil, fmt.Errorf("unclosed !( in %q", part)
		}
		if err := add(inner, true); err != nil {
			return nil, err
		}
		s = rest[1:]
	}
	expr, rest, err := extglobExpr(s, false)
	if err != nil {
		return nil, err
	}
	if rest != "" {
		return nil, fmt.Errorf("unbalanced ) in %q", part)
	}
	if err := add(expr, false); err != nil {
		return nil, err
	}
	return pieces, nil
}

// indexNegation is the index of the first top-level !( in s, or -1.
func indexNegation(s string) int {
	depth := 0
	for i := 0; i < len(s); i++ {
		switch {
		case s[i] == '\\':
			i++
		case s[i] == '[':
			if end := strings.IndexByte(s[i+1:], ']'); end >= 0 {
				i += end + 1
			}
		case i+1 < len(s) && s[i+1] == '(' && strings.IndexByte("@?+*!", s[i]) >= 0:
			if s[i] == '!' && depth == 0 {
				return i
			}
			depth++
			i++
		case s[i] == ')' && depth > 0:
			depth--
		}
	}
	return -1
}

// matchPieces tries every split of name among the pieces.
func matchPieces(pieces []extPiece, name string) bool {
	p := pieces[0]
	if len(pieces) == 1 {
		return p.re.MatchString(name) != p.not
	}
	for i := 0; i <= len(name); i++ {
		if p.re.MatchString(name[:i]) != p.not && matchPieces(pieces[1:], name[i:]) {
			return true
		}
	}
	return false
}

// extglobExpr translates up to the end, or inside a group up to its ),
// and returns what follows.
func extglobExpr(s string, inGroup bool) (string, string, error) {
	var b strings.Builder
	for len(s) > 0 {
		c := s[0]
		switch {
		case c == '\\' && len(s) > 1:
			b.WriteString(regexp.QuoteMeta(s[1:2]))
			s = s[2:]
		case len(s) > 1 && s[1] == '(' && strings.IndexByte("@?+*!", c) >= 0:
			if c == '!' {
				return "", "", errNestedNegation
			}
			inner, rest, err := extglobExpr(s[2:], true)
			if err != nil {
				return "", "", err
			}
			if !strings.HasPrefix(rest, ")") {
				return "", "", fmt.Errorf("unclosed %c( in a glob", c)
			}
			b.WriteString("(?:" + inner + ")")
			if c != '@' {
				b.WriteByte(c)
			}
			s = rest[1:]
		case inGroup && c == '|':
			b.WriteByte('|')
			s = s[1:]
		case inGroup && c == ')':
			return b.String(), s, nil
		case c == '*':
			b.WriteString(`[^/]*`)
			s = s[1:]
		case c == '?':
			b.WriteString(`[^/]`)
			s = s[1:]
		case c == '[':
			end := strings.IndexByte(s[1:], ']')
			if end < 1 && !(end == 0 && strings.IndexByte(s[2:], ']') >= 0) {
				b.WriteString(`\[`)
				s = s[1:]
				continue
			}
			if end == 0 { // []] has ] as its first member
				end = 1 + strings.IndexByte(s[2:], ']')
			}
			class := s[1 : end+1]
			if strings.HasPrefix(class, "!") {
				class = "^" + class[1:]
			}
			b.WriteString("[" + strings.ReplaceAll(class, `\`, `\\`) + "]")
			s = s[end+2:]
		default:
			b.WriteString(regexp.QuoteMeta(s[:1]))
			s = s[1:]
		}
	}
	return b.String(), "", nil
}

// expandBraces expands braces as npm brace-expansion does.
func expandBraces(s string) []string {
	open := -1
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' {
			i++
			continue
		}
		if s[i] == '{' {
			open = i
			break
		}
	}
	if open < 0 {
		return []string{s}
	}
	close, parts := matchBrace(s, open)
	if close < 0 {
		return []string{s}
	}
	pre, body, post := s[:open], s[open+1:close], s[close+1:]
	posts := expandBraces(post)
	var items []string
	switch {
	case len(parts) > 1:
		for _, p := range parts {
			items = append(items, expandBraces(p)...)
		}
	default:
		seq, ok := sequence(body)
		if !ok {
			// One item and no sequence: the braces stay, and what is
			// inside and after them still expands.
			var out []string
			for _, in := range expandBraces(body) {
				for _, p := range posts {
					out = append(out, pre+"{"+in+"}"+p)
				}
			}
			return out
		}
		items = seq
	}
	var out []string
	for _, it := range items {
		for _, p := range posts {
			out = append(out, pre+it+p)
		}
	}
	return out
}

// matchBrace finds the } closing the { at open and splits the body on
// its top-level commas.
func matchBrace(s string, open int) (int, []string) {
	depth, start := 0, open+1
	var parts []string
	for i := open; i < len(s); i++ {
		switch s[i] {
		case '\\':
			i++
		case '{':
			depth++
		case '}':
			depth--
			if depth == 0 {
				return i, append(parts, s[start:i])
			}
		case ',':
			if depth == 1 {
				parts = append(parts, s[start:i])
				start = i + 1
			}
		}
	}
	return -1, nil
}

var seqRE = regexp.MustCompile(`^(-?\d+)\.\.(-?\d+)(?:\.\.(-?\d+))?$|^([a-zA-Z])\.\.([a-zA-Z])(?:\.\.(-?\d+))?$`)

// sequence expands x..y[..step], numeric (with zero padding) or of
// single letters.
func sequence(body string) ([]string, bool) {
	m := seqRE.FindStringSubmatch(body)
	if m == nil {
		return nil, false
	}
	lo, hi, stepText, width := 0, 0, m[3], 0
	numeric := m[1] != ""
	if numeric {
		lo, _ = strconv.Atoi(m[1])
		hi, _ = strconv.Atoi(m[2])
		for _, t := range m[1:3] {
			if t := strings.TrimPrefix(t, "-"); len(t) > 1 && t[0] == '0' {
				width = max(len(m[1]), len(m[2]))
			}
		}
	} else {
		lo, hi, stepText = int(m[4][0]), int(m[5][0]), m[6]
	}
	step := 1
	if stepText != "" {
		step, _ = strconv.Atoi(stepText)
		step = max(step, -step, 1)
	}
	if hi < lo {
		step = -step
	}
	var out []string
	for i := lo; (step > 0 && i <= hi) || (step < 0 && i >= hi); i += step {
		if !numeric {
			out = append(out, string(rune(i)))
			continue
		}
		t := strconv.Itoa(i)
		if width > 0 {
			neg := strings.HasPrefix(t, "-")
			t = strings.TrimPrefix(t, "-")
			for len(t) < width-boolInt(neg) {
				t = "0" + t
			}
			if neg {
				t = "-" + t
			}
		}
		out = append(out, t)
		if len(out) > 1000 {
			break
		}
	}
	return out, true
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}
