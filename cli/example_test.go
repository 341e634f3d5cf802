package cli_test

import (
	"context"
	"fmt"
	"os"

	"github.com/wfn-dev/wfn/cli"
)

// Run is the whole command; a program that embeds it passes its own
// arguments and output streams.
func ExampleRun() {
	err := cli.Run(context.Background(), []string{"wfn", "build", "/no/such/dir"}, os.Stdout, os.Stdout)
	fmt.Println(err)
	// Output: wfn: cannot serve directory /no/such/dir: stat /no/such/dir: no such file or directory
}
