package catchall_test

import (
	"fmt"
	"io"
	"net/http/httptest"

	"github.com/wfn-dev/wfn/guests/sdk/go/wfn"
	"github.com/wfn-dev/wfn/guests/sdk/go/wfn/catchall"
	"github.com/wfn-dev/wfn/guests/sdk/go/wfn/wfntest"
)

func hello(w *wfn.ResponseWriter, r *wfn.Request) {
	w.SetHeader("Content-Type", "text/plain; charset=utf-8")
	w.WriteString("Hello from wfn!")
}

// In a function, HandleFunc is called from init and the host calls the
// wfn_handle export; here wfntest calls what that export runs.
func ExampleHandleFunc() {
	catchall.HandleFunc(hello) // in a function: func init() { catchall.HandleFunc(hello) }

	resp := wfntest.Call(catchall.Serve, httptest.NewRequest("DELETE", "/api/hello", nil), nil)
	body, _ := io.ReadAll(resp.Body)
	fmt.Println(resp.StatusCode, string(body))

	defer func() { fmt.Println("second registration:", recover()) }()
	catchall.HandleFunc(hello)
	// Output:
	// 200 Hello from wfn!
	// second registration: catchall: Handle called twice
}
