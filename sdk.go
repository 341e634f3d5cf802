// Package wfn carries the sources of wfn's Go guest SDK inside the host, so
// that a Go function in the shape of Vercel's Go runtime builds without its
// go.mod requiring this module (see host/internal/gobuild).
package wfn

import "embed"

// GoSDK holds this module's go.mod and the sources of the Go guest SDK
// (guests/sdk/go/wfn and its subpackages) with the abi package it imports,
// at their paths in this module.
//
//go:embed go.mod abi/*.go guests/sdk/go/wfn/*.go guests/sdk/go/wfn/*/*.go guests/sdk/go/wfn/*/*/*.go
var GoSDK embed.FS
