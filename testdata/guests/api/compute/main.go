// Command compute is a compute-heavy Go guest: SHA-256 over 1 MiB, 8
// times, then the digest in hex. For measuring what interruption costs.
package main

import (
	"crypto/sha256"
	"encoding/hex"

	"github.com/wfn-dev/wfn/guests/sdk/go/wfn"
	"github.com/wfn-dev/wfn/guests/sdk/go/wfn/catchall"
)

var data = make([]byte, 1<<20)

func init() {
	for i := range data {
		data[i] = byte(i * 7)
	}
	catchall.HandleFunc(func(w *wfn.ResponseWriter, r *wfn.Request) {
		sum := sha256.Sum256(data)
		for i := 0; i < 7; i++ {
			sum = sha256.Sum256(append(data[:len(data)-32:len(data)-32], sum[:]...))
		}
		w.WriteString(hex.EncodeToString(sum[:]))
	})
}

func main() {}
