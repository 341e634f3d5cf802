package main

import (
	"os"
	"testing"

	"github.com/wfn-dev/wfn/abi/conformance"
	"github.com/wfn-dev/wfn/guests/sdk/go/wfn/catchall"
	"github.com/wfn-dev/wfn/guests/sdk/go/wfn/wfntest"
)

// The guest's handler passes the suite natively too, on the Go SDK's
// plain-Go double: wfntest and the host are held to the same cases. The
// root module's wfntest tests run this test (TestConformance).
func TestWfntest(t *testing.T) {
	conformance.Run(t, wfntest.Target(catchall.Serve), "", conformance.Snapshots(os.Getenv("WFN_TEST_SNAPSHOT") != "off"))
}
