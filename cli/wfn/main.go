// Command wfn serves WebAssembly functions. See package cli.
package main

import "github.com/wfn-dev/wfn/cli"

func main() { cli.Main() }
