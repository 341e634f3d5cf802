// Package static serves a Vercel project's static files: public/ when the
// project has one, else the project's root outside api/, as Vercel does
// for projects without a framework
// (https://vercel.com/docs/builds/configure-a-build#output-directory).
//
// It answers GET and HEAD with a content type by extension, a weak ETag
// and Last-Modified (304 on If-None-Match and If-Modified-Since), Range
// requests (206, RFC 9110 section 14), Vercel's default Cache-Control for
// static files, and gzip or zstd by Accept-Encoding (klauspost/compress's
// gzhttp, with Vary: Accept-Encoding).
package static

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/textproto"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/klauspost/compress/gzhttp"
)

// CacheControl is the Cache-Control Vercel sends with a static file
// (https://vercel.com/docs/caching/cache-control-headers).
const CacheControl = "public, max-age=0, must-revalidate"

// Files serves the static files of one project. It is safe for
// concurrent use.
type Files struct {
	root      *os.Root
	public    bool // root is public/, where everything is served
	cleanURLs bool
	compress  func(http.Handler) http.HandlerFunc
	etags     sync.Map // name -> etag
}

type etag struct {
	size  int64
	mod   time.Time
	value string
}

// New returns the static files of the project in dir: public/, or the
// root without what is private there. cleanURLs serves /about from
// about.html. It fails when the directory cannot be opened.
func New(dir string, cleanURLs bool) (*Files, error) {
	f := &Files{cleanURLs: cleanURLs}
	base := filepath.Join(dir, "public")
	if st, err := os.Stat(base); err == nil && st.IsDir() {
		f.public = true
	} else {
		base = dir
	}
	root, err := os.OpenRoot(base)
	if err != nil {
		return nil, fmt.Errorf("wfn: cannot open static files: %w", err)
	}
	f.root = root
	wrap, err := gzhttp.NewWrapper(gzhttp.MinSize(1024))
	if err != nil {
		root.Close()
		return nil, fmt.Errorf("wfn: compression: %w", err)
	}
	f.compress = wrap
	return f, nil
}

// Close releases the directory.
func (f *Files) Close() error { return f.root.Close() }

// Digest writes to w a line for each file that may be served: its name,
// size and modification time, so that a changed file changes the digest
// without the files being read (as make and Go's build cache judge
// source files by their times). The host folds it into the deployment
// that scopes its CDN cache.
func (f *Files) Digest(w io.Writer) error {
	return fs.WalkDir(f.root.FS(), ".", func(name string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !f.servable(name) {
			if d.IsDir() {
				return fs.SkipDir
			}
			return nil
		}
		if !d.Type().IsRegular() {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(w, "%s\x00%d\x00%d\n", name, info.Size(), info.ModTime().UnixNano())
		return err
	})
}

// private are names in a project's root that are never served: the
// configuration, the functions, Go module files and what tools keep.
var private = map[string]bool{
	"api": true, "vercel.json": true, "wfn.json": true, "go.mod": true, "go.sum": true,
	"go.work": true, "go.work.sum": true, "node_modules": true, "package.json": true,
	"package-lock.json": true, "tsconfig.json": true,
}

// servable reports whether the slash-separated name may be served.
func (f *Files) servable(name string) bool {
	if name == "." {
		return true
	}
	parts := strings.Split(name, "/")
	for i, p := range parts {
		// Dotfiles (.env, .git, .wfn) never; .well-known is public by design.
		if strings.HasPrefix(p, ".") && !(i == 0 && p == ".well-known") {
			return false
		}
	}
	if f.public {
		return true
	}
	if private[parts[0]] {
		return false
	}
	// Source code of functions and their packages stays private.
	switch path.Ext(name) {
	case ".go", ".c", ".h", ".wasm":
		return false
	}
	return true
}

// Lookup returns the file that serves an escaped URL path: the file
// itself, index.html for a directory, or with cleanURLs name.html.
func (f *Files) Lookup(escapedPath string) (string, bool) {
	if f == nil {
		return "", false
	}
	p, err := url.PathUnescape(escapedPath)
	if err != nil || strings.ContainsRune(p, 0) || !strings.HasPrefix(p, "/") {
		return "", false
	}
	name := strings.TrimPrefix(path.Clean(p), "/")
	if name == "" {
		name = "."
	}
	if name != "." && strings.HasPrefix(name, "..") {
		return "", false
	}
	if !f.servable(name) {
		return "", false
	}
	if st, err := f.root.Stat(name); err == nil {
		if st.Mode().IsRegular() && !strings.HasSuffix(p, "/") {
			return name, true
		}
		if st.IsDir() {
			idx := path.Join(name, "index.html")
			if st, err := f.root.Stat(idx); err == nil && st.Mode().IsRegular() {
				return idx, true
			}
		}
	}
	if f.cleanURLs && name != "." && !strings.HasSuffix(p, "/") {
		html := name + ".html"
		if st, err := f.root.Stat(html); err == nil && st.Mode().IsRegular() {
			return html, true
		}
	}
	return "", false
}

// Serve writes the file name (from Lookup) as the response to r. A method
// other than GET and HEAD gets 405.
func (f *Files) Serve(w http.ResponseWriter, r *http.Request, name string) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "Method Not Allowed", http.StatusMethodNotAllowed)
		return
	}
	f.compress(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.serve(w, r, name)
	})).ServeHTTP(w, r)
}

func (f *Files) serve(w http.ResponseWriter, r *http.Request, name string) {
	file, err := f.root.Open(name)
	if err != nil {
		status := http.StatusInternalServerError
		if errors.Is(err, fs.ErrNotExist) {
			status = http.StatusNotFound
		}
		http.Error(w, http.StatusText(status), status)
		return
	}
	defer file.Close()
	st, err := file.Stat()
	if err != nil || !st.Mode().IsRegular() {
		http.Error(w, "Not Found", http.StatusNotFound)
		return
	}
	h := w.Header()
	if h.Get("Cache-Control") == "" {
		h.Set("Cache-Control", CacheControl)
	}
	if tag, err := f.etag(name, file, st); err == nil {
		h.Set("ETag", tag)
	}
	if _, err := file.Seek(0, io.SeekStart); err != nil {
		http.Error(w, "Internal Server Error", http.StatusInternalServerError)
		return
	}
	if v, ok := dropEmptySuffixRanges(r.Header.Get("Range"), st.Size()); ok {
		r = r.Clone(r.Context())
		r.Header.Set("Range", v)
	}
	// ServeContent sets Content-Type by extension (sniffing otherwise),
	// Last-Modified, and answers conditional and Range requests.
	http.ServeContent(w, r, name, st.ModTime(), file)
}

// NotFoundPage is the static file Vercel serves, with status 404, for a
// path that nothing serves (https://vercel.com/docs/routing/custom-404-pages).
const NotFoundPage = "404.html"

// ServeNotFound writes the project's 404.html as the response to r, with
// status 404, and reports whether there is one. It has no validators and
// answers no Range: it stands for the error of another URL.
func (f *Files) ServeNotFound(w http.ResponseWriter, r *http.Request) bool {
	name, ok := f.Lookup("/" + NotFoundPage)
	if !ok {
		return false
	}
	body, err := f.root.ReadFile(name)
	if err != nil {
		return false
	}
	f.compress(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		if h.Get("Cache-Control") == "" {
			h.Set("Cache-Control", CacheControl)
		}
		h.Set("Content-Type", "text/html; charset=utf-8")
		w.WriteHeader(http.StatusNotFound)
		if r.Method != http.MethodHead {
			_, _ = w.Write(body)
		}
	})).ServeHTTP(w, r)
	return true
}

// dropEmptySuffixRanges removes from a Range header value its suffix
// ranges of length 0 ("bytes=-0"), which select nothing: RFC 9110 section
// 14.1.1 counts a set satisfiable only by a range with a first position
// inside the representation or a suffix of a non-zero length. http.ServeContent
// answers one with 206 and the malformed Content-Range "bytes N-(N-1)/N".
// When nothing is left the value becomes a range that starts past the
// end, which ServeContent answers 416 with Content-Range "bytes */N" (or
// ignores for a failed If-Range, as it should). ok reports a change.
func dropEmptySuffixRanges(v string, size int64) (string, bool) {
	specs, found := strings.CutPrefix(v, "bytes=")
	if !found || !strings.Contains(specs, "-0") {
		return v, false
	}
	var kept []string
	dropped := false
	for spec := range strings.SplitSeq(specs, ",") {
		spec = textproto.TrimString(spec)
		if n, ok := strings.CutPrefix(spec, "-"); ok && n != "" && strings.Trim(n, "0") == "" {
			dropped = true
			continue
		}
		kept = append(kept, spec)
	}
	if !dropped {
		return v, false
	}
	if len(kept) == 0 {
		return "bytes=" + strconv.FormatInt(size, 10) + "-", true
	}
	return "bytes=" + strings.Join(kept, ","), true
}

// etag is a weak validator of the content (RFC 9110 section 8.8.3): weak,
// because the same tag stands for the gzip, zstd and identity encodings,
// which are semantically the same. It is cached by size and time.
func (f *Files) etag(name string, file *os.File, st fs.FileInfo) (string, error) {
	if v, ok := f.etags.Load(name); ok {
		e := v.(etag)
		if e.size == st.Size() && e.mod.Equal(st.ModTime()) {
			return e.value, nil
		}
	}
	sum := sha256.New()
	if _, err := io.Copy(sum, file); err != nil {
		return "", err
	}
	value := `W/"` + hex.EncodeToString(sum.Sum(nil)[:16]) + `"`
	f.etags.Store(name, etag{size: st.Size(), mod: st.ModTime(), value: value})
	return value, nil
}
