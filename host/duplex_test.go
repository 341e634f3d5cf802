package host_test

import (
	"bufio"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/wfn-dev/wfn/host"
)

// A request body that nothing reads (a function that ignores it, a
// static file, a 404) does not cost the client its keep-alive connection:
// net/http's HTTP/1 server, serving full duplex as the host asks it to,
// panicked reading the next request on that connection (golang/go#68560),
// logged "http: panic serving" and closed it.
func TestUnreadBodyKeepsTheConnection(t *testing.T) {
	dir := watDir(t, "hello")
	mustCopy(t, "../testdata/wat/hello.wat", dir+"/public/a.txt")
	h, handler, _, err := newHost(host.Config{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer closeHost(h)
	var errorLog syncBuffer
	srv := httptest.NewUnstartedServer(handler)
	srv.Config.ErrorLog = log.New(&errorLog, "", 0)
	srv.Start()
	defer srv.Close()
	for _, path := range []string{"/api/hello", "/a.txt", "/nothing"} {
		for _, body := range []string{
			"Content-Length: 19\r\n\r\na body no one reads",
			"Transfer-Encoding: chunked\r\n\r\n13\r\na body no one reads\r\n0\r\n\r\n",
		} {
			conn, err := net.Dial("tcp", srv.Listener.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			br := bufio.NewReader(conn)
			for i := 1; i <= 3; i++ {
				if _, err := io.WriteString(conn, "POST "+path+" HTTP/1.1\r\nHost: wfn\r\n"+body); err != nil {
					t.Fatalf("POST %s #%d on one connection: %v", path, i, err)
				}
				resp, err := http.ReadResponse(br, nil)
				if err != nil {
					t.Fatalf("POST %s #%d on one connection (%s): %v\nserver's error log:\n%s", path, i, strings.SplitN(body, ":", 2)[0], err, &errorLog)
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.Close {
					t.Fatalf("POST %s #%d: Connection: close", path, i)
				}
			}
			conn.Close()
		}
	}
	if strings.Contains(errorLog.String(), "panic") {
		t.Errorf("the server's error log:\n%s", &errorLog)
	}
}
