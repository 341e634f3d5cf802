//go:build wasip1 && wfn_fluid

package wfnhttp

import (
	"strings"

	"github.com/wfn-dev/wfn/guests/sdk/go/wfn/internal/hostcall"
)

// Under ABI version 2 many invocations share standard output and error,
// so the adapter's lines go through the log import, with the invocation's
// request id: what version 1 writes to stdout at info level, to stderr at
// error level.
func init() { stdout, stderr = invocationLog(0), invocationLog(2) }

// invocationLog writes each line to the calling goroutine's invocation's
// log at its level.
type invocationLog uint32

func (l invocationLog) Write(p []byte) (int, error) {
	hostcall.Log(uint32(l), strings.TrimSuffix(string(p), "\n"))
	return len(p), nil
}
