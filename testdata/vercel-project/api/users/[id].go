package handler

import (
	"fmt"
	"net/http"
)

// Handler serves /api/users/{id}: Vercel passes the segment in the query.
func Handler(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	fmt.Fprintf(w, `{"id":%q,"path":%q,"kind":%q}`+"\n", r.URL.Query().Get("id"), r.PathValue("id"), kind)
}
