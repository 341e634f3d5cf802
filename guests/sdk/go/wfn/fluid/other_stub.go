//go:build !wasip1

package fluid

import "net/http"

func waitUntil(*http.Request, func()) bool { return false }

func onSigterm(func()) {}
