// Package handler is a Go function in Vercel's shape whose module requires
// a third-party module (github.com/google/uuid) from the Go module proxy.
package handler

import (
	"fmt"
	"net/http"

	"github.com/google/uuid"
)

// Handler parses ?u= as a UUID and answers its canonical form and version,
// and the name-based (SHA-1, version 5) UUID of ?name= in the URL namespace.
func Handler(w http.ResponseWriter, r *http.Request) {
	u, err := uuid.Parse(r.URL.Query().Get("u"))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	v5 := uuid.NewSHA1(uuid.NameSpaceURL, []byte(r.URL.Query().Get("name")))
	fmt.Fprintf(w, "%s v%d\n%s v%d\n", u, u.Version(), v5, v5.Version())
}
