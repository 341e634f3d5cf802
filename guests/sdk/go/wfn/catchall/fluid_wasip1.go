//go:build wasip1 && wfn_fluid

package catchall

import "github.com/wfn-dev/wfn/guests/sdk/go/wfn/internal/hostcall"

// Under ABI version 2 (build tag wfn_fluid) there is no wfn_handle export:
// the SDK's runtime runs Serve for each invocation, on a goroutine of its
// own.
func init() { hostcall.Exports.Handle = Serve }
