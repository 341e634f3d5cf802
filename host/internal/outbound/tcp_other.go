//go:build !unix

package outbound

import (
	"net"
	"time"
)

// tryIO reads into p (read) or writes p with a wait of a millisecond at
// most: a platform without Unix sockets has no read that does not wait.
func tryIO(c *net.TCPConn, set func(time.Time) error, p []byte, read bool) (int, error) {
	_ = set(time.Now().Add(time.Millisecond))
	if read {
		return c.Read(p)
	}
	return c.Write(p)
}
