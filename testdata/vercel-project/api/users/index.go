package handler

import (
	"fmt"
	"net/http"
)

// Handler serves /api/users: a second function in the directory of
// [id].go, with a Handler of its own.
func Handler(w http.ResponseWriter, r *http.Request) {
	fmt.Fprintf(w, "all %ss\n", kind)
}
