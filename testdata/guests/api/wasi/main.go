// Command wasi reports what the guest sees of WASI, for the host's tests:
// its environment, the clocks, random bytes, and output to stdout/stderr.
package main

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/wfn-dev/wfn/guests/sdk/go/wfn"
	"github.com/wfn-dev/wfn/guests/sdk/go/wfn/catchall"
)

func init() {
	catchall.HandleFunc(func(w *wfn.ResponseWriter, r *wfn.Request) {
		fmt.Println("hello from stdout")
		fmt.Fprintln(os.Stderr, "hello from stderr")
		start := time.Now()
		time.Sleep(5 * time.Millisecond)
		slept := time.Since(start)
		b := make([]byte, 16)
		_, _ = rand.Read(b)
		w.SetHeader("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprintf(w, "env=%s\n", strings.Join(os.Environ(), ","))
		fmt.Fprintf(w, "year=%d\n", time.Now().Year())
		fmt.Fprintf(w, "slept_ms=%d\n", slept.Milliseconds())
		fmt.Fprintf(w, "random=%s\n", hex.EncodeToString(b))
	})
}

func main() {}
