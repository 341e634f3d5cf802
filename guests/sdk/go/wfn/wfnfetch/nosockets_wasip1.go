//go:build wasip1

package wfnfetch

func init() { nameTheDialer() }
