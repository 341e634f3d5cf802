package host_test

import (
	"bytes"
	"encoding/json"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"strings"
	"testing"

	"github.com/wfn-dev/wfn/host"
)

// Blob, File and FormData in the JavaScript runtime
// (testdata/js/api/web/form.ts, upload.ts): as Response, Request and fetch
// bodies, and read back with formData() and blob().

func TestJSFormData(t *testing.T) {
	_, srv, _ := serve(t, host.Config{Dir: "../testdata/js"})
	url := srv.URL + "/api/web/form"

	r := get(t, url)
	want := `{"blob":{"size":12,"type":"text/plain","text":"héllo world","tag":"[object Blob]"},` +
		`"sliced":{"size":4,"type":"x/y","text":"worl"},"bytes":[119,111,114,108],"stream":"héllo world",` +
		`"file":{"name":"greeting.txt","type":"text/plain","size":12,"lastModified":42,"isBlob":true},` +
		`"form":{"get":"c","getAll":["c"],"has":[true,false],"keys":["name","tag","upload","raw","anonymous"],"anonymous":"blob","missing":null},` +
		`"multipart":true,` +
		`"back":[["name","Ada\r\nLovelace"],["tag","c"],["upload",{"file":"greeting.txt","type":"text/plain","size":12,"text":"héllo world"}],` +
		`["raw",{"file":"raw.bin","type":"application/octet-stream","size":4,"text":"\u0000\u0001\u0002�"}],` +
		`["anonymous",{"file":"blob","type":"application/octet-stream","size":1,"text":"x"}]],` +
		`"urlencoded":[["a","1"],["b","é"],["a","2"]],` +
		`"fromBlob":["application/json","{\"ok\":true}"],"blobBack":["text/x-note","as a blob"],"errors":["TypeError","TypeError"]}`
	if r.status != 200 || r.body != want {
		t.Errorf("GET = %d\n%s\nwant\n%s", r.status, r.body, want)
	}

	// A multipart body written by Go's mime/multipart, read by
	// request.formData().
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	mw.WriteField("greeting", "hello wörld")
	fw, _ := mw.CreateFormFile("doc", "notes.md")
	io.WriteString(fw, "# notes\r\n--not a boundary\r\n")
	mw.WriteField("greeting", "again")
	mw.Close()
	r = do(t, "POST", url, &body, "Content-Type", mw.FormDataContentType())
	want = `[["greeting","hello wörld"],["doc",{"file":"notes.md","type":"application/octet-stream","size":27,"text":"# notes\r\n--not a boundary\r\n"}],["greeting","again"]]`
	if r.status != 200 || r.body != want {
		t.Errorf("POST multipart = %d %s\nwant %s", r.status, r.body, want)
	}

	r = do(t, "POST", url, strings.NewReader("a=1&b=x+y&a=%E2%9C%93"), "Content-Type", "application/x-www-form-urlencoded")
	if want := `[["a","1"],["b","x y"],["a","✓"]]`; r.status != 200 || r.body != want {
		t.Errorf("POST urlencoded = %d %s, want %s", r.status, r.body, want)
	}

	// Bad input: another type, a body cut short, no boundary.
	for _, c := range []struct{ ctype, body string }{
		{"application/json", `{"a":1}`},
		{"multipart/form-data; boundary=xyz", "--xyz\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nno end"},
		{"multipart/form-data; boundary=xyz", "not multipart"},
		{"multipart/form-data", "--xyz--"},
	} {
		r := do(t, "POST", url, strings.NewReader(c.body), "Content-Type", c.ctype)
		if r.status != 400 || r.body != `{"error":"TypeError"}` {
			t.Errorf("POST %s %q = %d %s, want 400 TypeError", c.ctype, c.body, r.status, r.body)
		}
	}
}

// TestJSFetchBodies: fetch sends a FormData as multipart/form-data (read
// here by Go's parser), a Blob with its type, URLSearchParams urlencoded;
// redirect: "manual" and "error" reject with a TypeError that says they are
// not supported.
func TestJSFetchBodies(t *testing.T) {
	_, srv, _ := serve(t, host.Config{Dir: "../testdata/js"})
	up := upstream(t, func(w http.ResponseWriter, r *http.Request) {
		ctype := r.Header.Get("Content-Type")
		media, params, _ := mime.ParseMediaType(ctype)
		if media != "multipart/form-data" {
			b, _ := io.ReadAll(r.Body)
			io.WriteString(w, ctype+" "+string(b))
			return
		}
		mr := multipart.NewReader(r.Body, params["boundary"])
		var parts []string
		for {
			p, err := mr.NextPart()
			if err == io.EOF {
				break
			}
			if err != nil {
				http.Error(w, err.Error(), 400)
				return
			}
			b, _ := io.ReadAll(p)
			parts = append(parts, p.FormName()+"|"+p.FileName()+"|"+p.Header.Get("Content-Type")+"|"+string(b))
		}
		b, _ := json.Marshal(parts)
		w.Write(b)
	})
	r := get(t, srv.URL+"/api/web/upload?up="+up)
	lines := strings.Split(r.body, "\n")
	want := []string{
		// The HTML standard escapes " in a filename as %22 (Go's
		// parser does not undo it).
		`["field|||value \"quoted\"","file|a %22b%22.txt|text/plain|file body\r\n"]`,
		"application/x-blob blob body",
		"application/x-www-form-urlencoded;charset=UTF-8 k=v+w",
		`manual: TypeError: fetch: redirect: "manual" is not supported yet: the host follows redirects itself (only "follow" is supported)`,
		`error: TypeError: fetch: redirect: "error" is not supported yet: the host follows redirects itself (only "follow" is supported)`,
		"request: manual follow",
	}
	if r.status != 200 || len(lines) != len(want) {
		t.Fatalf("GET = %d %q", r.status, r.body)
	}
	for i := range want {
		if lines[i] != want[i] {
			t.Errorf("line %d = %q, want %q", i, lines[i], want[i])
		}
	}
}
