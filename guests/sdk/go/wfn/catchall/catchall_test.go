package catchall_test

import (
	"io"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/wfn-dev/wfn/guests/sdk/go/wfn/catchall"
	"github.com/wfn-dev/wfn/guests/sdk/go/wfn/wfntest"
)

// Tests run before the example, which registers the handler.

func TestServeUnregistered(t *testing.T) {
	resp := wfntest.Call(catchall.Serve, httptest.NewRequest("GET", "/", nil), nil)
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 500 || !strings.Contains(string(body), "catchall.Handle") {
		t.Errorf("got %d %q, want 500 naming catchall.Handle", resp.StatusCode, body)
	}
}

func TestHandleNil(t *testing.T) {
	tests := []struct {
		name string
		f    func()
	}{
		{"Handle", func() { catchall.Handle(nil) }},
		{"HandleFunc", func() { catchall.HandleFunc(nil) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Error("no panic")
				}
			}()
			tt.f()
		})
	}
}
