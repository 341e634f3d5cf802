package cdn

import (
	"bytes"
	"net/http"
	"strconv"
	"time"
)

// recorder is the ResponseWriter an origin writes to. It starts by
// buffering, when the response may be stored, and decides at the head:
// a response that cannot be stored releases the flight's followers and
// streams to the client from then on (flushes included); one that can is
// buffered to the end, up to MaxBody, and then written from its entry.
// A storable response the origin flushes is streamed to the client from
// the first flush on while it is buffered (tee); followers wait for the
// entry. Past MaxBody it is no longer buffered and only streams.
type recorder struct {
	c      *Cache
	w      http.ResponseWriter // the client; nil in a background revalidation
	r      *http.Request
	key    string
	f      *flight // the flight this origin call leads, or nil
	label  string  // x-vercel-cache of a passthrough response
	header http.Header
	status int
	wrote  bool
	pass   bool // streaming to w, not buffering
	tee    bool // the head went to w: what is buffered is streamed too
	// fallback: a stale entry stands in if the origin fails; failed: it
	// did (status 500 or more), and what it writes is dropped.
	fallback, failed bool
	// validating: the origin was sent the validators of a stored entry;
	// notModified: it answered 304, and the entry is refreshed rather
	// than the response passed on (it has no body to store).
	validating, notModified bool
	tags                    []string // from Vercel-Cache-Tag
	pol                     policy
	buf                     bytes.Buffer
	reason                  string // why the response is not stored
}

var (
	_ http.ResponseWriter = (*recorder)(nil)
	_ http.Flusher        = (*recorder)(nil)
)

func (rw *recorder) Header() http.Header { return rw.header }

// WriteHeader decides whether the response can be stored. Informational
// (1xx) heads are dropped: the client gets the final head only.
func (rw *recorder) WriteHeader(code int) {
	if rw.wrote || code < 200 {
		return
	}
	rw.wrote, rw.status = true, code
	if rw.validating && code == http.StatusNotModified {
		rw.notModified = true
		return
	}
	if rw.fallback && code >= 500 {
		rw.failed = true
		return
	}
	if !rw.pass {
		pol, reason := decide(rw.c.rules, code, rw.header, time.Now())
		if reason == "" {
			if n, err := strconv.ParseInt(rw.header.Get("Content-Length"), 10, 64); err == nil && n > rw.c.maxBody {
				reason = "Content-Length over MaxBody"
			}
		}
		var tags []string
		// An error is no sign that the key's responses cannot be stored,
		// nor is a 304 to a conditional request.
		mark := rw.status < 500 && rw.status != http.StatusNotModified
		if ce := originEncoding(rw.header); reason == "" && ce != "" && !accepts(rw.r.Header, ce) {
			// Stored under the variant of a request that does not
			// accept it, it would reach clients that do not either. The
			// response to a request that does may be stored.
			reason, mark = "Content-Encoding "+ce+" not accepted by the request", false
		}
		if reason == "" {
			tags = headerTags(rw.header)
			_, reason = entryTags(rw.r.URL.Path, tags, nil)
		}
		if reason == "" {
			rw.pol, rw.tags = pol, tags
			return
		}
		rw.passthrough(reason, mark)
		return
	}
	rw.head()
}

// passthrough stops buffering: the flight's followers are released to call
// the origin themselves, and the head and what was buffered go to the
// client. mark starts hit-for-miss for the key.
func (rw *recorder) passthrough(reason string, mark bool) {
	rw.pass, rw.reason = true, reason
	rw.c.log.Debug("cdn: response not cached", "key", rw.key, "reason", reason)
	if rw.f != nil {
		rw.c.release(rw.f, nil, mark)
	}
	if rw.tee {
		rw.buf = bytes.Buffer{} // already sent
		return
	}
	rw.head()
	if rw.buf.Len() > 0 && rw.w != nil {
		_, _ = rw.w.Write(rw.buf.Bytes())
	}
	rw.buf = bytes.Buffer{}
}

// head sends the passthrough head to the client.
func (rw *recorder) head() {
	if rw.w == nil {
		return
	}
	h := rw.w.Header()
	for k, v := range rw.header {
		h[k] = v
	}
	clientHeader(h)
	h[hXVercelCache] = labels[rw.label]
	rw.w.WriteHeader(rw.status)
}

func (rw *recorder) Write(p []byte) (int, error) {
	if !rw.wrote {
		rw.WriteHeader(http.StatusOK)
	}
	if rw.failed || rw.notModified {
		return len(p), nil
	}
	if !rw.pass {
		if int64(rw.buf.Len()+len(p)) <= rw.c.maxBody {
			rw.buf.Write(p)
			if !rw.tee || rw.w == nil {
				return len(p), nil
			}
			return rw.w.Write(p)
		}
		rw.passthrough("body over MaxBody", true)
	}
	if rw.w == nil {
		return len(p), nil
	}
	return rw.w.Write(p)
}

// Flush sends the head and what was written to the client. A storable
// response starts to stream (tee) at its first flush.
func (rw *recorder) Flush() {
	if !rw.wrote {
		rw.WriteHeader(http.StatusOK)
	}
	if rw.w == nil || rw.failed || rw.notModified {
		return
	}
	if !rw.pass && !rw.tee {
		rw.tee = true
		rw.head()
		if rw.buf.Len() > 0 {
			_, _ = rw.w.Write(rw.buf.Bytes())
		}
	}
	_ = http.NewResponseController(rw.w).Flush()
}

// Unwrap gives http.ResponseController the client's writer (nil in a
// background revalidation, where the controller's calls are not
// supported).
func (rw *recorder) Unwrap() http.ResponseWriter { return rw.w }

// PassWriter is the writer of a response that does not go through the
// cache (Cache.passthrough): the origin writes the client's own header
// map, and the head gets what the client receives of the caching headers
// (clientHeader) and the label. Informational (1xx) heads are dropped, as
// a recorder drops them. Its fields are the cache's; an Origin may give
// the cache room for one (PassOrigin).
type PassWriter struct {
	w      http.ResponseWriter
	label  string
	status int // 0 until the head is written
}

var (
	_ http.ResponseWriter = (*PassWriter)(nil)
	_ http.Flusher        = (*PassWriter)(nil)
)

func (pw *PassWriter) Header() http.Header { return pw.w.Header() }

func (pw *PassWriter) WriteHeader(code int) {
	if pw.status != 0 || code < 200 {
		return
	}
	pw.status = code
	h := pw.w.Header()
	clientHeader(h)
	h[hXVercelCache] = labels[pw.label]
	pw.w.WriteHeader(code)
}

func (pw *PassWriter) Write(p []byte) (int, error) {
	if pw.status == 0 {
		pw.WriteHeader(http.StatusOK)
	}
	return pw.w.Write(p)
}

func (pw *PassWriter) Flush() {
	if pw.status == 0 {
		pw.WriteHeader(http.StatusOK)
	}
	_ = http.NewResponseController(pw.w).Flush()
}

// Unwrap gives http.ResponseController the client's writer.
func (pw *PassWriter) Unwrap() http.ResponseWriter { return pw.w }
