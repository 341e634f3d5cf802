package host

import (
	"context"
	"log/slog"
	"net/http"
	"sync/atomic"
	"time"
	"unicode/utf8"
	"unsafe"
)

// HeaderCache is the CDN cache's state of a response: MISS, HIT, STALE,
// REVALIDATED or BYPASS (vercel.com/docs/headers/response-headers,
// x-vercel-cache).
const HeaderCache = "X-Vercel-Cache"

// AccessEntry is the access log's record of one request, given to
// Config.OnAccess when its response is complete. The access log's line
// has the fields under the keys in brackets, in this order, then
// path_bytes, user_agent_bytes and cut when they apply; its time is the
// response's end.
type AccessEntry struct {
	// Start is when the request arrived, by the wall clock (not logged).
	Start time.Time
	// Method and Path [method, path] are the request's, the path the
	// client asked for (before vercel.json's rewrites), percent-decoded,
	// without the query. The line shows the path's first 1,024 bytes,
	// then "...", and adds path_bytes, its length, when it is longer.
	Method, Path string
	// Status [status] is the response's status code, as sent in its
	// head; 499 (nginx's "client closed request") when the client left
	// before the head was sent: it got no response.
	Status int
	// Duration runs from the request's arrival to the response's end
	// [duration_ms: in milliseconds, a number with microseconds as its
	// fraction, 12.345].
	Duration time.Duration
	// Bytes [bytes] is the size of the response body the host wrote, in
	// bytes: without the head, before any transfer coding (chunked).
	Bytes int64
	// Function [fn] is the source of the function that answered, such as
	// api/hello.wasm; "" for a static file, a redirect or a 404.
	Function string
	// ID [id] is the request id (x-vercel-id, REGION::...), as in the
	// guest's log lines.
	ID string
	// Fresh [fresh] is true when the invocation was the first on its
	// instance (a cold start, or a reserve instance's first use).
	Fresh bool
	// Cache [cache] is the CDN cache's state (HeaderCache: MISS, HIT,
	// STALE, REVALIDATED, BYPASS), or "" when the response did not go
	// through it.
	Cache string
	// Client [client] is the client's IP address, the one the function
	// gets (the SDKs' ipAddress, x-real-ip): the socket peer's, or, when
	// the peer is one of Config.TrustedProxies, the client that its
	// x-real-ip, x-vercel-forwarded-for or x-forwarded-for names (the
	// proxy's own address is then not in the entry). In netip's form,
	// without the port: 203.0.113.7, 2001:db8::1, an IPv4-mapped address
	// as IPv4. "" when the connection has no IP address (a Unix socket).
	Client string
	// UserAgent [user_agent] is the request's User-Agent header (the
	// first), whole; "" without one. The line shows its first 512 bytes,
	// then "...", and adds user_agent_bytes, its length, when it is
	// longer.
	UserAgent string
	// Cut [cut, only when true] is true when the response's head was
	// sent (Status is its) and its body did not reach the client whole:
	// a write to the client failed (it left, or did not read within the
	// deadline), or the host ended the response early (a function that
	// failed or timed out after sending its head). A client that leaves
	// after the last write is not seen.
	Cut bool
}

// accessWriter records what the access log needs of a response.
type accessWriter struct {
	http.ResponseWriter
	entry AccessEntry
	wrote bool
	// cut is entry.Cut, once the head is sent: a write or flush to the
	// client failed, or a panic ended the request (endAccess).
	cut bool
	// fresh is entry.Fresh, set by invoke: atomic because the CDN cache
	// may call the origin again in the background (a revalidation) after
	// the response, and with it invoke.
	fresh atomic.Bool

	// What else lives as long as the request, in the same allocation: the
	// request id's bytes and header value, and the request's first
	// invocation (newInvocation).
	idBuf   [maxIDLen]byte
	idValue [1]string
	origin  fnOrigin
	inv     invocation
	invUsed atomic.Bool
}

// newInvocation returns the invocation struct for a run of r's function:
// aw's own for the first, a new one for another (the CDN cache's
// revalidation in the background runs the function again).
func (aw *accessWriter) newInvocation() *invocation {
	if aw != nil && aw.invUsed.CompareAndSwap(false, true) {
		return &aw.inv
	}
	return new(invocation)
}

func (aw *accessWriter) WriteHeader(code int) {
	if !aw.wrote && (code >= 200 || code == http.StatusSwitchingProtocols) {
		aw.wrote = true
		aw.entry.Status = code
		if vs := aw.Header()[HeaderCache]; len(vs) > 0 { // a canonical name: no Get
			aw.entry.Cache = vs[0]
		}
	}
	aw.ResponseWriter.WriteHeader(code)
}

func (aw *accessWriter) Write(p []byte) (int, error) {
	if !aw.wrote {
		aw.WriteHeader(http.StatusOK)
	}
	n, err := aw.ResponseWriter.Write(p)
	aw.entry.Bytes += int64(n)
	if err != nil && err != http.ErrBodyNotAllowed && err != http.ErrContentLength {
		// The connection failed; not a body for a 204 or a 304, or
		// bytes past the Content-Length, which net/http drops.
		aw.cut = true
	}
	return n, err
}

func (aw *accessWriter) Flush() {
	if !aw.wrote {
		aw.WriteHeader(http.StatusOK)
	}
	if http.NewResponseController(aw.ResponseWriter).Flush() != nil {
		aw.cut = true
	}
}

// Unwrap gives http.ResponseController the writer underneath.
func (aw *accessWriter) Unwrap() http.ResponseWriter { return aw.ResponseWriter }

// setID makes b, appended to aw.idBuf, the request's id: the entry's,
// and the header value's. It returns the id.
//
// The string shares aw.idBuf's bytes, without a copy: they are written
// once, before, and never again (an accessWriter is not reused), and the
// string keeps aw alive for as long as anything holds it.
func (aw *accessWriter) setID(b []byte) string {
	id := unsafe.String(unsafe.SliceData(b), len(b))
	aw.entry.ID, aw.idValue[0] = id, id
	return id
}

// startAccess wraps w to record the access entry of the request that
// arrived at start (its ID is left to setID), or returns nil when neither
// the access log nor Config.OnAccess wants it.
func (h *Host) startAccess(w http.ResponseWriter, r *http.Request, start time.Time) *accessWriter {
	if !h.cfg.AccessLog && h.cfg.OnAccess == nil {
		return nil
	}
	return &accessWriter{ResponseWriter: w, entry: AccessEntry{Start: start, Method: r.Method, Path: r.URL.Path, Client: h.accessClient(r), UserAgent: userAgent(r)}}
}

// userAgent is r's User-Agent, the first if it has several.
func userAgent(r *http.Request) string {
	if vs := r.Header["User-Agent"]; len(vs) > 0 { // a canonical name: no Get
		return vs[0]
	}
	return ""
}

// statusClientClosed is the access log's status of a request whose client
// left before the response's head was sent: nginx's 499, "client closed
// request", which log tools know. No response has it.
const statusClientClosed = 499

// endAccess logs the request r and hands its entry to Config.OnAccess.
// It is deferred by ServeHTTP, and so sees a panic that ends the request:
// http.ErrAbortHandler, by which the host cuts a response whose head was
// sent (invoke, fluid.Pool.Serve), or a bug. It logs the request as cut,
// then panics on with the same value, for net/http.
func (h *Host) endAccess(aw *accessWriter, r *http.Request) {
	if v := recover(); v != nil {
		defer panic(v)
		aw.cut = true
	}
	e := aw.entry
	e.Cut = aw.wrote && aw.cut
	e.Duration = time.Since(e.Start)
	e.Fresh = aw.fresh.Load()
	if !aw.wrote && r.Context().Err() != nil {
		// The host writes nothing for a client that left (invoke): the
		// request's context ends when net/http finds the connection
		// closed.
		e.Status = statusClientClosed
	}
	if h.cfg.AccessLog {
		path, pathCut := logged(e.Path, maxLoggedPath)
		ua, uaCut := logged(e.UserAgent, maxLoggedUserAgent)
		attrs := []slog.Attr{
			slog.String("method", e.Method),
			slog.String("path", path),
			slog.Int("status", e.Status),
			slog.Float64("duration_ms", float64(e.Duration.Microseconds())/1000),
			slog.Int64("bytes", e.Bytes),
			slog.String("fn", e.Function),
			slog.String("id", e.ID),
			slog.Bool("fresh", e.Fresh),
			slog.String("cache", e.Cache),
			slog.String("client", e.Client),
			slog.String("user_agent", ua),
		}
		if pathCut {
			attrs = append(attrs, slog.Int("path_bytes", len(e.Path)))
		}
		if uaCut {
			attrs = append(attrs, slog.Int("user_agent_bytes", len(e.UserAgent)))
		}
		if e.Cut {
			attrs = append(attrs, slog.Bool("cut", true))
		}
		h.log.LogAttrs(context.Background(), slog.LevelInfo, "request", attrs...)
	}
	if h.cfg.OnAccess != nil {
		h.cfg.OnAccess(e)
	}
}

// maxLoggedPath bounds the path an access log line shows, in bytes: a
// client's URL may be up to net/http's 1 MB header limit (one over 14 KB
// is answered 414, and logged).
const maxLoggedPath = 1024

// maxLoggedUserAgent bounds the User-Agent an access log line shows, in
// bytes: browsers' are under 200, a bot's or an SDK's under 400, and a
// client may send up to the 16 KB of a header (431 beyond, logged).
const maxLoggedUserAgent = 512

// logged is s as the access log shows it: its first limit bytes at most,
// cut at a rune boundary and marked with "...", and whether it was cut
// (Config.OnAccess gets the whole value).
func logged(s string, limit int) (string, bool) {
	if len(s) <= limit {
		return s, false
	}
	n := limit
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "...", true
}
