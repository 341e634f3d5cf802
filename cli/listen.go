package cli

import (
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"syscall"
)

// defaultListenHost is where a port given alone is served: loopback, as
// the default address, so that a development server is not exposed.
const defaultListenHost = "127.0.0.1"

// listenAddr turns the --listen value into a net.Listen address. It takes
// a host:port, ":PORT" (every interface), or a port alone ("3000", as
// `vercel dev --listen 3000` takes it; Vercel CLI docs, "vercel dev"),
// served on 127.0.0.1. Anything else is an error naming the flag.
func listenAddr(s string) (string, error) {
	if n, err := strconv.Atoi(s); err == nil {
		if n < 0 || n > 65535 {
			return "", fmt.Errorf("wfn: --listen %s: a port is 0 to 65535", s)
		}
		return net.JoinHostPort(defaultListenHost, s), nil
	}
	if _, _, err := net.SplitHostPort(s); err != nil {
		return "", fmt.Errorf("wfn: --listen %q: want host:port, :port or a port: %w", s, err)
	}
	return s, nil
}

// devPortTries is how many ports wfn dev tries from its default address's
// when the former ones are in use: 3000 to 3009.
const devPortTries = 10

// listen listens on addr. With tries over 1, a port in use gives way to
// the next one, up to tries ports in all, each skip said on w, as vercel
// dev does on its default port ("Requested port 3000 is already in use").
// The error is the last port's.
func listen(addr string, tries int, w io.Writer) (net.Listener, error) {
	ln, err := net.Listen("tcp", addr)
	host, portStr, splitErr := net.SplitHostPort(addr)
	port, atoiErr := strconv.Atoi(portStr)
	if tries <= 1 || splitErr != nil || atoiErr != nil || port == 0 {
		return ln, err
	}
	for i := 1; i < tries && errors.Is(err, syscall.EADDRINUSE) && port+i <= 65535; i++ {
		next := net.JoinHostPort(host, strconv.Itoa(port+i))
		fmt.Fprintf(w, "wfn: port %d is in use; trying %d\n", port+i-1, port+i)
		ln, err = net.Listen("tcp", next)
	}
	return ln, err
}
