package handler

import (
	"fmt"
	"net/http"
	"strings"
)

// Handler serves /api/docs/a/b/...: the segments come as the param slug,
// joined with "/", and as one query value each.
func Handler(w http.ResponseWriter, r *http.Request) {
	fmt.Fprintf(w, "slug=%s query=%s\n", r.PathValue("slug"), strings.Join(r.URL.Query()["slug"], ","))
}
