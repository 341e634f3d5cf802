package wfn_test

import (
	"fmt"
	"io"
	"net/http/httptest"
	"strings"

	"github.com/wfn-dev/wfn/guests/sdk/go/wfn"
	"github.com/wfn-dev/wfn/guests/sdk/go/wfn/wfntest"
)

// A handler reads the request and writes the response. In a function it
// is registered with catchall.Handle from init, or run by wfn.Serve from a
// method export; here wfntest runs it.
func ExampleServe() {
	greet := wfn.HandlerFunc(func(w *wfn.ResponseWriter, r *wfn.Request) {
		name, ok := r.Param("name")
		if !ok {
			w.SetStatus(404)
			return
		}
		w.SetHeader("Content-Type", "text/plain; charset=utf-8")
		w.WriteString("Hello " + name + "!")
	})

	resp := wfntest.Do(greet, httptest.NewRequest("GET", "/api/greet/ada", nil), map[string]string{"name": "ada"})
	body, _ := io.ReadAll(resp.Body)
	fmt.Println(resp.StatusCode, string(body))
	// Output: 200 Hello ada!
}

func ExampleRequest_Body() {
	echo := wfn.HandlerFunc(func(w *wfn.ResponseWriter, r *wfn.Request) {
		if ct, ok := r.Header("Content-Type"); ok {
			w.SetHeader("Content-Type", ct)
		}
		io.Copy(w, r.Body()) // streams in 32 KiB chunks
	})

	req := httptest.NewRequest("POST", "/api/echo", strings.NewReader("ping"))
	req.Header.Set("Content-Type", "application/x-demo")
	resp := wfntest.Do(echo, req, nil)
	body, _ := io.ReadAll(resp.Body)
	fmt.Println(resp.Header.Get("Content-Type"), string(body))
	// Output: application/x-demo ping
}

// A handler reads the client's address and location from the host. In a
// test, wfntest sets them.
func ExampleRequest_Geolocation() {
	h := wfn.HandlerFunc(func(w *wfn.ResponseWriter, r *wfn.Request) {
		ip, _ := r.IPAddress()
		g := r.Geolocation()
		w.WriteString(ip + " in " + g.City + ", " + g.Country + " " + g.Flag + ", served by " + g.Region)
	})

	resp := wfntest.Do(h, httptest.NewRequest("GET", "/api/where", nil), nil,
		wfntest.ClientIP("203.0.113.7"),
		wfntest.Geolocation(wfn.Geo{City: "Paris", Country: "FR", Region: "cdg1"}))
	body, _ := io.ReadAll(resp.Body)
	fmt.Println(string(body))
	// Output: 203.0.113.7 in Paris, FR 🇫🇷, served by cdg1
}
