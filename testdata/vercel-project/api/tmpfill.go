package handler

import (
	"fmt"
	"net/http"
	"os"
	"strconv"
)

// Handler writes ?mb= MiB to a file in /tmp and says how it went; ?list=1
// lists /tmp instead.
func Handler(w http.ResponseWriter, r *http.Request) {
	if r.URL.Query().Get("list") != "" {
		entries, err := os.ReadDir("/tmp")
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		for _, e := range entries {
			fmt.Fprintln(w, e.Name())
		}
		return
	}
	mb, _ := strconv.Atoi(r.URL.Query().Get("mb"))
	f, err := os.CreateTemp("/tmp", "fill-")
	if err != nil {
		fmt.Fprintf(w, "create: %v\n", err)
		return
	}
	chunk := make([]byte, 1<<20)
	for i := 0; i < mb; i++ {
		if _, err := f.Write(chunk); err != nil {
			fmt.Fprintf(w, "write %d: %v\n", i, err)
			f.Close()
			return
		}
	}
	if err := f.Close(); err != nil {
		fmt.Fprintf(w, "close: %v\n", err)
		return
	}
	fmt.Fprintf(w, "wrote %d MiB\n", mb)
}
