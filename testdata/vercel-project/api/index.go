package handler

import (
	"fmt"
	"net/http"

	"example.com/vercel-project/lib/greet"
)

// Handler serves /api.
func Handler(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	fmt.Fprintln(w, greet.Hello("from Go on wfn"))
}
