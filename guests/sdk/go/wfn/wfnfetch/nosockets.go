package wfnfetch

import (
	"context"
	"errors"
	"net"
	"net/http"
)

// ErrNoSockets is the error of a dial through http.DefaultTransport in a
// function: a WebAssembly guest has no sockets, and Go's own message for
// it there ("connect: connection refused") hides why.
var ErrNoSockets = errors.New("wfn: a function has no sockets: send HTTP with wfnfetch.Transport " +
	"(http.DefaultTransport = wfnfetch.Transport), dial TCP with wfnnet.DialContext")

// noSockets is the DialContext of http.DefaultTransport in a function.
func noSockets(_ context.Context, network, address string) (net.Conn, error) {
	return nil, &net.OpError{Op: "dial", Net: network, Addr: stringAddr{network, address}, Err: ErrNoSockets}
}

type stringAddr struct{ network, address string }

func (a stringAddr) Network() string { return a.network }
func (a stringAddr) String() string  { return a.address }

// nameTheDialer makes http.DefaultTransport, when it is net/http's,
// fail its dials with ErrNoSockets. Only in WebAssembly: in a test the
// process's own HTTP clients have sockets.
func nameTheDialer() {
	if t, ok := http.DefaultTransport.(*http.Transport); ok {
		t.DialContext = noSockets
	}
}
