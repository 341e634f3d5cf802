package cli

import (
	"fmt"
	"net"
	"strconv"
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
