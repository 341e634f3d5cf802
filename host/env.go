package host

import (
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"

	"github.com/joho/godotenv"
)

// A guest's environment, as getEnv sees it on Vercel, from the weakest
// source to the strongest: Vercel's system variables (empty ones left
// out), the served directory's .env, Config.Env, and the function's own
// "env" in vercel.json or wfn.json. The host's process environment never
// reaches a guest.

// systemEnv is the system variables Vercel sets, for this host.
func (h *Host) systemEnv() map[string]string {
	env := map[string]string{
		"VERCEL":               "1",
		"VERCEL_ENV":           h.cfg.Environment,
		"VERCEL_REGION":        h.cfg.Region,
		"VERCEL_URL":           h.cfg.URL,
		"VERCEL_DEPLOYMENT_ID": h.cfg.DeploymentID,
	}
	maps.DeleteFunc(env, func(_, v string) bool { return v == "" })
	return env
}

// guestEnv merges the sources for one function, in a stable order.
func guestEnv(layers ...map[string]string) [][2]string {
	merged := map[string]string{}
	for _, l := range layers {
		maps.Copy(merged, l)
	}
	var kv [][2]string
	for _, k := range slices.Sorted(maps.Keys(merged)) {
		kv = append(kv, [2]string{k, merged[k]})
	}
	return kv
}

// readDotenv reads dir/.env with godotenv, the Go port of the dotenv
// npm package's format: KEY=VALUE lines, # comments, an optional
// "export ", single, double or unquoted values, double-quoted ones over
// several lines (a PEM key) with \n escapes. A missing file is no error;
// a malformed one is, naming the file.
//
// Where godotenv differs from npm dotenv 17 (its TestDotenvMatchesNPM
// shows the cases where they agree): in double quotes it also reads \t,
// \\ and \" escapes (npm keeps them as written), it expands ${VAR} and
// $VAR (npm does not), and it keeps backquotes (npm strips them).
func readDotenv(dir string) (map[string]string, error) {
	path := filepath.Join(dir, ".env")
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	env, err := godotenv.Parse(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return env, nil
}
