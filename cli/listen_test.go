package cli

import (
	"errors"
	"net"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// TestListenNextFreePort: wfn dev on its default address takes the next
// free port when the port is in use, as vercel dev does, and says so; an
// address asked for (one try) is that address or an error.
func TestListenNextFreePort(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	addr := busy.Addr().String()
	_, busyPort, _ := net.SplitHostPort(addr)

	if ln, err := listen(addr, 1, &strings.Builder{}); err == nil || !errors.Is(err, syscall.EADDRINUSE) {
		if ln != nil {
			ln.Close()
		}
		t.Errorf("listen(%s, 1 try) = %v, want EADDRINUSE", addr, err)
	}

	var said strings.Builder
	ln, err := listen(addr, devPortTries, &said)
	if err != nil {
		t.Fatalf("listen(%s, %d tries) = %v, want the next free port", addr, devPortTries, err)
	}
	defer ln.Close()
	host, port, _ := net.SplitHostPort(ln.Addr().String())
	p, _ := strconv.Atoi(port)
	b, _ := strconv.Atoi(busyPort)
	if host != "127.0.0.1" || p <= b || p >= b+devPortTries {
		t.Errorf("listen(%s) took %s, want 127.0.0.1 and a port from %d to %d", addr, ln.Addr(), b+1, b+devPortTries-1)
	}
	if want := "port " + busyPort + " is in use; trying " + strconv.Itoa(b+1); !strings.Contains(said.String(), want) {
		t.Errorf("listen said %q, want it to hold %q", said.String(), want)
	}
}
