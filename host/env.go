package host

import (
	"maps"
	"slices"
)

// A guest's environment, as getEnv sees it on Vercel, from the weakest
// source to the strongest: Vercel's system variables (empty ones left
// out; and a JavaScript function's NODE_ENV, Config.NodeEnv), the
// top-level "env" of vercel.json (deprecated on Vercel, and still
// applied), the served directory's .env (project.ReadDotenv), Config.Env,
// and the function's own "env" in vercel.json or wfn.json.
// The host's process environment never reaches a guest.

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
