package handler

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"os"
)

// Handler parses a multipart upload with 1 KiB of memory: larger files
// go to /tmp, as Go's mime/multipart does.
func Handler(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseMultipartForm(1 << 10); err != nil {
		http.Error(w, "parse: "+err.Error(), http.StatusBadRequest)
		return
	}
	f, hdr, err := r.FormFile("file")
	if err != nil {
		http.Error(w, "file: "+err.Error(), http.StatusBadRequest)
		return
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		http.Error(w, "read: "+err.Error(), http.StatusInternalServerError)
		return
	}
	_, onDisk := f.(*os.File)
	fmt.Fprintf(w, "%s %d %s disk=%v\n", hdr.Filename, n, hex.EncodeToString(h.Sum(nil)), onDisk)
}
