package pgserver_test

import (
	"net"
	"testing"

	"github.com/wfn-dev/wfn/internal/pgserver"
)

func TestStartStop(t *testing.T) {
	s := pgserver.StartForTest(t)
	c, err := net.Dial("tcp", s.Addr())
	if err != nil {
		t.Fatalf("the server does not accept: %v", err)
	}
	c.Close()
	s.Stop()
	if c, err := net.Dial("tcp", s.Addr()); err == nil {
		c.Close()
		t.Fatal("the server still accepts after Stop")
	}
}
