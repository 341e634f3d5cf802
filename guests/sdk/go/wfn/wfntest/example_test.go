package wfntest_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"

	"github.com/wfn-dev/wfn/guests/sdk/go/wfn"
	"github.com/wfn-dev/wfn/guests/sdk/go/wfn/wfntest"
)

func ExampleDo() {
	h := wfn.HandlerFunc(func(w *wfn.ResponseWriter, r *wfn.Request) {
		w.SetStatus(201)
		w.SetHeader("X-Test", "yes")
		w.WriteString(r.Method() + " " + r.URL())
	})

	resp := wfntest.Do(h, httptest.NewRequest("POST", "/api/x?a=1", nil), nil)
	body, _ := io.ReadAll(resp.Body)
	fmt.Println(resp.StatusCode, resp.Header.Get("X-Test"))
	fmt.Println(string(body))
	// Output:
	// 201 yes
	// POST http://example.com/api/x?a=1
}

// Call runs a function's own method export, here a GET export body.
func ExampleCall() {
	get := func() {
		wfn.Serve(wfn.HandlerFunc(func(w *wfn.ResponseWriter, r *wfn.Request) {
			w.WriteString("GET ok")
		}))
	}

	resp := wfntest.Call(get, httptest.NewRequest("GET", "/api/methods", nil), nil)
	body, _ := io.ReadAll(resp.Body)
	fmt.Println(resp.StatusCode, string(body))
	// Output: 200 GET ok
}

// Serve puts a function behind a real server, where streaming shows.
func ExampleServe() {
	fn := func() {
		wfn.Serve(wfn.HandlerFunc(func(w *wfn.ResponseWriter, r *wfn.Request) {
			name, _ := r.Param("name")
			w.WriteString("Hello " + name + "!")
		}))
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		wfntest.Serve(w, r, map[string]string{"name": r.URL.Query().Get("n")}, fn)
	}))
	defer srv.Close()

	resp, err := http.Get(srv.URL + "/api/greet?n=ada")
	if err != nil {
		panic(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	fmt.Println(string(body))
	// Output: Hello ada!
}
