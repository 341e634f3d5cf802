package hostcall

import "net/textproto"

// commonHeaders are the response header names guests set most, in
// canonical form: a name that matches one, in any case, takes its string
// instead of a new one (textproto.CanonicalMIMEHeaderKey interns only the
// names it is given as strings, and a guest's name is bytes).
var commonHeaders = []string{
	"Age", "Date", "Etag", "Vary", "Expires", "Location", "Set-Cookie",
	"Content-Type", "Cache-Control", "Last-Modified", "Content-Length",
	"Content-Encoding", "Content-Language", "Cdn-Cache-Control",
	"Content-Disposition", "Vercel-Cache-Tag", "Vercel-Cdn-Cache-Control",
	"X-Content-Type-Options", "Access-Control-Allow-Origin",
	"Strict-Transport-Security",
}

// canonicalHeaderKey is textproto.CanonicalMIMEHeaderKey of a valid
// header name (abi.ValidHeaderName), without allocating for a common one.
func canonicalHeaderKey(name []byte) string {
	for _, k := range commonHeaders {
		if len(k) == len(name) && equalFold(name, k) {
			return k
		}
	}
	return textproto.CanonicalMIMEHeaderKey(string(name))
}

// commonValues are response header values guests set often (the common
// content types), each a slice of one element shared by every response
// that sets it, with a capacity of one so that an append copies it. A
// header map's value slices are replaced or appended to, never written in
// place (net/http's Header methods, and the host's, do not), so sharing
// them is safe; the host's default Cache-Control is shared the same way.
var commonValues = func() map[string][]string {
	m := map[string][]string{}
	for _, v := range []string{
		"text/plain", "text/plain; charset=utf-8",
		"text/html", "text/html; charset=utf-8",
		"application/json", "application/json; charset=utf-8",
		"text/event-stream", "application/octet-stream",
		"text/css; charset=utf-8", "text/javascript; charset=utf-8",
		"application/javascript; charset=utf-8",
		"nosniff", "no-store", "no-cache", "*",
	} {
		m[v] = []string{v}[:1:1]
	}
	return m
}()

// headerValues is []string{string(value)}, without allocating for a
// common value.
func headerValues(value []byte) []string {
	if vs, ok := commonValues[string(value)]; ok {
		return vs
	}
	return []string{string(value)}
}
