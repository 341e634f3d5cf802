package jsbuild

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/go-sourcemap/sourcemap"
)

// SourceMap maps positions in a bundle to positions in the files it was
// made of: esbuild's source map (Source Map Revision 3), read with
// github.com/go-sourcemap/sourcemap.
type SourceMap struct {
	c *sourcemap.Consumer
}

// parseSourceMap reads esbuild's source map. A map with no mappings (the
// bundle of a file with no code, only comments) is nil: it maps nothing,
// and the parser would refuse it.
func parseSourceMap(data []byte) (*SourceMap, error) {
	var m struct {
		Mappings string `json:"mappings"`
	}
	if err := json.Unmarshal(data, &m); err != nil {
		return nil, fmt.Errorf("esbuild's source map: %w", err)
	}
	if m.Mappings == "" {
		return nil, nil
	}
	c, err := sourcemap.Parse("", data)
	if err != nil {
		return nil, fmt.Errorf("esbuild's source map: %w", err)
	}
	return &SourceMap{c: c}, nil
}

// bundlePosition is a position in the bundle as QuickJS writes it in
// stack traces and syntax errors: "bundle.js:LINE:COLUMN", both 1-based.
var bundlePosition = regexp.MustCompile(`\b` + regexp.QuoteMeta(Name) + `:(\d+):(\d+)`)

// Position returns the source position of line and column in the bundle
// (both 1-based): the file, relative to the served directory (such as
// api/hello.ts), and its 1-based line and column. ok is false where the
// map says nothing (code esbuild wrote itself).
func (m *SourceMap) Position(line, column int) (file string, srcLine, srcColumn int, ok bool) {
	if m == nil || line < 1 || column < 1 {
		return "", 0, 0, false
	}
	file, _, srcLine, srcColumn, ok = m.c.Source(line, column-1) // the map's columns are 0-based
	if !ok || file == "" {
		return "", 0, 0, false
	}
	return file, srcLine, srcColumn + 1, true
}

// Rewrite returns s with each position in the bundle ("bundle.js:3:7")
// replaced by its position in the user's files ("api/hello.ts:2:9"). A
// position the map does not cover is left as it is; a nil map returns s.
func (m *SourceMap) Rewrite(s string) string {
	if m == nil || !strings.Contains(s, Name+":") {
		return s
	}
	matches := bundlePosition.FindAllStringSubmatchIndex(s, -1)
	if matches == nil {
		return s
	}
	var b strings.Builder
	last := 0
	for _, at := range matches {
		line, err1 := strconv.Atoi(s[at[2]:at[3]])
		col, err2 := strconv.Atoi(s[at[4]:at[5]])
		file, l, c, ok := m.Position(line, col)
		if err1 != nil || err2 != nil || !ok {
			continue
		}
		b.WriteString(s[last:at[0]])
		fmt.Fprintf(&b, "%s:%d:%d", file, l, c)
		last = at[1]
	}
	b.WriteString(s[last:])
	return b.String()
}
