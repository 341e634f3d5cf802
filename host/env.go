package host

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
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

// readDotenv reads dir/.env: KEY=VALUE lines, with # comments, an
// optional "export ", and single or double quotes (double quotes know \n,
// \t, \" and \\). A missing file is no error; a malformed line is, with
// its number.
func readDotenv(dir string) (map[string]string, error) {
	path := filepath.Join(dir, ".env")
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	env := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		line = strings.TrimPrefix(line, "export ")
		k, v, ok := strings.Cut(line, "=")
		k = strings.TrimSpace(k)
		if !ok || k == "" || strings.ContainsAny(k, " \t\"'") {
			return nil, fmt.Errorf("%s:%d: want KEY=VALUE", path, n)
		}
		v = strings.TrimSpace(v)
		switch {
		case len(v) >= 2 && v[0] == '"' && v[len(v)-1] == '"':
			u, err := strconv.Unquote(v)
			if err != nil {
				return nil, fmt.Errorf("%s:%d: %w", path, n, err)
			}
			v = u
		case len(v) >= 2 && v[0] == '\'' && v[len(v)-1] == '\'':
			v = v[1 : len(v)-1]
		default:
			if i := strings.Index(v, " #"); i >= 0 {
				v = strings.TrimSpace(v[:i])
			}
		}
		env[k] = v
	}
	return env, sc.Err()
}
