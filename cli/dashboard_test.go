package cli_test

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// playwright is the npm package that drives the browser, at the version
// .ci/run installs. It never downloads a browser: the test gives it
// Debian's chromium.
const playwright = "playwright-core@1.65.1"

// needTool returns tool's path; without it the test is skipped, naming
// what is missing, except under CI=true, where it fails.
func needTool(t *testing.T, tool, why string) string {
	t.Helper()
	path, err := exec.LookPath(tool)
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is needed %s: %v", tool, why, err)
		}
		t.Skipf("skipping: %s is needed %s: %v", tool, why, err)
	}
	return path
}

// playwrightModules is a node_modules directory holding playwright-core:
// $WFN_NODE_MODULES when it has it (.ci/run installs it there), else one
// under the user cache directory, installed with npm once.
func playwrightModules(t *testing.T) string {
	t.Helper()
	if m := os.Getenv("WFN_NODE_MODULES"); m != "" {
		if _, err := os.Stat(filepath.Join(m, "playwright-core")); err == nil {
			return m
		}
	}
	cache, err := os.UserCacheDir()
	if err != nil {
		cache = os.TempDir()
	}
	dir := filepath.Join(cache, "wfn-dashboardtest", strings.ReplaceAll(playwright, "@", "-"))
	if _, err := os.Stat(filepath.Join(dir, "done")); err == nil {
		return filepath.Join(dir, "node_modules")
	}
	npm := needTool(t, "npm", "to install npm "+playwright)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(npm, "install", "--silent", "--no-audit", "--no-fund", "--no-save", "--prefix", dir, playwright)
	cmd.Env = append(os.Environ(), "PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("npm install %s: %v\n%s", playwright, err, out)
	}
	if err := os.WriteFile(filepath.Join(dir, "done"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	return filepath.Join(dir, "node_modules")
}

// TestDashboardInChromium opens the Functions dashboard of a real wfn
// serve in headless Chromium (testdata/dashboard.js says what it checks)
// and saves a screenshot in the test's artifact directory (go test
// -artifacts keeps it).
func TestDashboardInChromium(t *testing.T) {
	browser := needTool(t, "chromium", "for the dashboard's browser test (apt-get install chromium)")
	node := needTool(t, "node", "for the dashboard's browser test (apt-get install nodejs npm)")
	modules := playwrightModules(t)

	s := startServe(t, "--listen", "127.0.0.1:0", "--cache-dir", t.TempDir(), watDir(t, "hello", "trap", "notwasm"))
	shot := filepath.Join(t.ArtifactDir(), "dashboard.png")
	cmd := exec.CommandContext(t.Context(), node, filepath.Join("testdata", "dashboard.js"))
	cmd.Env = append(os.Environ(), "NODE_PATH="+modules, "WFN_URL=http://"+s.addr, "CHROMIUM="+browser, "WFN_SCREENSHOT="+shot)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil || strings.TrimSpace(string(out)) != "ok" {
		t.Fatalf("dashboard.js: %v\n%s\nstderr:\n%s\n(screenshot: %s)", err, out, stderr.String(), shot)
	}
	png, err := os.ReadFile(shot)
	if err != nil || !bytes.HasPrefix(png, []byte("\x89PNG\r\n\x1a\n")) {
		t.Fatalf("screenshot %s: %v, %d bytes, want a PNG", shot, err, len(png))
	}
	t.Logf("screenshot: %s", shot)
	if err := s.stop(t); err != nil {
		t.Fatalf("serve: %v", err)
	}
}
