package conformance

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/wfn-dev/wfn/abi"
)

// The names the host answers with (README, "Errors"; Vercel's error codes,
// vercel.com/docs/errors).
const (
	headerError     = "X-Wfn-Error"
	headerRequestID = "X-Vercel-Id"
	codeNotAllowed  = "INVALID_REQUEST_METHOD"
	codeNoResponse  = "NO_RESPONSE_FROM_FUNCTION"
)

var cases = append([]Case{
	{"dispatch", "3", "Each method goes to its method export if the guest has one, else to wfn_handle; without wfn_handle, HEAD goes to the GET export (RFC 9110 section 9.3.2) and other methods get 405 INVALID_REQUEST_METHOD with Allow listing the method exports in the spec's order (HEAD after GET when only GET is exported).", nil, false, false, dispatchCase},
	{"empty", "3", "A handler that writes nothing gives 200, an empty body and Content-Length: 0.", nil, false, false, emptyCase},
	{"method", "4", "request_method is the method as sent, for the seven methods and an extension method.", []string{abi.ImportRequestMethod}, false, false, methodCase},
	{"url", "4", "request_url is the absolute URL with scheme, host, path and query, escapes kept, and each route param set in the query (the suite's guest is api/[case]: case=NAME at the end).", []string{abi.ImportRequestURL}, false, false, urlCase},
	{"headers", "4", "request_header_names are lower-case, include host, and list each name once; request_header returns every value in order, matches names without regard to case, and returns ENOTFOUND for an absent header.", []string{abi.ImportRequestHeaderNames, abi.ImportRequestHeader}, false, false, headersCase},
	{"params", "4", "request_param is unescaped: /api/caf%C3%A9%20%2F%20x%3Fy gives the case param \"café / x?y\" (the guest's 404 for an unknown case).", []string{abi.ImportRequestParam}, false, false, paramsCase},
	{"buffer", "1, 4", "The buffer protocol: a 12 KB header value and a 3 KB URL reach the guest whole.", []string{abi.ImportRequestURL, abi.ImportRequestHeader}, false, false, bufferCase},
	{"body", "4", "request_body_read streams a 1 MiB chunked body in small reads and returns 0 at its end.", []string{abi.ImportRequestBodyRead}, false, false, bodyCase},
	{"status", "5", "response_set_status: EINVAL outside 100..999, the status set is sent, ECLOSED after the first write.", []string{abi.ImportResponseSetStatus, abi.ImportResponseBodyWrite}, false, false, statusCase},
	{"status-1xx", "3, 5", "A final status of 103 gives 502 NO_RESPONSE_FROM_FUNCTION.", []string{abi.ImportResponseSetStatus}, false, false, status1xxCase},
	{"headers-out", "5", "response_header_set replaces and add appends, names without regard to case; delete removes; EINVAL for a bad name or a value with CR, LF, NUL or a control byte (HTAB is allowed); ECLOSED after the first write.", []string{abi.ImportResponseHeaderSet, abi.ImportResponseHeaderAdd, abi.ImportResponseHeaderDelete, abi.ImportResponseBodyWrite}, false, false, headersOutCase},
	{"buffered", "5", "Without a flush, the response is sent whole with Content-Length.", []string{abi.ImportResponseBodyWrite}, false, false, bufferedCase},
	{"stream", "5", "response_flush sends the head and the bytes so far at once; the response then streams, chunked.", []string{abi.ImportResponseFlush, abi.ImportResponseBodyWrite}, false, false, streamCase},
	{"close", "5", "response_close completes the response at once while the handler runs on; later writes and closes get ECLOSED.", []string{abi.ImportResponseClose, abi.ImportResponseBodyWrite}, false, false, closeCase},
	{"abort", "5a", "abort_signaled is 0 during a normal request.", []string{abi.ImportAbortSignaled}, false, false, abortCase},
	{"deadline", "5a, 8", "deadline_remaining_ms is above 0 and at most the function's maxDuration (60 s).", []string{abi.ImportDeadlineRemainingMs}, false, false, deadlineCase},
	{"wait-until", "3, 5a", "A task registered with wait_until runs after the response, with the request id, and may register another task.", []string{abi.ImportWaitUntil}, false, false, waitUntilCase},
	{"log", "7", "fd_write on stdout and stderr become log lines at info and warn level, with the request id.", nil, false, false, logCase},
	{"env", "7", "environ_get holds Vercel's system variables, the .env file, the host's variables and the function's env, later ones winning, and nothing of the host's own environment.", nil, false, false, envCase},
	{"ip-address", "5b", "ip_address is the socket peer, or the client a trusted proxy names with x-real-ip or x-forwarded-for.", []string{abi.ImportIPAddress}, false, false, ipAddressCase},
	{"geolocation", "5b", "geolocation is a JSON object of strings: only region without x-vercel-ip-* headers; every field, city decoded and flag derived, with them.", []string{abi.ImportGeolocation}, false, false, geolocationCase},
	{"fetch", "5b", "http_send and the http_response_* imports reach a backend allowed by allowedOutboundHosts: method, header and body go out; status, lower-case header names, every header value and a 64 KiB body come back.", []string{abi.ImportHTTPSend, abi.ImportHTTPResponseStatus, abi.ImportHTTPResponseHeaderNames, abi.ImportHTTPResponseHeader, abi.ImportHTTPResponseBodyRead, abi.ImportHTTPClose}, false, false, fetchCase},
	{"fetch-denied", "5b", "http_send returns EDENIED for a loopback port and a metadata address off the allow list, without connecting.", []string{abi.ImportHTTPSend, abi.ImportHTTPResponseStatus}, false, false, fetchDeniedCase},
	{"clock", "7", "clock_time_get gives the wall clock and a monotonic clock; poll_oneoff sleeps.", nil, false, false, clockCase},
	{"random", "7", "random_get gives fresh random bytes.", nil, false, false, randomCase},
	{"cache", "6", "cache_get misses, then returns what cache_set stored, and misses again after cache_delete, and after cache_expire_tag of one of the entry's tags; a negative ttl and an empty tag are EINVAL; an entry set by one invocation is read by the next.", []string{abi.ImportCacheGet, abi.ImportCacheSet, abi.ImportCacheDelete, abi.ImportCacheExpireTag}, true, false, cacheCase},
	{"cdn", "6", "cdn_add_cache_tag tags the response; cdn_invalidate_by_tag, cdn_delete_by_tag, cdn_invalidate_by_src_image and cdn_delete_by_src_image succeed; an empty tag, a negative revalidation deadline and an empty source are EINVAL.", []string{abi.ImportCDNAddCacheTag, abi.ImportCDNInvalidateByTag, abi.ImportCDNDeleteByTag, abi.ImportCDNInvalidateBySrcImage, abi.ImportCDNDeleteBySrcImage}, true, false, cdnCase},
	{"fetch-wait", "5b", "http_wait with a timeout of 0 returns 0 while the backend has not answered, then 1 once the head is in, within its timeout; the status follows at once.", []string{abi.ImportHTTPSend, abi.ImportHTTPWait, abi.ImportHTTPResponseStatus, abi.ImportHTTPClose}, true, false, fetchWaitCase},
	{"tcp", "5c", "tcp_connect reaches a loopback server allowed by allowedOutboundHosts; tcp_write sends, tcp_close_write half-closes (ECLOSED again and for a write after it), tcp_read reads the server's answer to its end (0); tcp_remote_address is the server's address; tcp_close releases the handle (EBADHANDLE after it); an unknown flag and an address without a port are EINVAL, a closed port ECONNREFUSED.", tcpImports, true, false, tcpCase},
	{"tcp-denied", "5c", "tcp_connect returns EDENIED for a loopback port and a metadata address off the allow list, without connecting.", []string{abi.ImportTCPConnect}, true, false, tcpDeniedCase},
	{"tcp-timeout", "5c", "tcp_read on a server that never answers returns ETIMEDOUT after its timeout, and at once with a timeout of 0; the connection stays usable for tcp_write.", []string{abi.ImportTCPConnect, abi.ImportTCPRead, abi.ImportTCPWrite, abi.ImportTCPClose}, true, false, tcpTimeoutCase},
}, fluidCases...)

// request is one request of a case.
type request struct {
	method string
	path   string   // with the query
	header []string // name, value pairs; a name may repeat
	body   io.Reader
}

// response is a response read whole.
type response struct {
	*http.Response
	body    []byte
	elapsed time.Duration // until the whole body was read
}

// send sends req and reads the response; a transport error is a failure
// of the case, and nil is returned.
func (s *suite) send(r *report, req request) *response {
	resp, begin := s.open(r, req)
	if resp == nil {
		return nil
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		r.errorf("%s %s: reading the body: %v", req.method, req.path, err)
		return nil
	}
	return &response{Response: resp, body: body, elapsed: time.Since(begin)}
}

// open sends req and returns the response with its body unread.
func (s *suite) open(r *report, req request) (*http.Response, time.Time) {
	if req.method == "" {
		req.method = http.MethodGet
	}
	hreq, err := http.NewRequest(req.method, s.base+req.path, req.body)
	if err != nil {
		r.errorf("%s %s: %v", req.method, req.path, err)
		return nil, time.Time{}
	}
	for i := 0; i+1 < len(req.header); i += 2 {
		hreq.Header.Add(req.header[i], req.header[i+1])
	}
	begin := time.Now()
	resp, err := s.client.Do(hreq)
	if err != nil {
		r.errorf("%s %s: %v", req.method, req.path, err)
		return nil, time.Time{}
	}
	if id := resp.Header.Get(headerRequestID); id != "" {
		r.ids = append(r.ids, id)
	}
	return resp, begin
}

func (s *suite) get(r *report, path string, header ...string) *response {
	return s.send(r, request{path: path, header: header})
}

// what names a response in a failure.
func what(resp *response) string {
	return resp.Request.Method + " " + resp.Request.URL.RequestURI()
}

// wantStatus checks the status; on a mismatch it also shows the body,
// which often says why.
func wantStatus(r *report, resp *response, status int) bool {
	if resp.StatusCode == status {
		return true
	}
	msg := fmt.Sprintf("%s: status %d, want %d", what(resp), resp.StatusCode, status)
	if e := resp.Header.Get(headerError); e != "" {
		msg += " (" + headerError + ": " + e + ")"
	}
	if len(resp.body) > 0 {
		msg += "; body " + clip(resp.body)
	}
	r.errorf("%s", msg)
	return false
}

func wantHeader(r *report, resp *response, name, want string) bool {
	got, ok := resp.Header[http.CanonicalHeaderKey(name)]
	if !ok {
		r.errorf("%s: no %s header, want %q", what(resp), name, want)
		return false
	}
	if len(got) != 1 || got[0] != want {
		r.errorf("%s: %s = %q, want %q", what(resp), name, got, want)
		return false
	}
	return true
}

func wantBody(r *report, resp *response, want string) bool {
	if string(resp.body) != want {
		r.errorf("%s: body %s, want %s", what(resp), clip(resp.body), clip([]byte(want)))
		return false
	}
	return true
}

// wantChecks checks the guest's reports, x-wfn-check-NAME, in a header
// or a body line.
func wantChecks(r *report, resp *response, want ...string) bool {
	ok := true
	for i := 0; i+1 < len(want); i += 2 {
		name, result := want[i], want[i+1]
		key := "x-wfn-check-" + name
		got, found := resp.Header.Get(key), resp.Header.Get(key) != ""
		if !found {
			for line := range strings.SplitSeq(string(resp.body), "\n") {
				if v, cut := strings.CutPrefix(line, key+": "); cut {
					got, found = v, true
				}
			}
		}
		switch {
		case !found:
			r.errorf("%s: the guest did not report check %q (want %s)", what(resp), name, result)
			ok = false
		case got != result:
			r.errorf("%s: check %q: the guest saw %s, want %s", what(resp), name, got, result)
			ok = false
		}
	}
	return ok
}

// waitLog waits for log lines with message msg, each with the request
// id of resp.
func (s *suite) waitLog(r *report, resp *response, msgs ...string) []logLine {
	id := resp.Header.Get(headerRequestID)
	deadline := time.Now().Add(s.opts.timeout)
	var found []logLine
	for _, msg := range msgs {
		for {
			lines := s.logs.lines(msg)
			if len(lines) > 0 {
				if lines[0].ID != id {
					r.errorf("log line %q: request id %q, want %q (the response's %s)", msg, lines[0].ID, id, headerRequestID)
				}
				found = append(found, lines[0])
				break
			}
			if time.Now().After(deadline) {
				r.errorf("no log line %q within %s", msg, s.opts.timeout)
				return nil
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	return found
}

func clip(b []byte) string {
	if len(b) > 200 {
		return strconv.Quote(string(b[:200])) + fmt.Sprintf("... (%d bytes)", len(b))
	}
	return strconv.Quote(string(b))
}

var allMethods = append(slices.Clone(abi.Methods), "PURGE")

func dispatchCase(s *suite, r *report) {
	if !s.hasAll {
		r.skip = "the guest has no method export"
		return
	}
	for _, m := range allMethods {
		exported := slices.Contains(s.methods, m)
		want := abi.ExportHandle
		if exported {
			want = m
		}
		if resp := s.send(r, request{method: m, path: "/api/dispatch"}); resp != nil && wantStatus(r, resp, 200) {
			wantHeader(r, resp, "x-wfn-export", want)
		}
		resp := s.send(r, request{method: m, path: "/api/methods/dispatch"})
		if resp == nil {
			continue
		}
		if exported {
			if wantStatus(r, resp, 200) {
				wantHeader(r, resp, "x-wfn-export", m)
			}
			continue
		}
		fromGET := m == http.MethodHead && slices.Contains(s.methods, http.MethodGet)
		if fromGET {
			if wantStatus(r, resp, 200) {
				wantHeader(r, resp, "x-wfn-export", http.MethodGet)
			}
			continue
		}
		if wantStatus(r, resp, 405) {
			wantHeader(r, resp, "allow", strings.Join(allowed(s.methods), ", "))
			wantHeader(r, resp, headerError, codeNotAllowed)
		}
	}
}

// allowed is the Allow header of a guest with these method exports and no
// wfn_handle: HEAD follows GET when only GET is exported.
func allowed(methods []string) []string {
	i := slices.Index(methods, http.MethodGet)
	if i < 0 || slices.Contains(methods, http.MethodHead) {
		return methods
	}
	return slices.Insert(slices.Clone(methods), i+1, http.MethodHead)
}

func emptyCase(s *suite, r *report) {
	resp := s.get(r, "/api/empty")
	if resp == nil || !wantStatus(r, resp, 200) {
		return
	}
	wantBody(r, resp, "")
	if resp.ContentLength != 0 {
		r.errorf("Content-Length %d, want 0", resp.ContentLength)
	}
}

func methodCase(s *suite, r *report) {
	for _, m := range allMethods {
		resp := s.send(r, request{method: m, path: "/api/method"})
		if resp != nil && wantStatus(r, resp, 200) {
			wantHeader(r, resp, "x-wfn-method", m)
		}
	}
}

func urlCase(s *suite, r *report) {
	path := "/api/url?a=1&b=x%20y&c=%C3%A9&a=2"
	if resp := s.get(r, path); resp != nil && wantStatus(r, resp, 200) {
		wantBody(r, resp, s.base+path+"&case=url")
	}
}

func headersCase(s *suite, r *report) {
	hdr := []string{"X-Multi", "a", "X-Multi", "b, c", "X-Mixed-Case", "Value"}
	for i := range 40 {
		hdr = append(hdr, fmt.Sprintf("X-Filler-%02d", i), strconv.Itoa(i))
	}
	resp := s.get(r, "/api/headers", hdr...)
	if resp == nil || !wantStatus(r, resp, 200) {
		return
	}
	wantHeader(r, resp, "x-wfn-lookup", "a,b, c")
	wantChecks(r, resp, "absent", "ENOTFOUND")
	lines := strings.Split(strings.TrimSuffix(string(resp.body), "\n"), "\n")
	seen := map[string]int{}
	var prev string
	for _, line := range lines {
		name, _, ok := strings.Cut(line, ": ")
		if !ok {
			r.errorf("body line %q is not \"name: value\"", line)
			continue
		}
		if name != strings.ToLower(name) {
			r.errorf("header name %q is not lower-case", name)
		}
		if name != prev {
			seen[name]++
			if seen[name] == 2 {
				r.errorf("header name %q listed twice by request_header_names", name)
			}
		}
		prev = name
	}
	want := []string{"host: " + s.addr, "x-multi: a", "x-multi: b, c", "x-mixed-case: Value"}
	for i := range 40 {
		want = append(want, fmt.Sprintf("x-filler-%02d: %d", i, i))
	}
	for _, w := range want {
		if !slices.Contains(lines, w) {
			r.errorf("no body line %q: the guest did not see it", w)
		}
	}
	if a, b := slices.Index(lines, "x-multi: a"), slices.Index(lines, "x-multi: b, c"); a >= 0 && b >= 0 && b != a+1 {
		r.errorf("the values of x-multi are not given in order: lines %d and %d", a, b)
	}
}

func paramsCase(s *suite, r *report) {
	resp := s.get(r, "/api/caf%C3%A9%20%2F%20x%3Fy")
	if resp == nil || !wantStatus(r, resp, 404) {
		return
	}
	if e := resp.Header.Get(headerError); e != "" {
		r.errorf("the host answered (%s: %s), not the guest", headerError, e)
		return
	}
	wantBody(r, resp, "café / x?y")
}

// pattern returns n bytes of printable text that is not periodic in a
// power of two.
func pattern(n int) string {
	const alphabet = "abcdefghijklmnopqrstuvwxyz0123456789-_."
	b := make([]byte, n)
	for i := range b {
		b[i] = alphabet[(i*7+i/len(alphabet))%len(alphabet)]
	}
	return string(b)
}

func bufferCase(s *suite, r *report) {
	long := pattern(12 << 10)
	path := "/api/buffer?q=" + pattern(3<<10)
	if resp := s.get(r, path, "X-Long", long); resp != nil && wantStatus(r, resp, 200) {
		wantBody(r, resp, s.base+path+"&case=buffer\n"+long)
	}
}

// slowReader is an io.Reader of unknown length, so that the body is sent
// chunked, in pieces.
type slowReader struct {
	data []byte
}

func (sr *slowReader) Read(p []byte) (int, error) {
	if len(sr.data) == 0 {
		return 0, io.EOF
	}
	n := copy(p[:min(len(p), 16<<10)], sr.data)
	sr.data = sr.data[n:]
	return n, nil
}

func bodyCase(s *suite, r *report) {
	data := []byte(pattern(1<<20 + 7))
	resp := s.send(r, request{method: "POST", path: "/api/body", body: &slowReader{data}})
	if resp == nil || !wantStatus(r, resp, 200) {
		return
	}
	if resp.Request.ContentLength > 0 || slices.Contains(resp.Request.TransferEncoding, "identity") {
		r.errorf("the suite's body was not sent chunked")
	}
	wantChecks(r, resp, "read", "ok")
	sum := sha256.Sum256(data)
	wantHeader(r, resp, "x-wfn-body-length", strconv.Itoa(len(data)))
	wantHeader(r, resp, "x-wfn-body-sha256", hex.EncodeToString(sum[:]))
	if n, err := strconv.Atoi(resp.Header.Get("x-wfn-body-reads")); err != nil || n < (len(data)+999)/1000 {
		r.errorf("x-wfn-body-reads = %q, want at least %d reads of at most 1000 bytes", resp.Header.Get("x-wfn-body-reads"), (len(data)+999)/1000)
	}
}

func statusCase(s *suite, r *report) {
	resp := s.get(r, "/api/status")
	if resp == nil || !wantStatus(r, resp, 201) {
		return
	}
	wantChecks(r, resp, "status-99", "EINVAL", "status-1000", "EINVAL", "status-201", "ok", "status-after-write", "ECLOSED")
	if !bytes.HasPrefix(resp.body, []byte("created\n")) {
		r.errorf("body %s does not start with \"created\\n\"", clip(resp.body))
	}
}

func status1xxCase(s *suite, r *report) {
	if resp := s.get(r, "/api/status-1xx"); resp != nil && wantStatus(r, resp, 502) {
		wantHeader(r, resp, headerError, codeNoResponse)
	}
}

func headersOutCase(s *suite, r *report) {
	resp := s.get(r, "/api/headers-out")
	if resp == nil || !wantStatus(r, resp, 200) {
		return
	}
	wantChecks(r, resp,
		"set", "ok", "add", "ok", "delete", "ok", "tab", "ok",
		"bad-name-space", "EINVAL", "bad-name-colon", "EINVAL", "bad-name-empty", "EINVAL",
		"bad-value-crlf", "EINVAL", "bad-value-nul", "EINVAL", "bad-value-ctl", "EINVAL",
		"bad-delete", "EINVAL",
		"set-after-write", "ECLOSED", "add-after-write", "ECLOSED", "delete-after-write", "ECLOSED")
	wantHeader(r, resp, "x-set", "two")
	if got := resp.Header.Values("x-add"); !slices.Equal(got, []string{"a", "b"}) {
		r.errorf("x-add = %q, want [a b]", got)
	}
	wantHeader(r, resp, "x-tab", "a\tb")
	for _, name := range []string{"x-del", "x-bad", "x-injected", "x-late", "bad name", "bad:name"} {
		if v, ok := resp.Header[http.CanonicalHeaderKey(name)]; ok {
			r.errorf("header %s = %q, want none", name, v)
		}
	}
}

func bufferedCase(s *suite, r *report) {
	resp := s.get(r, "/api/buffered")
	if resp == nil || !wantStatus(r, resp, 200) {
		return
	}
	wantBody(r, resp, "hello, buffered world")
	if resp.ContentLength != 21 || len(resp.TransferEncoding) > 0 {
		r.errorf("Content-Length %d, Transfer-Encoding %q: want 21 and none (a buffered response)", resp.ContentLength, resp.TransferEncoding)
	}
	wantHeader(r, resp, "content-type", "text/plain; charset=utf-8")
}

func streamCase(s *suite, r *report) {
	hresp, begin := s.open(r, request{path: "/api/stream"})
	if hresp == nil {
		return
	}
	defer hresp.Body.Close()
	head := time.Since(begin)
	resp := &response{Response: hresp}
	if !wantStatus(r, resp, 200) {
		return
	}
	if !slices.Equal(hresp.TransferEncoding, []string{"chunked"}) || hresp.ContentLength != -1 {
		r.errorf("Transfer-Encoding %q, Content-Length %d: want chunked, none (a flushed response streams)", hresp.TransferEncoding, hresp.ContentLength)
	}
	br := bufio.NewReader(hresp.Body)
	first, err := br.ReadString('\n')
	firstAt := time.Since(begin)
	if err != nil || first != "first\n" {
		r.errorf("first line %q, %v; want \"first\\n\"", first, err)
		return
	}
	rest, err := io.ReadAll(br)
	all := time.Since(begin)
	if err != nil || string(rest) != "second\n" {
		r.errorf("rest of the body %q, %v; want \"second\\n\"", rest, err)
	}
	// The guest sleeps 1.5 s between the flush and its second write.
	if head > time.Second || firstAt > time.Second {
		r.errorf("the head came after %s and the flushed line after %s, want both at once (the guest then sleeps 1.5 s)", head.Round(time.Millisecond), firstAt.Round(time.Millisecond))
	}
	if all < 1400*time.Millisecond {
		r.errorf("the whole body came after %s; the guest sleeps 1.5 s before its second write", all.Round(time.Millisecond))
	}
}

func closeCase(s *suite, r *report) {
	token := s.token + "-close"
	resp := s.get(r, "/api/close?token="+token)
	if resp == nil || !wantStatus(r, resp, 200) || !wantBody(r, resp, "closed") {
		return
	}
	if resp.ContentLength != 6 {
		r.errorf("Content-Length %d, want 6 (closed before any flush: buffered)", resp.ContentLength)
	}
	// The guest sleeps 2 s after response_close.
	if resp.elapsed > 1500*time.Millisecond {
		r.errorf("the response took %s: it was not complete at response_close (the handler sleeps 2 s after it)", resp.elapsed.Round(time.Millisecond))
	}
	s.waitLog(r, resp, "wfn-conformance close "+token+" write=ECLOSED close=ECLOSED")
}

func abortCase(s *suite, r *report) {
	if resp := s.get(r, "/api/abort"); resp != nil && wantStatus(r, resp, 200) {
		wantHeader(r, resp, "x-wfn-abort-signaled", "0")
	}
}

func deadlineCase(s *suite, r *report) {
	resp := s.get(r, "/api/deadline")
	if resp == nil || !wantStatus(r, resp, 200) {
		return
	}
	v := resp.Header.Get("x-wfn-deadline-ms")
	ms, err := strconv.ParseInt(v, 10, 64)
	if err != nil || ms <= 0 || ms > maxDuration.Milliseconds() {
		r.errorf("x-wfn-deadline-ms = %q, want above 0 and at most %d (maxDuration)", v, maxDuration.Milliseconds())
	}
}

func waitUntilCase(s *suite, r *report) {
	token := s.token + "-wait"
	resp := s.get(r, "/api/wait-until?token="+token)
	if resp == nil || !wantStatus(r, resp, 200) || !wantChecks(r, resp, "wait-until", "ok") {
		return
	}
	task, nested := "wfn-conformance wait-until "+token, "wfn-conformance wait-until-nested "+token
	if len(s.logs.lines(task)) > 0 {
		r.errorf("the task ran before the response was complete (it sleeps 500 ms first)")
	}
	s.waitLog(r, resp, task, nested)
}

func logCase(s *suite, r *report) {
	token := s.token + "-log"
	resp := s.get(r, "/api/log?token="+token)
	if resp == nil || !wantStatus(r, resp, 200) || !wantChecks(r, resp, "log", "ok") {
		return
	}
	lines := s.waitLog(r, resp, "wfn-conformance stdout "+token, "wfn-conformance stderr "+token)
	// A version 2 guest writes its lines with the log import (SPEC-v2.md
	// section 10): stream "log".
	out, errs := "stdout", "stderr"
	if s.fluid {
		out, errs = "log", "log"
	}
	if len(lines) == 2 {
		if lines[0].Level != "INFO" || lines[0].Stream != out {
			r.errorf("stdout line at level %s, stream %q; want INFO, %s", lines[0].Level, lines[0].Stream, out)
		}
		if lines[1].Level != "WARN" || lines[1].Stream != errs {
			r.errorf("stderr line at level %s, stream %q; want WARN, %s", lines[1].Level, lines[1].Stream, errs)
		}
	}
}

func envCase(s *suite, r *report) {
	resp := s.get(r, "/api/env")
	if resp == nil || !wantStatus(r, resp, 200) {
		return
	}
	env := map[string]string{}
	for line := range strings.SplitSeq(string(resp.body), "\n") {
		if k, v, ok := strings.Cut(line, "="); ok {
			env[k] = v
		}
	}
	want := map[string]string{
		"VERCEL":                 "1",
		"VERCEL_ENV":             "development",
		"VERCEL_REGION":          region,
		"VERCEL_URL":             s.addr,
		"VERCEL_DEPLOYMENT_ID":   deploymentID,
		"WFN_CONFORMANCE_DOTENV": "dotenv",
		"WFN_CONFORMANCE_HOST":   "host",
		"WFN_CONFORMANCE_FN":     "fn",
		"WFN_CONFORMANCE_ORDER":  "fn",
	}
	for _, k := range slices.Sorted(maps.Keys(want)) {
		if got, ok := env[k]; !ok || got != want[k] {
			r.errorf("%s = %q (set: %v), want %q", k, got, ok, want[k])
		}
	}
	for _, k := range []string{"PATH", "HOME", "USER", "GOPATH", "GOROOT", "TMPDIR"} {
		if _, leaked := env[k]; leaked && os.Getenv(k) != "" {
			r.errorf("%s reached the guest: the host's own environment must not", k)
		}
	}
}

func ipAddressCase(s *suite, r *report) {
	for _, c := range []struct {
		header []string
		want   string
	}{
		{nil, "127.0.0.1"},
		{[]string{"X-Real-IP", "203.0.113.7"}, "203.0.113.7"},
		{[]string{"X-Forwarded-For", "2001:db8::1, 10.0.0.1"}, "2001:db8::1"},
	} {
		if resp := s.get(r, "/api/ip-address", c.header...); resp != nil && wantStatus(r, resp, 200) {
			if !wantHeader(r, resp, "x-wfn-ip", c.want) && len(c.header) > 0 {
				r.errorf("(sent by a trusted proxy: %s: %s)", c.header[0], c.header[1])
			}
		}
	}
}

func geolocationCase(s *suite, r *report) {
	for _, c := range []struct {
		header []string
		want   map[string]string
	}{
		{nil, map[string]string{"region": region}},
		{[]string{
			"X-Vercel-IP-City", "S%C3%A3o%20Paulo",
			"X-Vercel-IP-Country", "BR",
			"X-Vercel-IP-Country-Region", "SP",
			"X-Vercel-IP-Latitude", "-23.5475",
			"X-Vercel-IP-Longitude", "-46.63611",
			"X-Vercel-IP-Postal-Code", "01000-000",
			"X-Vercel-Id", "gru1::abcde-1234",
		}, map[string]string{
			"city": "São Paulo", "country": "BR", "flag": "🇧🇷", "countryRegion": "SP",
			"region": "gru1", "latitude": "-23.5475", "longitude": "-46.63611", "postalCode": "01000-000",
		}},
	} {
		resp := s.get(r, "/api/geolocation", c.header...)
		if resp == nil || !wantStatus(r, resp, 200) {
			continue
		}
		var raw map[string]any
		if err := json.Unmarshal(resp.body, &raw); err != nil {
			r.errorf("body %s is not a JSON object: %v", clip(resp.body), err)
			continue
		}
		got := map[string]string{}
		for k, v := range raw {
			str, ok := v.(string)
			if !ok {
				r.errorf("geolocation field %q is %T, want a string", k, v)
			}
			got[k] = str
		}
		if !maps.Equal(got, c.want) {
			r.errorf("geolocation %s, want %v", resp.body, c.want)
		}
	}
}

// backendBody is what the fetch case's backend answers, after "pong\n".
var backendBody = pattern(64 << 10)

// backend serves the fetch case: it checks what the guest sent and
// answers 201 with two X-Backend values.
func backend(w http.ResponseWriter, req *http.Request) {
	if req.URL.Path == "/slow" {
		slowBackend(w, req)
		return
	}
	body, _ := io.ReadAll(req.Body)
	var bad []string
	if req.Method != "POST" {
		bad = append(bad, "method "+req.Method+", want POST")
	}
	if v := req.Header.Values("X-Conformance"); !slices.Equal(v, []string{"yes"}) {
		bad = append(bad, fmt.Sprintf("X-Conformance %q, want [yes]", v))
	}
	if string(body) != "ping" {
		bad = append(bad, fmt.Sprintf("body %q, want \"ping\"", body))
	}
	if len(bad) > 0 {
		http.Error(w, "the backend saw: "+strings.Join(bad, "; "), http.StatusBadRequest)
		return
	}
	w.Header().Add("X-Backend", "one")
	w.Header().Add("X-Backend", "two")
	w.Header().Set("Content-Type", "text/plain")
	w.WriteHeader(http.StatusCreated)
	io.WriteString(w, "pong\n"+backendBody)
}

func fetchCase(s *suite, r *report) {
	resp := s.get(r, "/api/fetch?url="+s.backend.URL+"/echo")
	if resp == nil || !wantStatus(r, resp, 200) {
		return
	}
	if !wantChecks(r, resp, "fetch", "ok") {
		return
	}
	if !wantHeader(r, resp, "x-wfn-fetch-status", "201") {
		r.errorf("the backend's body: %s", clip(resp.body))
		return
	}
	wantHeader(r, resp, "x-wfn-fetch-header", "one,two")
	names := strings.Split(resp.Header.Get("x-wfn-fetch-names"), ",")
	for _, n := range names {
		if n != strings.ToLower(n) {
			r.errorf("x-wfn-fetch-names: %q is not lower-case", n)
		}
	}
	for _, n := range []string{"x-backend", "content-type"} {
		if c := slices.Index(names, n); c < 0 || slices.Index(names[c+1:], n) >= 0 {
			r.errorf("x-wfn-fetch-names = %q, want %q once", resp.Header.Get("x-wfn-fetch-names"), n)
		}
	}
	wantBody(r, resp, "pong\n"+backendBody)
}

func fetchDeniedCase(s *suite, r *report) {
	before := s.dials.Load()
	resp := s.get(r, "/api/fetch-denied?url=http://"+s.denied.Addr().String()+"/")
	if resp == nil || !wantStatus(r, resp, 200) {
		return
	}
	wantChecks(r, resp, "denied", "EDENIED", "denied-metadata", "EDENIED")
	if n := s.dials.Load() - before; n > 0 {
		r.errorf("the denied address got %d connections, want none", n)
	}
}

func clockCase(s *suite, r *report) {
	resp := s.get(r, "/api/clock")
	if resp == nil || !wantStatus(r, resp, 200) {
		return
	}
	now := time.Now()
	wall, err := strconv.ParseInt(resp.Header.Get("x-wfn-wall-ms"), 10, 64)
	if d := now.Sub(time.UnixMilli(wall)); err != nil || d < -10*time.Second || d > 10*time.Second+resp.elapsed {
		r.errorf("x-wfn-wall-ms = %q, want the wall clock (now %d)", resp.Header.Get("x-wfn-wall-ms"), now.UnixMilli())
	}
	slept, err := strconv.ParseInt(resp.Header.Get("x-wfn-sleep-ms"), 10, 64)
	if err != nil || slept < 50 || slept > 10_000 {
		r.errorf("x-wfn-sleep-ms = %q, want at least 50 (a 50 ms sleep on the monotonic clock)", resp.Header.Get("x-wfn-sleep-ms"))
	}
}

func randomCase(s *suite, r *report) {
	var seen []string
	for range 2 {
		resp := s.get(r, "/api/random")
		if resp == nil || !wantStatus(r, resp, 200) {
			return
		}
		v := resp.Header.Get("x-wfn-random")
		b, err := hex.DecodeString(v)
		if err != nil || len(b) != 32 {
			r.errorf("x-wfn-random = %q, want 32 bytes in hex", v)
			return
		}
		if bytes.Equal(b, make([]byte, 32)) {
			r.errorf("random_get gave zeros")
		}
		seen = append(seen, v)
	}
	if seen[0] == seen[1] {
		r.errorf("random_get gave the same 32 bytes twice: %s", seen[0])
	}
}

// notImplemented reports whether the guest answered an optional case as
// an unknown one (404 with the case's name as the body), and skips the
// case then.
func notImplemented(r *report, resp *response, name string) bool {
	if resp.StatusCode != http.StatusNotFound || string(resp.body) != name {
		return false
	}
	r.skip = "the guest does not implement this optional case (its SDK may not offer " + name + "'s API)"
	return true
}

func cacheCase(s *suite, r *report) {
	key, tag, value := "conformance-"+s.token+"-"+randomHex(4), "tag-"+randomHex(4), "value "+randomHex(4)
	q := "?key=" + key + "&tag=" + tag + "&value=" + strings.ReplaceAll(value, " ", "%20")
	resp := s.get(r, "/api/cache"+q)
	if resp == nil || notImplemented(r, resp, "cache") || !wantStatus(r, resp, 200) {
		return
	}
	wantChecks(r, resp, "miss", "ENOTFOUND", "set", "ok", "delete", "ok", "deleted", "ENOTFOUND",
		"set-tagged", "ok", "expire-tag", "ok", "expired", "ENOTFOUND", "bad-ttl", "EINVAL", "bad-tag", "EINVAL", "keep", "ok")
	wantHeader(r, resp, "x-wfn-cache-get", value)
	// The store is shared: the next invocation reads what this one kept,
	// and not what it deleted.
	if resp := s.get(r, "/api/cache?read=1&key="+key+"-kept"); resp != nil && wantStatus(r, resp, 200) {
		wantHeader(r, resp, "x-wfn-cache-get", value)
	}
	if resp := s.get(r, "/api/cache?read=1&key="+key); resp != nil && wantStatus(r, resp, 200) {
		wantHeader(r, resp, "x-wfn-cache-get", "ENOTFOUND")
	}
}

func cdnCase(s *suite, r *report) {
	resp := s.get(r, "/api/cdn?tag=tag-"+randomHex(4)+"&src=/conformance/"+randomHex(4)+".png")
	if resp == nil || notImplemented(r, resp, "cdn") || !wantStatus(r, resp, 200) {
		return
	}
	wantChecks(r, resp, "add-tag", "ok", "add-tag-empty", "EINVAL", "invalidate-tag", "ok", "delete-tag", "ok",
		"delete-tag-negative", "EINVAL", "invalidate-src", "ok", "invalidate-src-empty", "EINVAL", "delete-src", "ok")
}

// slowBackend answers after a second: the fetch-wait case's backend.
func slowBackend(w http.ResponseWriter, req *http.Request) {
	select {
	case <-time.After(time.Second):
	case <-req.Context().Done():
		return
	}
	io.WriteString(w, "slow\n")
}

func fetchWaitCase(s *suite, r *report) {
	resp := s.get(r, "/api/fetch-wait?url="+s.backend.URL+"/slow")
	if resp == nil || notImplemented(r, resp, "fetch-wait") || !wantStatus(r, resp, 200) {
		return
	}
	wantHeader(r, resp, "x-wfn-wait-now", "0")
	wantHeader(r, resp, "x-wfn-wait", "1")
	wantHeader(r, resp, "x-wfn-fetch-status", "200")
}

var tcpImports = []string{abi.ImportTCPConnect, abi.ImportTCPWrite, abi.ImportTCPCloseWrite, abi.ImportTCPRead,
	abi.ImportTCPRemoteAddress, abi.ImportTCPClose}

// tcpMessage is what the tcp case's guest sends; the echo server answers
// "echo: " and it.
const tcpMessage = "ping from a wfn guest"

func tcpCase(s *suite, r *report) {
	resp := s.get(r, "/api/tcp?addr="+s.echo.Addr().String()+"&refused="+s.refused)
	if resp == nil || notImplemented(r, resp, "tcp") || !wantStatus(r, resp, 200) {
		return
	}
	wantChecks(r, resp, "connect", "ok", "write", "ok", "close-write", "ok", "close-write-again", "ECLOSED",
		"write-closed", "ECLOSED", "read-end", "ok", "close", "ok", "close-again", "EBADHANDLE",
		"read-closed", "EBADHANDLE", "bad-flag", "EINVAL", "bad-addr", "EINVAL", "refused", "ECONNREFUSED")
	wantHeader(r, resp, "x-wfn-tcp-remote", s.echo.Addr().String())
	wantHeader(r, resp, "x-wfn-tcp-read", "echo: "+tcpMessage)
}

func tcpDeniedCase(s *suite, r *report) {
	before := s.dials.Load()
	resp := s.get(r, "/api/tcp-denied?addr="+s.denied.Addr().String())
	if resp == nil || notImplemented(r, resp, "tcp-denied") || !wantStatus(r, resp, 200) {
		return
	}
	wantChecks(r, resp, "denied", "EDENIED", "denied-metadata", "EDENIED")
	if n := s.dials.Load() - before; n > 0 {
		r.errorf("the denied address got %d connections, want none", n)
	}
}

func tcpTimeoutCase(s *suite, r *report) {
	resp := s.get(r, "/api/tcp-timeout?addr="+s.silent.Addr().String())
	if resp == nil || notImplemented(r, resp, "tcp-timeout") || !wantStatus(r, resp, 200) {
		return
	}
	wantChecks(r, resp, "connect", "ok", "read-timeout", "ETIMEDOUT", "read-now", "ETIMEDOUT", "write-after-timeout", "ok", "close", "ok")
	ms, err := strconv.ParseInt(resp.Header.Get("x-wfn-tcp-waited-ms"), 10, 64)
	if err != nil || ms < 100 || ms > 10_000 {
		r.errorf("x-wfn-tcp-waited-ms = %q, want at least the read's timeout of 100 ms", resp.Header.Get("x-wfn-tcp-waited-ms"))
	}
}
