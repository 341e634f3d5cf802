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
