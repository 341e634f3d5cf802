// Package npmtest runs Node with npm packages, for tests that check wfn
// against the npm package it reproduces (minimatch, dotenv): the package
// computes the expected answers.
package npmtest

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// Packages are the npm packages the tests use, at the versions .ci/run
// installs.
var Packages = []string{"minimatch@11.0.9", "dotenv@17.2.3"}

// Run runs script with node, stdin on its standard input, and returns
// its standard output. The script can require any of Packages. They are
// found in $WFN_NODE_MODULES (a node_modules directory, as .ci/run
// prepares), or installed with npm into the user cache directory once.
// Without node or npm the test is skipped, naming what is missing;
// under CI=true it fails.
func Run(t testing.TB, script string, stdin []byte) []byte {
	t.Helper()
	modules := os.Getenv("WFN_NODE_MODULES")
	if modules == "" {
		modules = install(t)
	}
	cmd := exec.Command(need(t, "node"), "-e", script)
	cmd.Env = append(os.Environ(), "NODE_PATH="+modules)
	cmd.Stdin = bytes.NewReader(stdin)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("node: %v\n%s", err, stderr.String())
	}
	return out
}

func need(t testing.TB, tool string) string {
	t.Helper()
	path, err := exec.LookPath(tool)
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is needed to compare with npm %s: %v", tool, strings.Join(Packages, ", "), err)
		}
		t.Skipf("%s is needed to compare with npm %s: %v", tool, strings.Join(Packages, ", "), err)
	}
	return path
}

func install(t testing.TB) string {
	t.Helper()
	cache, err := os.UserCacheDir()
	if err != nil {
		cache = os.TempDir()
	}
	dir := filepath.Join(cache, "wfn-npmtest", strings.NewReplacer("@", "-", "/", "-").Replace(strings.Join(Packages, "_")))
	modules := filepath.Join(dir, "node_modules")
	if _, err := os.Stat(filepath.Join(dir, "done")); err == nil {
		return modules
	}
	npm := need(t, "npm")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	args := append([]string{"install", "--silent", "--no-audit", "--no-fund", "--no-save", "--prefix", dir}, Packages...)
	if out, err := exec.Command(npm, args...).CombinedOutput(); err != nil {
		t.Fatalf("npm %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	if err := os.WriteFile(filepath.Join(dir, "done"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	return modules
}
