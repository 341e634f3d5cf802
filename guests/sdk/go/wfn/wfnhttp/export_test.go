package wfnhttp

import "io"

// SetLog sends the adapter's log lines (the guest's stdout and stderr) to
// out and errOut until the returned function restores them.
func SetLog(out, errOut io.Writer) (restore func()) {
	oldOut, oldErr := stdout, stderr
	stdout, stderr = out, errOut
	return func() { stdout, stderr = oldOut, oldErr }
}
