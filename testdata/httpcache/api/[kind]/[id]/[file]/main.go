// Function [kind]/[id]/[file] forwards its requests to the origin of the
// http-cache-tests suite (package forward).
package main

import (
	"github.com/wfn-dev/wfn/guests/sdk/go/wfn/wfnhttp"
	"github.com/wfn-dev/wfn/testdata/httpcache/forward"
)

func init() { wfnhttp.Handle(forward.Handler) }

func main() {}
