package wfn

import "syscall"

// Env holds Vercel's system environment variables, the 21 keys of
// getEnv() in @vercel/functions. Each field is named after its variable.
// An unset or empty variable is the empty string: getEnv turns empty
// values into undefined, and Go has no undefined. With encoding/json,
// empty fields are omitted, as JSON.stringify omits undefined ones.
//
// Under wfn the host sets VERCEL=1, VERCEL_ENV, VERCEL_REGION,
// VERCEL_URL, VERCEL_DEPLOYMENT_ID and the others it knows, leaving empty
// ones out; the served directory's .env, the --env flags and the
// function's env config add to them.
type Env struct {
	VERCEL                          string `json:",omitempty"`
	CI                              string `json:",omitempty"`
	VERCEL_ENV                      string `json:",omitempty"`
	VERCEL_URL                      string `json:",omitempty"`
	VERCEL_BRANCH_URL               string `json:",omitempty"`
	VERCEL_PROJECT_PRODUCTION_URL   string `json:",omitempty"`
	VERCEL_REGION                   string `json:",omitempty"`
	VERCEL_DEPLOYMENT_ID            string `json:",omitempty"`
	VERCEL_SKEW_PROTECTION_ENABLED  string `json:",omitempty"`
	VERCEL_AUTOMATION_BYPASS_SECRET string `json:",omitempty"`
	VERCEL_GIT_PROVIDER             string `json:",omitempty"`
	VERCEL_GIT_REPO_SLUG            string `json:",omitempty"`
	VERCEL_GIT_REPO_OWNER           string `json:",omitempty"`
	VERCEL_GIT_REPO_ID              string `json:",omitempty"`
	VERCEL_GIT_COMMIT_REF           string `json:",omitempty"`
	VERCEL_GIT_COMMIT_SHA           string `json:",omitempty"`
	VERCEL_GIT_COMMIT_MESSAGE       string `json:",omitempty"`
	VERCEL_GIT_COMMIT_AUTHOR_LOGIN  string `json:",omitempty"`
	VERCEL_GIT_COMMIT_AUTHOR_NAME   string `json:",omitempty"`
	VERCEL_GIT_PREVIOUS_SHA         string `json:",omitempty"`
	VERCEL_GIT_PULL_REQUEST_ID      string `json:",omitempty"`
}

// GetEnv reads Vercel's system environment variables (see [Env]), as
// getEnv() does. Any other variable is read with os.Getenv: the guest's
// environment holds the function's configured variables only, never the
// host's own.
func GetEnv() Env {
	return Env{
		VERCEL:                          getenv("VERCEL"),
		CI:                              getenv("CI"),
		VERCEL_ENV:                      getenv("VERCEL_ENV"),
		VERCEL_URL:                      getenv("VERCEL_URL"),
		VERCEL_BRANCH_URL:               getenv("VERCEL_BRANCH_URL"),
		VERCEL_PROJECT_PRODUCTION_URL:   getenv("VERCEL_PROJECT_PRODUCTION_URL"),
		VERCEL_REGION:                   getenv("VERCEL_REGION"),
		VERCEL_DEPLOYMENT_ID:            getenv("VERCEL_DEPLOYMENT_ID"),
		VERCEL_SKEW_PROTECTION_ENABLED:  getenv("VERCEL_SKEW_PROTECTION_ENABLED"),
		VERCEL_AUTOMATION_BYPASS_SECRET: getenv("VERCEL_AUTOMATION_BYPASS_SECRET"),
		VERCEL_GIT_PROVIDER:             getenv("VERCEL_GIT_PROVIDER"),
		VERCEL_GIT_REPO_SLUG:            getenv("VERCEL_GIT_REPO_SLUG"),
		VERCEL_GIT_REPO_OWNER:           getenv("VERCEL_GIT_REPO_OWNER"),
		VERCEL_GIT_REPO_ID:              getenv("VERCEL_GIT_REPO_ID"),
		VERCEL_GIT_COMMIT_REF:           getenv("VERCEL_GIT_COMMIT_REF"),
		VERCEL_GIT_COMMIT_SHA:           getenv("VERCEL_GIT_COMMIT_SHA"),
		VERCEL_GIT_COMMIT_MESSAGE:       getenv("VERCEL_GIT_COMMIT_MESSAGE"),
		VERCEL_GIT_COMMIT_AUTHOR_LOGIN:  getenv("VERCEL_GIT_COMMIT_AUTHOR_LOGIN"),
		VERCEL_GIT_COMMIT_AUTHOR_NAME:   getenv("VERCEL_GIT_COMMIT_AUTHOR_NAME"),
		VERCEL_GIT_PREVIOUS_SHA:         getenv("VERCEL_GIT_PREVIOUS_SHA"),
		VERCEL_GIT_PULL_REQUEST_ID:      getenv("VERCEL_GIT_PULL_REQUEST_ID"),
	}
}

// getenv is os.Getenv without importing os: syscall reads the WASI
// environment. An empty value is as good as unset.
func getenv(key string) string {
	v, _ := syscall.Getenv(key)
	return v
}
