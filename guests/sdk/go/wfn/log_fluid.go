//go:build wasip1 && wfn_fluid

package wfn

import (
	"strings"

	"github.com/wfn-dev/wfn/guests/sdk/go/wfn/internal/hostcall"
)

// Under ABI version 2 the lines go through the log import (abi/SPEC-v2.md
// section 4): level 0 info, 1 warn.
var stdout, stderr = invocationLog(0), invocationLog(1)

// invocationLog writes each line to the calling goroutine's invocation's
// log at its level.
type invocationLog uint32

// Write logs each line of p, without its newline; a last line without
// one is logged too. It never fails.
func (l invocationLog) Write(p []byte) (int, error) {
	for line := range strings.Lines(string(p)) {
		hostcall.Log(uint32(l), strings.TrimSuffix(line, "\n"))
	}
	return len(p), nil
}
