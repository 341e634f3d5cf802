//go:build unix

package outbound

import (
	"errors"
	"io"
	"net"
	"os"
	"syscall"
	"time"
)

// tryIO reads into p (read) or writes p once, without waiting: the bytes
// the socket has or takes now, or a timeout error when it has or takes
// none (a call given 0 ms, abi/SPEC.md section 5c). set clears the
// socket's deadline of that direction, which would fail the call before
// it is tried.
func tryIO(c *net.TCPConn, set func(time.Time) error, p []byte, read bool) (int, error) {
	rc, err := c.SyscallConn()
	if err != nil {
		return 0, err
	}
	_ = set(time.Time{})
	var n int
	var ioErr error
	do := func(fd uintptr) bool {
		if read {
			n, ioErr = syscall.Read(int(fd), p)
		} else {
			n, ioErr = syscall.Write(int(fd), p)
		}
		return true // done, whatever happened: no wait
	}
	if read {
		err = rc.Read(do)
	} else {
		err = rc.Write(do)
	}
	switch {
	case err != nil:
		return 0, err
	case errors.Is(ioErr, syscall.EAGAIN), errors.Is(ioErr, syscall.EWOULDBLOCK), errors.Is(ioErr, syscall.EINTR):
		return 0, os.ErrDeadlineExceeded
	case ioErr != nil:
		return 0, ioErr
	case read && n == 0:
		return 0, io.EOF
	}
	return max(n, 0), nil
}
