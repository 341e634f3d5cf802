package cli

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/wfn-dev/wfn/abi/conformance"
	"github.com/wfn-dev/wfn/host"
	"github.com/wfn-dev/wfn/host/hosttarget"
)

// conformanceCommand runs the ABI conformance suite against a guest.
func conformanceCommand(stdout, stderr io.Writer) *cli.Command {
	return &cli.Command{
		Name:      "conformance",
		Usage:     "run the ABI conformance suite against GUEST (a .wasm module, a Go or C guest's source directory, built as wfn build does, or a .js/.mjs/.ts/.mts file run on wfn's JavaScript runtime), a guest SDK's conformance guest; exit non-zero on any failure",
		ArgsUsage: "GUEST",
		Description: "The guest implements the suite's protocol, described in the documentation of\n" +
			"package github.com/wfn-dev/wfn/abi/conformance. One line is printed per case,\n" +
			"then \"N passed, N failed\".",
		Flags: []cli.Flag{
			&cli.StringSliceFlag{Name: "run", Usage: "run only the named case (repeatable)"},
			&cli.BoolFlag{Name: "fluid", Usage: "build a Go guest's source directory for ABI version 2 (the Go SDK's build tag " + hosttarget.TagFluid + ", as \"fluid\": true does for wfn build), so that the fluid cases run too"},
			&cli.StringFlag{Name: "engine", Value: "wazero", Usage: "the WebAssembly engine: " + strings.Join(host.Engines(), " or ")},
		},
		Action: func(c *cli.Context) error {
			if c.NArg() != 1 {
				return fmt.Errorf("wfn conformance: one guest expected, got %d arguments", c.NArg())
			}
			target := hosttarget.Target{Engine: c.String("engine")}
			if dir, err := os.UserCacheDir(); err == nil {
				target.CacheDir = filepath.Join(dir, "wfn", "conformance")
			}
			guest := c.Args().First()
			if st, err := os.Stat(guest); c.Bool("fluid") && (err != nil || !st.IsDir()) {
				return fmt.Errorf("wfn conformance: --fluid builds a Go guest's source directory; %s is not one (a built module chooses its ABI version by its marker export)", guest)
			}
			if st, err := os.Stat(guest); err == nil && st.IsDir() {
				// A guest's sources: built as wfn build builds a function.
				cache := target.CacheDir
				if cache == "" {
					if cache, err = os.MkdirTemp("", "wfn-conformance-"); err != nil {
						return fmt.Errorf("wfn conformance: %w", err)
					}
					defer os.RemoveAll(cache)
				}
				var tags []string
				if c.Bool("fluid") {
					tags = append(tags, hosttarget.TagFluid)
				}
				fmt.Fprintf(stderr, "building %s\n", guest)
				if guest, err = hosttarget.Build(c.Context, guest, cache, tags...); err != nil {
					return fmt.Errorf("wfn conformance: building the guest: %w", err)
				}
			}
			_, failed, err := conformance.RunAll(c.Context, target, guest, stdout, conformance.Only(c.StringSlice("run")...))
			if err != nil {
				return err
			}
			if failed > 0 {
				return fmt.Errorf("wfn conformance: %d cases failed", failed)
			}
			return nil
		},
	}
}
