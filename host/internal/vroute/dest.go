package vroute

import (
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// replaceSegments turns a vercel.json destination, with path-to-regexp
// parameters (:name), into a route destination with $1 and $name
// references, as routing-utils' replaceSegments does: the path, host and
// hash are compiled as path-to-regexp templates, each query value too,
// and a rewrite whose path names none of the parameters gets them all as
// query parameters (Vercel's documented behaviour for rewrites).
func replaceSegments(segs, hasSegs []string, dest string, redirect bool) (string, error) {
	named := false
	for _, s := range segs {
		named = named || s != ""
	}
	if !(strings.Contains(dest, ":") && named || len(hasSegs) > 0 || !redirect) {
		return dest, nil
	}
	idx := indexes(segs, hasSegs)
	escaped := dest
	for _, s := range append(slicesOfNames(segs), hasSegs...) {
		escaped = strings.ReplaceAll(escaped, ":"+s, "__ESC_COLON_"+s)
	}
	u := parseURL(escaped)
	unesc := func(s string) string { return escColon.ReplaceAllString(s, ":") }
	pathname := unesc(u.pathname)
	hash := unesc(u.hash)
	hostname := unesc(u.hostname)
	destParams := map[string]bool{}
	for _, s := range []string{pathname, hash, hostname} {
		toks, err := parsePath(s, "/#?")
		if err != nil {
			continue
		}
		for _, t := range toks {
			if t.key != nil && t.key.named() {
				destParams[t.key.name] = true
			}
		}
	}
	pathname = safelyCompile(pathname, idx, true)
	if hash != "" {
		hash = safelyCompile(hash, idx, true)
	}
	if hostname != "" {
		hostname = safelyCompile(hostname, idx, true)
	}
	for i := range u.query {
		for j, v := range u.query[i].values {
			u.query[i].values[j] = safelyCompile(unesc(v), idx, true)
		}
	}
	if !redirect {
		update := true
		for p := range idx {
			if destParams[p] {
				update = false
			}
		}
		if update {
			// Parameters in source order, then the has ones, as the JS
			// object's insertion order gives them.
			for _, p := range append(slicesOfNames(segs), hasSegs...) {
				if !u.has(p) {
					u.query = append(u.query, queryParam{p, []string{idx[p]}})
				}
			}
		}
	}
	u.pathname, u.hash, u.hostname = pathname, hash, hostname
	return strings.ReplaceAll(u.format(), "%24", "$"), nil
}

var escColon = regexp.MustCompile(`(?i)__ESC_COLON_`)

// slicesOfNames returns the named parameters of segs.
func slicesOfNames(segs []string) []string {
	var out []string
	for _, s := range segs {
		if s != "" {
			out = append(out, s)
		}
	}
	return out
}

// safelyCompile fills a template's parameters from idx, as routing-utils'
// safelyCompile does: directly when the template parses as path-to-regexp
// (and direct), else after escaping everything but the known parameters.
func safelyCompile(value string, idx map[string]string, direct bool) string {
	if value == "" {
		return value
	}
	if direct {
		if out, err := compileTemplate(value, idx); err == nil {
			return out
		}
	}
	keys := make([]string, 0, len(idx))
	for k := range idx {
		keys = append(keys, k)
	}
	// The JS object's key order: integer-like keys never occur here, the
	// others in insertion order, which only matters for keys that are
	// prefixes of each other; longest first gives the same result.
	sort.Slice(keys, func(i, j int) bool { return len(keys[i]) > len(keys[j]) })
	for _, k := range keys {
		if !strings.Contains(value, ":"+k) {
			continue
		}
		value = strings.ReplaceAll(value, ":"+k+"*", ":"+k+"--ESCAPED_PARAM_ASTERISK")
		value = strings.ReplaceAll(value, ":"+k+"?", ":"+k+"--ESCAPED_PARAM_QUESTION")
		value = strings.ReplaceAll(value, ":"+k+"+", ":"+k+"--ESCAPED_PARAM_PLUS")
		value = replaceNotFollowedByWord(value, ":"+k, "--ESCAPED_PARAM_COLON"+k)
	}
	var b strings.Builder
	for i := 0; i < len(value); i++ {
		if strings.IndexByte(":*?+(){}", value[i]) >= 0 {
			b.WriteByte('\\')
		}
		b.WriteByte(value[i])
	}
	value = b.String()
	value = strings.NewReplacer("--ESCAPED_PARAM_PLUS", "+", "--ESCAPED_PARAM_COLON", ":",
		"--ESCAPED_PARAM_QUESTION", "?", "--ESCAPED_PARAM_ASTERISK", "*").Replace(value)
	out, err := compileTemplate("/"+value, idx)
	if err != nil {
		return value
	}
	return out[1:]
}

// replaceNotFollowedByWord replaces each old in s not followed by a word
// character (JavaScript's /old(?!\w)/g).
func replaceNotFollowedByWord(s, old, repl string) string {
	var b strings.Builder
	for {
		i := strings.Index(s, old)
		if i < 0 {
			b.WriteString(s)
			return b.String()
		}
		end := i + len(old)
		if end < len(s) && isNameChar(s[end]) {
			b.WriteString(s[:end])
		} else {
			b.WriteString(s[:i] + repl)
		}
		s = s[end:]
	}
}

// nodeURL is the part of Node's legacy url.parse(s, true) result that
// routing-utils keeps, and url.format's way of writing it back.
type nodeURL struct {
	protocol string // with its colon, or ""
	slashes  bool
	auth     string
	hostname string
	port     string
	pathname string
	query    []queryParam
	hash     string // with its #, or ""
}

type queryParam struct {
	key    string
	values []string
}

func (u *nodeURL) has(k string) bool {
	for _, q := range u.query {
		if q.key == k {
			return true
		}
	}
	return false
}

var protocolRE = regexp.MustCompile(`^[a-zA-Z][a-zA-Z0-9+.\-]*:`)

// autoEscape is what Node's url.parse percent-encodes in the rest of a URL.
var autoEscape = strings.NewReplacer("\t", "%09", "\n", "%0A", "\v", "%0B", "\f", "%0C", "\r", "%0D",
	" ", "%20", `"`, "%22", "'", "%27", "<", "%3C", ">", "%3E", `\`, "%5C", "^", "%5E", "`", "%60",
	"{", "%7B", "|", "%7C", "}", "%7D")

func parseURL(s string) *nodeURL {
	u := &nodeURL{}
	rest := strings.TrimSpace(s)
	if m := protocolRE.FindString(rest); m != "" {
		u.protocol = strings.ToLower(m)
		rest = rest[len(m):]
	}
	if u.protocol != "" && strings.HasPrefix(rest, "//") {
		u.slashes = true
		rest = rest[2:]
		end := strings.IndexAny(rest, "/?#")
		if end < 0 {
			end = len(rest)
		}
		host := rest[:end]
		rest = rest[end:]
		if at := strings.LastIndexByte(host, '@'); at >= 0 {
			u.auth, host = host[:at], host[at+1:]
		}
		if c := strings.LastIndexByte(host, ':'); c >= 0 && isDigits(host[c+1:]) {
			u.port, host = host[c+1:], host[:c]
		}
		u.hostname = strings.ToLower(host)
	}
	if i := strings.IndexByte(rest, '#'); i >= 0 {
		u.hash = autoEscape.Replace(rest[i:])
		rest = rest[:i]
	}
	if i := strings.IndexByte(rest, '?'); i >= 0 {
		u.query = parseQuery(rest[i+1:])
		rest = rest[:i]
	}
	u.pathname = autoEscape.Replace(rest)
	if u.slashes && u.pathname == "" {
		u.pathname = "/"
	}
	return u
}

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// parseQuery is Node's querystring.parse, keys in a JS object's order:
// integer-like keys first, ascending, then the others as they came.
func parseQuery(s string) []queryParam {
	var q []queryParam
	for _, kv := range strings.Split(s, "&") {
		if kv == "" {
			continue
		}
		k, v, _ := strings.Cut(kv, "=")
		k, v = qsUnescape(k), qsUnescape(v)
		found := false
		for i := range q {
			if q[i].key == k {
				q[i].values = append(q[i].values, v)
				found = true
			}
		}
		if !found {
			q = append(q, queryParam{k, []string{v}})
		}
	}
	sort.SliceStable(q, func(i, j int) bool {
		ai, aok := arrayIndex(q[i].key)
		bi, bok := arrayIndex(q[j].key)
		if aok && bok {
			return ai < bi
		}
		return aok && !bok
	})
	return q
}

func arrayIndex(k string) (uint64, bool) {
	n, err := strconv.ParseUint(k, 10, 32)
	if err != nil || strconv.FormatUint(n, 10) != k || n == 1<<32-1 {
		return 0, false
	}
	return n, true
}

func qsUnescape(s string) string {
	s = strings.ReplaceAll(s, "+", " ")
	if u, err := url.PathUnescape(s); err == nil {
		return u
	}
	return s
}

// qsEscape is Node's querystring.escape: encodeURIComponent.
func qsEscape(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || strings.IndexByte("-_.!~*'()", c) >= 0 {
			b.WriteByte(c)
			continue
		}
		b.WriteString("%" + strings.ToUpper(strconv.FormatUint(uint64(c)|0x100, 16)[1:]))
	}
	return b.String()
}

func (u *nodeURL) format() string {
	var b strings.Builder
	b.WriteString(u.protocol)
	host := ""
	if u.hostname != "" {
		host = u.hostname
		if u.auth != "" {
			host = u.auth + "@" + host
		}
		if u.port != "" {
			host += ":" + u.port
		}
	}
	pathname := u.pathname
	if u.slashes || host != "" {
		b.WriteString("//" + host)
		if pathname != "" && pathname[0] != '/' {
			pathname = "/" + pathname
		}
	}
	pathname = strings.NewReplacer("?", "%3F", "#", "%23").Replace(pathname)
	b.WriteString(pathname)
	if len(u.query) > 0 {
		var parts []string
		for _, q := range u.query {
			for _, v := range q.values {
				parts = append(parts, qsEscape(q.key)+"="+qsEscape(v))
			}
		}
		b.WriteString("?" + strings.Replace(strings.Join(parts, "&"), "#", "%23", 1))
	}
	if u.hash != "" {
		if u.hash[0] != '#' {
			b.WriteByte('#')
		}
		b.WriteString(u.hash)
	}
	return b.String()
}
