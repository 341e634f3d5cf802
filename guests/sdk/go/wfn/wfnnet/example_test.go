package wfnnet_test

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http/httptest"

	"github.com/wfn-dev/wfn/guests/sdk/go/wfn"
	"github.com/wfn-dev/wfn/guests/sdk/go/wfn/wfnnet"
	"github.com/wfn-dev/wfn/guests/sdk/go/wfn/wfntest"
)

// A handler talks to a line-based TCP service on loopback, which the
// function's allowedOutboundHosts lists; the connection belongs to the
// invocation and the host closes it at the end.
func ExampleDialContext() {
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	defer ln.Close()
	go func() {
		c, _ := ln.Accept()
		defer c.Close()
		line, _ := bufio.NewReader(c).ReadString('\n')
		io.WriteString(c, "echo: "+line)
	}()

	handler := func(w *wfn.ResponseWriter, r *wfn.Request) {
		c, err := wfnnet.DialContext(r.Context(), "tcp", ln.Addr().String())
		if err != nil {
			w.SetStatus(502)
			w.WriteString(err.Error())
			return
		}
		defer c.Close()
		io.WriteString(c, "hello\n")
		reply, _ := bufio.NewReader(c).ReadString('\n')
		w.WriteString(reply)
	}
	resp := wfntest.Do(wfn.HandlerFunc(handler), httptest.NewRequest("GET", "/api/tcp", nil), nil,
		wfntest.AllowedOutboundHosts("127.0.0.1:*"))
	body, _ := io.ReadAll(resp.Body)
	fmt.Print(string(body))
	// Output: echo: hello
}
